"""The hosted survey page as a customer meets it: plain HTML forms, clear pages for dead links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from voc.db import utcnow
from voc.surveys.models import Invitation, Response
from voc.web.templating import HTMX_CDN

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "How likely are you to recommend <b>us</b>?", "required": True},
    {"id": "why", "type": "text", "prompt": "Why?"},
    {"id": "plan", "type": "single_choice", "prompt": "Which plan are you on?", "options": ["Basic", "Plus"],
     "attribute": "plan"},
]


@pytest.fixture
def link(session):
    f.touchpoint(session)
    f.survey(session, questions=QUESTIONS, thank_you="Thanks, we read every answer.")
    outcome = f.event(session, contact_fields={"attributes": {"plan": "Plus"}})
    session.commit()
    return "/s/" + f.token_of(outcome.invitation.url)


def test_the_page_asks_what_the_crm_does_not_know(client, link):
    page = client.get(link)
    assert page.status_code == 200
    assert "How likely are you to recommend &lt;b&gt;us&lt;/b&gt;?" in page.text
    assert len(re.findall(r'name="q_nps" value="\d+"', page.text)) == 11
    assert "Which plan are you on?" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    # Scripts from voc itself and the one htmx file on the CDN, not the whole CDN.
    assert f"script-src 'self' {HTMX_CDN};" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_plain_form_post_stores_the_answers_and_thanks(client, link, session):
    done = client.post(link, data={"q_nps": "10", "q_why": "Great <script>alert(1)</script> service"})
    assert done.status_code == 200 and "Thanks, we read every answer." in done.text
    stored = session.scalars(select(Response)).one()
    assert (stored.nps, stored.comment) == (10, "Great <script>alert(1)</script> service")
    again = client.get(link)
    assert again.status_code == 409 and "already been answered" in again.text


def test_a_missing_answer_shows_the_form_again_with_the_reason(client, link, session):
    page = client.post(link, data={"q_why": "kept text"})
    assert page.status_code == 422
    assert 'role="alert"' in page.text and "Please answer this question." in page.text
    assert "nps:" not in page.text  # customers never see question ids
    assert "kept text" in page.text
    assert session.scalars(select(Response)).first() is None


def test_htmx_gets_the_survey_block_not_a_page(client, link):
    fragment = client.post(link, data={"q_nps": "7"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<main class="survey-card" id="survey">')
    assert ">Thank you</h1>" in fragment.text and "<html" not in fragment.text


def test_unknown_expired_and_not_yet_open_links(client, link, session):
    assert client.get("/s/unknown-token").status_code == 404
    invitation = session.scalars(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    expired = client.get(link)
    assert expired.status_code == 410 and "expired" in expired.text
    invitation.expires_at = utcnow() + timedelta(days=2)
    invitation.invited_at = utcnow() + timedelta(days=1)
    session.add(invitation)
    session.commit()
    assert client.get(link).status_code == 425


def test_opening_the_page_is_recorded_once(client, link, session):
    client.get(link)
    first = session.scalars(select(Invitation)).one().opened_at
    client.get(link)
    session.expire_all()
    invitation = session.scalars(select(Invitation)).one()
    assert first is not None and invitation.opened_at == first and invitation.status == "opened"
