"""Sending one message over SMTP (VOC_SMTP_URL), and telling a failure worth retrying from a final one.

The password stays inside this module: it is in no repr, no exception message and no log line."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}


class SmtpConfigError(ValueError):
    """VOC_SMTP_URL cannot be used (the message never names the password)."""


class SendFailed(Exception):  # noqa: N818 - the outcome of one attempt
    """The message was not accepted; `permanent` when sending it again would be refused again."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand messages over: mode is "plain", "starttls" or "ssl" (implicit TLS)."""

    host: str
    port: int
    mode: str = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """host:port and mode, for log lines and errors (never the credentials)."""
        return f"{self.host}:{self.port} ({self.mode})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user:password@]host[:port][?starttls=1] or smtps://… (implicit TLS, port 465)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpConfigError("VOC_SMTP_URL is not a valid URL") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpConfigError("VOC_SMTP_URL must look like smtp://[user:password@]host[:port] or smtps://…")
    starttls = any(v.lower() in _TRUE for v in parse_qs(parts.query).get("starttls", []))
    if parts.scheme == "smtps":
        mode, default_port = "ssl", 465
    elif starttls:
        mode, default_port = "starttls", 587
    else:
        mode, default_port = "plain", 25
    return SmtpTarget(host=parts.hostname, port=port or default_port, mode=mode,
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password is not None else None)


def tls_context() -> ssl.SSLContext:
    """Certificate-checking TLS, as for any server on the internet (a seam for tests)."""
    return ssl.create_default_context()


def send_message(target: SmtpTarget, message: EmailMessage, recipient: str, timeout: float) -> None:
    """Hand `message` for `recipient` to the server, or raise SendFailed saying whether a retry may succeed."""
    try:
        if target.mode == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout,
                                                    context=tls_context())
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with client:
            if target.mode == "starttls":
                client.starttls(context=tls_context())
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(message, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        # One recipient per message: its (code, text) says whether the refusal is final.
        code, text = next(iter(exc.recipients.values()), (550, b""))
        raise SendFailed(f"recipient refused: {_reply(code, text)}", permanent=code >= 500) from None
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError) as exc:
        # The server or voc's settings, not this message: worth retrying once they are fixed.
        raise SendFailed(f"{type(exc).__name__} from {target.describe()}: {_reply(exc.smtp_code, exc.smtp_error)}",
                         permanent=False) from None
    except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
        raise SendFailed(f"{type(exc).__name__}: {_reply(exc.smtp_code, exc.smtp_error)}",
                         permanent=exc.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped, TLS failed, no STARTTLS
        raise SendFailed(f"{target.describe()}: {type(exc).__name__}: {exc}"[:500],
                         permanent=False) from None


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"[:500]
