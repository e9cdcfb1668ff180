"""An e-mail trigger for a contact voc has no address for: the event is suppressed with reason no_email,
so the CRM learns at once why nobody was invited (rather than an invitation nobody can receive)."""

from __future__ import annotations

from tests import factories as f
from tests.email.helpers import email_survey, invite


def test_an_email_trigger_without_an_address_is_suppressed_no_email(session):
    email_survey(session)
    outcome = invite(session, email=None)
    assert (outcome.outcome, outcome.reason, outcome.invitation) == ("suppressed", "no_email", None)
    assert invite(session, "e2", contact="crm-2").outcome == "invited"


def test_an_address_sent_with_a_later_event_is_used(session):
    email_survey(session)
    assert invite(session, email=None).reason == "no_email"
    assert invite(session, "e2", email="ada@example.com").outcome == "invited"


def test_another_survey_on_the_link_channel_still_invites(session):
    email_survey(session)
    f.survey(session, key="by_link")  # channel "link", same touchpoint
    session.commit()
    outcome = invite(session, email=None)
    assert (outcome.outcome, outcome.survey) == ("invited", "by_link")
