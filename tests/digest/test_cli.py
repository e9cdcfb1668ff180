"""`voc digest send --to …`: the digest at once, to try it, without using up the week's planned one."""

from __future__ import annotations

from sqlmodel import Session, select

from tests.digest.helpers import add_user, worker_pass
from tests.email.conftest import smtp, smtp_down  # noqa: F401 - the loopback SMTP server fixtures
from voc.cli import main
from voc.digest.content import last_whole_week
from voc.digest.models import DigestSend


def test_send_now_mails_last_weeks_digest_and_the_planned_one_still_goes(engine, smtp, capsys):  # noqa: F811
    add_user(engine, "ada@example.com", "viewer", digest=True)
    assert main(["digest", "send", "--to", "someone@example.com"]) == 0
    week = last_whole_week()
    assert capsys.readouterr().out.strip() == \
        f"sent the weekly digest of {week.title} (no responses) to someone@example.com"
    [received] = smtp.handler.received
    assert received.recipients == ["someone@example.com"]
    assert received.message["Subject"] == f"Weekly digest: {week.title}"
    with Session(engine) as session:
        assert session.exec(select(DigestSend)).all() == []  # nothing recorded
    worker_pass(engine)
    assert [r.recipients for r in smtp.handler.received[1:]] == [["ada@example.com"]]

    assert main(["digest", "send", "--to", "ada@example.com", "--week", "2026-W10"]) == 0
    assert smtp.handler.received[-1].message["Subject"] == "Weekly digest: Week 10, 2–8 Mar 2026"


def test_a_wrong_week_or_no_smtp_server_is_told_in_one_line(engine, capsys):
    assert main(["digest", "send", "--to", "ada@example.com", "--week", "2026-W99"]) == 2
    assert capsys.readouterr().err.strip() == "voc: error: '2026-W99' is not an ISO week such as 2026-W48"
    assert main(["digest", "send", "--to", "ada@example.com"]) == 2
    assert capsys.readouterr().err.strip() == "voc: error: VOC_SMTP_URL is not set"
