"""An e-mail trigger for a contact voc has no address for, or while voc has no mail server: the event is
suppressed (no_email, email_unavailable), so the CRM learns at once why nobody was invited, rather than an
invitation nobody can receive putting the customer in quarantine."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.email.conftest import point_voc_at
from tests.email.helpers import email_survey, invite
from voc.config import get_settings


def test_an_email_trigger_without_an_address_is_suppressed_no_email(session, smtp_down):
    email_survey(session)
    outcome = invite(session, email=None)
    assert (outcome.outcome, outcome.reason, outcome.invitation) == ("suppressed", "no_email", None)
    assert invite(session, "e2", contact="crm-2").outcome == "invited"


def test_an_address_sent_with_a_later_event_is_used(session, smtp_down):
    email_survey(session)
    assert invite(session, email=None).reason == "no_email"
    assert invite(session, "e2", email="ada@example.com").outcome == "invited"


def test_another_survey_on_the_link_channel_still_invites(session, smtp_down):
    email_survey(session)
    f.survey(session, key="by_link")  # channel "link", same touchpoint
    session.commit()
    outcome = invite(session, email=None)
    assert (outcome.outcome, outcome.survey) == ("invited", "by_link")


def test_without_a_mail_server_nobody_is_invited_by_email_nor_put_in_quarantine(session, monkeypatch):
    monkeypatch.delenv("VOC_SMTP_URL", raising=False)
    get_settings.cache_clear()
    email_survey(session)
    outcome = invite(session)
    assert (outcome.outcome, outcome.reason, outcome.invitation) == ("suppressed", "email_unavailable", None)

    point_voc_at(monkeypatch, 2525)  # the mail server is configured: the same customer is invited
    assert invite(session, "e2").outcome == "invited"


@pytest.mark.parametrize("email", [None, "ada@example.com"])
def test_no_mail_server_is_the_reason_given_whatever_the_address(session, monkeypatch, email):
    monkeypatch.delenv("VOC_SMTP_URL", raising=False)
    get_settings.cache_clear()
    email_survey(session)
    assert invite(session, email=email).reason == "email_unavailable"
