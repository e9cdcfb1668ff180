"""Fixtures for e-mail tests: a real SMTP server on loopback (aiosmtpd) that requires no TLS but checks a
login, records what it accepts and can be told to refuse; settings pointing voc at it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from voc.config import get_settings

SMTP_USER = "voc-mailer"
SMTP_PASSWORD = "s3cret-Pa55word-never-logged"  # noqa: S105 - the test checks it never reaches a log


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    authenticated: bool
    raw: bytes


@dataclass
class MailHandler:
    """aiosmtpd handler: keeps every accepted message; `rcpt_reply` makes it refuse recipients."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      bool(session.authenticated), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
        and auth_data.password.decode() == SMTP_PASSWORD
    return AuthResult(success=ok)


class SmtpServer:
    """One aiosmtpd server on 127.0.0.1; `stop()` and `start()` simulate an outage on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = MailHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.handler.received]

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     authenticator=_authenticate, auth_require_tls=False)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_voc_at(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("VOC_SMTP_URL", f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}")
    monkeypatch.setenv("VOC_EMAIL_FROM", "Acme Surveys <surveys@acme.example>")
    monkeypatch.setenv("VOC_SMTP_TIMEOUT_SECONDS", "5")
    get_settings.cache_clear()


@pytest.fixture
def smtp_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """voc points at a port where no server listens yet; `start()` brings the server up there."""
    server = SmtpServer(free_port())
    point_voc_at(monkeypatch, server.port)
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_down: SmtpServer) -> SmtpServer:
    """A running server voc sends to."""
    return smtp_down.start()


@pytest.fixture
def make_due(engine) -> Callable[[str], int]:  # noqa: ANN001
    """Make the queued jobs of a kind due now (instead of waiting days for a reminder); returns how many."""
    from sqlalchemy import update
    from sqlmodel import Session

    from voc.db import utcnow
    from voc.jobs.models import Job, JobStatus

    def make(kind: str) -> int:
        with Session(engine) as session:
            count = session.execute(update(Job).where(Job.kind == kind, Job.status == JobStatus.queued)
                                    .values(run_at=utcnow())).rowcount
            session.commit()
        return count

    return make
