"""Unsubscribing from the link in an e-mail: GET asks and changes nothing, POST (the page's button or a mail
client's RFC 8058 one-click POST) opts the contact out, and later events for them are suppressed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.email.helpers import email_survey, fresh, invite
from voc.email.unsubscribe import unsubscribe_token
from voc.surveys.models import Contact


def _contact(session, external_id: str = "crm-1") -> Contact:  # noqa: ANN001
    return fresh(session).scalars(select(Contact).where(Contact.external_id == external_id)).one()


def _unsubscribe_link(message) -> str:  # noqa: ANN001
    return message["List-Unsubscribe"].strip("<>")


def test_unsubscribe_opts_out_and_later_events_are_suppressed(session, smtp, run_jobs, make_due, client):
    email_survey(session)
    invite(session)
    run_jobs()
    link = _unsubscribe_link(smtp.messages[0])

    page = client.get(link)  # what a mail scanner fetching links does, too
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Yes, unsubscribe me" in page.text and 'method="post"' in page.text
    assert not _contact(session).opted_out

    action = re.search(r'action="([^"]+)"', page.text).group(1)
    done = client.post(action)  # the page's button
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert _contact(session).opted_out

    make_due("email.reminder")
    run_jobs()
    assert len(smtp.messages) == 1, "no reminder after unsubscribing"
    later = invite(session, "e2", occurred_at="2031-01-01T00:00:00Z")  # past every quarantine
    assert (later.outcome, later.reason) == ("suppressed", "opted_out")
    assert client.get(link).status_code == 200 and "You are unsubscribed" in client.get(link).text


def test_one_click_post_from_the_mail_client(session, smtp, run_jobs, client):
    email_survey(session)
    invite(session)
    run_jobs()
    message = smtp.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    answer = client.post(_unsubscribe_link(message), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert _contact(session).opted_out


@pytest.mark.parametrize("tamper", ["other_contact", "bad_signature", "garbage"])
def test_a_link_voc_did_not_sign_changes_nothing(session, smtp, run_jobs, client, tamper):
    email_survey(session)
    invite(session)
    invite(session, "e2", contact="crm-2", email="grace@example.com")
    run_jobs()
    ada, grace = _contact(session), _contact(session, "crm-2")
    own = unsubscribe_token(ada.id)
    token = {"other_contact": f"{grace.id}.{own.split('.', 1)[1]}",
             "bad_signature": own[:-2] + ("AA" if not own.endswith("AA") else "BB"),
             "garbage": "not-a-token"}[tamper]
    assert client.get(f"/unsubscribe/{token}").status_code == 404
    answer = client.post(f"/unsubscribe/{token}")
    assert answer.status_code == 404 and "not valid" in answer.text
    assert not _contact(session).opted_out and not _contact(session, "crm-2").opted_out


def test_the_page_speaks_the_contacts_language(session, smtp, run_jobs, client):
    email_survey(session)
    invite(session, attributes={"language": "de-AT"})
    run_jobs()
    page = client.get(_unsubscribe_link(smtp.messages[0]))
    assert '<html lang="de">' in page.text and "Ja, abbestellen" in page.text


def test_the_crm_hears_of_an_unsubscribe_once(session, smtp, run_jobs, client):
    from voc.webhooks.models import WebhookEndpoint, WebhookMessage

    session.add(WebhookEndpoint(url="https://crm.example.com/hooks", event_types=["contact.opted_out"],
                                secret="sealed"))
    session.commit()
    email_survey(session)
    invite(session)
    run_jobs()
    link = _unsubscribe_link(smtp.messages[0])
    client.get(link)  # asking to confirm tells nobody anything
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 200  # twice: still one opt-out
    messages = fresh(session).scalars(select(WebhookMessage)).all()
    assert [m.event_type for m in messages] == ["contact.opted_out"]
    data = messages[0].payload["data"]
    assert data["contact"] == {"external_id": "crm-1", "crm": "default"}
    assert data["opted_out"]["source"] == "email_unsubscribe" and data["opted_out"]["at"].endswith("Z")
