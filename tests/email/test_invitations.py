"""The e-mail channel end to end against a real SMTP server on loopback: the invitation arrives with a
plain-text and an HTML part and the right links; a score link records the score; one reminder; failures."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from tests import factories as f
from tests.email.conftest import SMTP_PASSWORD, SMTP_USER
from tests.email.helpers import ADA, email_survey, fresh, html_links, invite, jobs, parts
from voc.db import utcnow
from voc.jobs.models import JobStatus
from voc.jobs.queue import enqueue
from voc.surveys.models import Invitation, PartialResponse


def _invitation(session) -> Invitation:  # noqa: ANN001
    return fresh(session).scalars(select(Invitation)).one()


def test_the_invitation_arrives_with_both_parts_and_one_link_per_score(session, smtp, run_jobs):
    email_survey(session, title="How was your delivery?")
    outcome = invite(session, attributes={"first_name": "Ada"})
    assert outcome.outcome == "invited"
    run_jobs()

    [received] = smtp.handler.received
    assert received.recipients == [ADA] and received.sender == "surveys@acme.example"
    assert received.authenticated, "voc logs in with the credentials of VOC_SMTP_URL"
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "How was your delivery?"
    assert message["To"] == ADA and message["From"] == "Acme Surveys <surveys@acme.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    assert b"\r\nList-Unsubscribe: <http://testserver/unsubscribe/" in received.raw  # no encoded word
    text, html = parts(message)

    url = outcome.invitation.url
    expected = [f"{url}?q=nps&v={score}" for score in range(11)]
    for link in expected:
        assert f"{link}\n" in text
    assert [link for link in html_links(html) if link.startswith(url)] == expected
    assert "How likely are you to recommend us to a friend?" in text and "Hello Ada," in html
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe in text and unsubscribe in html_links(html)
    assert "<img" not in html and 'lang="en"' in html

    invitation = _invitation(session)
    assert invitation.emailed_at is not None and invitation.reminded_at is None
    [reminder] = jobs(session, "email.reminder")
    assert reminder.status == JobStatus.queued
    assert 2.9 < (reminder.run_at - invitation.emailed_at).total_seconds() / 86400 < 3.1  # the trigger's default


def test_clicking_a_score_link_opens_the_survey_with_the_score_and_sends_it(session, smtp, run_jobs, client):
    email_survey(session)
    invite(session)
    run_jobs()
    _, html = parts(smtp.messages[0])
    nine = next(link for link in html_links(html) if link.endswith("?q=nps&v=9"))
    assert parse_qs(urlsplit(nine).query) == {"q": ["nps"], "v": ["9"]}

    page = client.get(nine)  # one click in the mail client (or a mail scanner opening every link)
    assert page.status_code == 200 and re.search(r'value="9"\s+checked', page.text)
    assert fresh(session).scalars(select(PartialResponse)).all() == []  # a GET stores nothing
    sent = f.one_click(client, nine.split("?")[0], "nps", 9)  # the page's script sends the score
    assert "What is the main reason for your score?" in sent.text  # the rest of the survey
    partial = fresh(session).scalars(select(PartialResponse)).one()
    assert partial.invitation_id == _invitation(session).id
    assert str(partial.answers["nps"]) == "9"


def test_a_german_contact_gets_the_german_email_and_page(session, smtp, run_jobs, client):
    email_survey(session, translations={"de": {"title": "Wie war Ihre Lieferung?", "questions": {
        "nps": {"prompt": "Wie wahrscheinlich empfehlen Sie uns weiter?"}, "why": {"prompt": "Warum?"}}}})
    invite(session, attributes={"language": "de-DE"})
    run_jobs()
    message = smtp.messages[0]
    text, html = parts(message)
    assert message["Subject"] == "Wie war Ihre Lieferung?" and "Wie wahrscheinlich empfehlen" in text
    eight = next(link for link in html_links(html) if "v=8" in link)
    assert parse_qs(urlsplit(eight).query) == {"q": ["nps"], "v": ["8"], "lang": ["de"]}

    page = client.get(eight, headers={"accept-language": "en-US,en;q=0.9"})  # an English browser
    assert page.status_code == 200 and 'lang="de"' in page.text and "Wie wahrscheinlich" in page.text
    sent = f.one_click(client, eight.split("?")[0], "nps", 8)  # the page's script sends the score
    assert 'lang="de"' in sent.text and "Warum?" in sent.text
    partial = fresh(session).scalars(select(PartialResponse)).one()
    assert str(partial.answers["nps"]) == "8"


def test_the_invitation_is_sent_once_even_when_its_job_runs_twice(session, smtp, run_jobs):
    email_survey(session)
    invite(session)
    run_jobs()
    enqueue(session, "email.invitation", {"invitation_id": _invitation(session).id})
    session.commit()
    run_jobs()
    assert len(smtp.messages) == 1


def test_a_first_question_that_is_no_score_gets_one_start_button(session, smtp, run_jobs):
    email_survey(session, questions=[{"id": "why", "type": "text", "prompt": "Anything to tell us?"},
                                     {"id": "nps", "type": "nps", "prompt": "Recommend us?"}])
    outcome = invite(session)
    run_jobs()
    text, html = parts(smtp.messages[0])
    links = [link for link in html_links(html) if link.startswith(outcome.invitation.url)]
    assert links == [outcome.invitation.url]
    assert "Start the survey" in html and f"Start the survey: {outcome.invitation.url}\n" in text
    assert "?q=" not in text + html


def test_the_reminder_goes_out_once(session, smtp, run_jobs, make_due):
    email_survey(session, title="Your delivery")
    invite(session)
    run_jobs()
    assert make_due("email.reminder") == 1  # three days later
    run_jobs()
    assert [m["Subject"] for m in smtp.messages] == ["Your delivery", "Reminder: Your delivery"]
    reminder_text, _ = parts(smtp.messages[1])
    assert "A few days ago" in reminder_text and "?q=nps&v=10" in reminder_text
    assert smtp.messages[1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _invitation(session).reminded_at is not None

    # The reminder's job runs again (a worker died after sending, a duplicate): nothing more is sent.
    invitation = _invitation(session)
    enqueue(session, "email.reminder", {"invitation_id": invitation.id,
                                        "emailed_at": invitation.emailed_at.isoformat()})
    session.commit()
    run_jobs()
    assert len(smtp.messages) == 2


def test_no_reminder_once_answered(session, smtp, run_jobs, make_due, client):
    email_survey(session)
    answered = invite(session)
    run_jobs()
    stored = client.post("/api/v1/responses", json={"token": f.token_of(answered.invitation.url),
                                                    "answers": [{"question_id": "nps", "value": 10}]})
    assert stored.status_code == 201
    make_due("email.reminder")
    run_jobs()
    assert len(smtp.messages) == 1 and _invitation(session).reminded_at is None


def test_no_reminder_when_the_trigger_asks_for_none(session, smtp, run_jobs):
    email_survey(session, trigger={"reminder_after_days": None})
    invite(session)
    run_jobs()
    assert len(smtp.messages) == 1 and jobs(session, "email.reminder") == []


def test_the_reminder_follows_the_triggers_days(session, smtp, run_jobs):
    email_survey(session, trigger={"reminder_after_days": 1, "expires_after_hours": 48})
    invite(session)
    run_jobs()
    [reminder] = jobs(session, "email.reminder")
    assert 0.99 < (reminder.run_at - _invitation(session).emailed_at).total_seconds() / 86400 < 1.01


def test_no_reminder_for_a_link_that_will_have_expired(session, smtp, run_jobs):
    email_survey(session, trigger={"expires_after_hours": 48})  # the default reminder would come after 72
    invite(session)
    run_jobs()
    assert len(smtp.messages) == 1 and jobs(session, "email.reminder") == []


def test_an_smtp_outage_is_retried_through_the_job_queue(session, smtp_down, run_jobs, make_due, caplog):
    caplog.set_level(logging.DEBUG)
    email_survey(session)
    outcome = invite(session)
    run_jobs()
    [job] = jobs(session, "email.invitation")
    assert job.status == JobStatus.queued and job.attempts == 1  # retried later, with backoff
    assert "ConnectionRefusedError" in job.last_error and job.run_at > job.created_at
    assert _invitation(session).emailed_at is None

    smtp_down.start()  # the server is back
    make_due("email.invitation")
    run_jobs()
    assert len(smtp_down.messages) == 1
    [job] = jobs(session, "email.invitation")
    assert job.status == JobStatus.done and job.attempts == 2
    assert _invitation(session).emailed_at is not None

    # Everything voc (and any library in its process) logged; the test server's own log is not voc's.
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                       if not r.name.startswith("mail.log")) + (job.last_error or "")
    assert "Connection refused" in logged and "sent via 127.0.0.1" in logged
    for secret in (SMTP_PASSWORD, f.token_of(outcome.invitation.url), "/unsubscribe/"):
        assert secret not in logged
    assert SMTP_USER not in logged and ADA not in logged


def test_a_temporary_refusal_is_retried_and_a_permanent_one_gives_up_with_the_error(session, smtp, run_jobs,
                                                                                     make_due):
    email_survey(session)
    smtp.handler.rcpt_reply = "451 4.3.0 Mailbox busy, try again later"
    invite(session)
    run_jobs()
    [job] = jobs(session, "email.invitation")
    assert job.status == JobStatus.queued and "451" in job.last_error

    smtp.handler.rcpt_reply = "550 5.1.1 No such user here"
    make_due("email.invitation")
    run_jobs()
    [job] = jobs(session, "email.invitation")
    assert job.status == JobStatus.dead and "550 5.1.1 No such user here" in job.last_error
    assert _invitation(session).emailed_at is None
    make_due("email.reminder")  # the first attempt's reminder does not follow an e-mail that never went out
    run_jobs()
    assert smtp.messages == []


def test_link_channel_invitations_are_not_emailed(session, smtp, run_jobs):
    f.touchpoint(session)
    f.survey(session)  # channel "link": the CRM sends the link itself
    invite(session)
    run_jobs()
    assert smtp.messages == [] and jobs(session, "email.invitation") == []


def test_nothing_is_sent_before_the_delay_nor_after_expiry(session, smtp, run_jobs, make_due):
    email_survey(session, trigger={"delay_minutes": 60})
    invite(session)
    run_jobs()  # usable in an hour: not announced, not sent
    assert smtp.messages == [] and jobs(session, "email.invitation") == []
    invitation = _invitation(session)
    enqueue(session, "email.invitation", {"invitation_id": invitation.id})  # a stray job changes nothing
    session.commit()
    run_jobs()
    assert smtp.messages == []

    invitation = _invitation(session)
    invitation.expires_at = utcnow() - timedelta(minutes=1)  # the delay passed, and so did the deadline
    session.add(invitation)
    session.commit()
    make_due("invitation.announce")
    run_jobs()
    assert smtp.messages == [] and _invitation(session).emailed_at is None
