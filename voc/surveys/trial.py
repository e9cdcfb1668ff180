"""Trying a survey before customers do: test invitations for a dashboard user, and the sample attributes
the previews and test invitations pipe into {{ placeholders }}.

A test invitation is an ordinary invitation marked `is_test`, for a contact of its own (crm `voc-test`,
keyed by the user's e-mail address), so its link, page and e-mail are exactly a customer's. What it sets
off is not: its response is left out of every figure (rollups, explorer, themes, drivers, exports, the
API's lists and metrics), opens no follow-up case, sends no webhook (no CRM record gets a test answer
written onto it) and quarantines nobody (voc.surveys.events.is_quarantined ignores it). Its token is signed
like any other and works once: a second answer gets `already_answered`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.config import get_settings
from voc.db import utcnow
from voc.email.tasks import schedule_invitation_email
from voc.errors import Conflict, Invalid
from voc.surveys import service
from voc.surveys.models import Contact, Invitation, InvitationStatus, Survey, SurveyStatus, Touchpoint
from voc.surveys.texts import PLACEHOLDER
from voc.surveys.tokens import hash_token, new_nonce, token_for

TEST_CRM = "voc-test"
TEST_LINK_HOURS = 7 * 24
# What a preview or a test invitation pipes into {{ placeholders }}: plausible values, shown as sample data.
SAMPLE_ATTRIBUTES: dict[str, Any] = {"first_name": "Alex", "last_name": "Sample", "name": "Alex Sample",
                                     "company": "Sample Ltd", "plan": "Plus", "order_id": "A-1024",
                                     "product": "Sample product", "city": "Berlin"}


def placeholder_names(texts: list[str]) -> list[str]:
    """The attribute names the texts' {{ placeholders }} ask for, in order of appearance, once each."""
    names: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            name = match.group(1).split(".")[-1]
            if name not in names:
                names.append(name)
    return names


def survey_texts(title: str, questions: list[dict[str, Any]], thank_you: str = "") -> list[str]:
    """Every text of a survey a customer reads (where placeholders may be)."""
    return [title, thank_you, *(q.get("prompt", "") for q in questions)]


def sample_attributes(texts: list[str]) -> dict[str, Any]:
    """Sample values for the placeholders in these texts: a known sample, else the name in brackets, so a
    preview shows where each value goes."""
    return {name: SAMPLE_ATTRIBUTES.get(name, f"[{name}]") for name in placeholder_names(texts)}


def _test_contact(session: Session, email: str, attributes: dict[str, Any]) -> Contact:
    address = email.strip().lower()
    contact = session.scalar(select(Contact).where(Contact.crm == TEST_CRM, Contact.external_id == address))
    if contact is None:
        contact = Contact(crm=TEST_CRM, external_id=address, email=address, attributes={})
    contact.attributes = {**SAMPLE_ATTRIBUTES, **attributes}
    contact.updated_at = utcnow()
    session.add(contact)
    session.flush()
    return contact


def create_test_invitation(session: Session, survey: Survey, email: str, *, channel: str = "link") -> Invitation:
    """A test invitation to an active survey for the dashboard user with this address (channel "email": the
    e-mail goes out through the worker, like a customer's)."""
    if survey.status != SurveyStatus.active:
        raise Conflict("activate the survey before testing it", code="survey_inactive")
    if channel == "email" and not get_settings().smtp_url:
        raise Invalid("voc has no mail server (VOC_SMTP_URL): copy the test link instead",
                      code="email_unavailable")
    texts = survey_texts(survey.title, survey.questions, survey.thank_you)
    contact = _test_contact(session, email, sample_attributes(texts))
    # The survey's first touchpoint, so the test answer travels the same road a customer's does.
    first = survey.triggers[0]["touchpoint"] if survey.triggers else None
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.key == first)) if first else None
    now, nonce = utcnow(), new_nonce()
    invitation = Invitation(
        token_hash=hash_token(token_for(nonce, get_settings().secret_key)), token_nonce=nonce,
        survey_id=survey.id, survey_version_id=service.current_version(session, survey).id,
        touchpoint_id=touchpoint.id if touchpoint else None, contact_id=contact.id, channel=channel,
        status=InvitationStatus.pending, invited_at=now, expires_at=now + timedelta(hours=TEST_LINK_HOURS),
        is_test=True)
    session.add(invitation)
    session.flush()
    if channel == "email":
        schedule_invitation_email(session, invitation)
    return invitation


def open_test_invitation(session: Session, survey: Survey, email: str) -> Invitation | None:
    """The user's newest test link to this survey's current version that can still be answered, if any."""
    version = service.current_version(session, survey)
    return session.scalar(
        select(Invitation).join(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.survey_id == survey.id, Invitation.is_test.is_(True), Invitation.channel == "link",
               Invitation.survey_version_id == version.id, Invitation.completed_at.is_(None),
               Invitation.expires_at > utcnow(), Contact.crm == TEST_CRM,
               Contact.external_id == email.strip().lower())
        .order_by(Invitation.id.desc()).limit(1))
