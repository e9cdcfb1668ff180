"""A touchpoint event arrives: decide, by the surveys' trigger rules, whether to invite the contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from voc.analytics.rollups import record_invitation
from voc.config import get_settings
from voc.db import Prepared, utcnow
from voc.errors import Invalid
from voc.jobs.queue import enqueue
from voc.surveys import service
from voc.surveys.models import Contact, Event, Invitation, InvitationStatus, Survey, SurveyStatus, Touchpoint
from voc.surveys.schemas import EventIn, EventOutcome, InvitationOut
from voc.surveys.tokens import hash_token, new_nonce, token_for
from voc.surveys.triggers import conditions_hold, in_sample

# When several surveys could apply, the reason reported is the one that got furthest.
# "no_email": the trigger's channel is e-mail and voc knows no address for the contact.
# "email_unavailable": the trigger's channel is e-mail and voc has no mail server (VOC_SMTP_URL): an
# invitation nobody can send would only put the customer in quarantine without asking anything.
_REASON_RANK = {"no_active_survey": 0, "condition_false": 1, "sampled_out": 2, "quarantined": 3, "no_email": 4,
                "email_unavailable": 5}


@dataclass
class Decision:
    reason: str | None
    survey: Survey | None = None
    trigger: dict | None = None


# Every event asks first whether its event_id is known: compiled once, run on the driver (voc.db.Prepared).
_KNOWN = Prepared(select(Event.__table__.c.id).where(Event.__table__.c.event_id == bindparam("event_id")))


def report_event(session: Session, body: EventIn) -> EventOutcome:
    """Record a touchpoint event and invite or suppress; the same event_id again changes nothing.

    The decision only reads, so it comes first and the event is inserted whole: an event that invites nobody
    (most of them) is one INSERT, one that invites is updated once more with its invitation."""
    known = _KNOWN.first(session.connection(), {"event_id": body.event_id})
    if known is not None:
        return event_outcome(session, session.get(Event, known[0]))
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.key == body.touchpoint))
    if touchpoint is None:
        raise Invalid(f"no touchpoint {body.touchpoint!r}", code="touchpoint_not_found",
                      details=[{"path": ["touchpoint"], "message": "unknown touchpoint"}])
    contact = service.upsert_contact(session, body.contact)
    occurred_at = body.occurred_at or utcnow()
    decision = decide(session, touchpoint, contact, body.attributes, occurred_at)
    invites = decision.survey is not None and decision.trigger is not None
    event = Event(event_id=body.event_id, touchpoint_id=touchpoint.id, contact_id=contact.id,
                  occurred_at=occurred_at, attributes=body.attributes, reason=decision.reason,
                  outcome="invited" if invites else "suppressed", survey_id=decision.survey.id if invites else None)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite writers are serialised (BEGIN IMMEDIATE): no twin can slip in, no savepoint needed.
        session.add(event)
        session.flush()
    else:
        try:
            with session.begin_nested():  # a concurrent twin of this event wins the unique index
                session.add(event)
                session.flush()
        except IntegrityError:
            twin = session.scalars(select(Event).where(Event.event_id == body.event_id)).one()
            return event_outcome(session, twin)
    if invites:
        invitation = create_invitation(session, decision.survey, decision.trigger, contact, touchpoint,
                                       event, occurred_at)
        event.invitation_id = invitation.id
        session.add(event)
        session.flush()
    return event_outcome(session, event)


def decide(session: Session, touchpoint: Touchpoint, contact: Contact, event_attrs: dict,
           occurred_at: datetime) -> Decision:
    """Which survey to invite to, or why none: opted out, no survey, condition, sample, quarantine, no e-mail
    address, no mail server.

    Active surveys are tried oldest first (by id): of several on one touchpoint, the first whose trigger
    admits the contact wins (voc.surveys.overlaps explains this on the dashboard)."""
    if contact.opted_out:
        return Decision("opted_out")
    surveys = session.scalars(select(Survey).where(Survey.status == SurveyStatus.active).order_by(Survey.id))
    reason = "no_active_survey"
    contact_key = f"{contact.crm}:{contact.external_id}"
    for survey in surveys:
        for trigger in survey.triggers:
            if trigger["touchpoint"] != touchpoint.key:
                continue
            if not conditions_hold(trigger.get("conditions", []), event_attrs, contact.attributes):
                candidate = "condition_false"
            elif not in_sample(contact_key, survey.key, trigger.get("sample_rate", 1.0)):
                candidate = "sampled_out"
            elif is_quarantined(session, contact, survey, occurred_at):
                candidate = "quarantined"
            elif trigger.get("channel") == "email" and not get_settings().smtp_url:
                candidate = "email_unavailable"
            elif trigger.get("channel") == "email" and not contact.email:
                candidate = "no_email"
            else:
                return Decision(None, survey, trigger)
            reason = max(reason, candidate, key=_REASON_RANK.__getitem__)
    return Decision(reason)


def is_quarantined(session: Session, contact: Contact, survey: Survey, at: datetime) -> bool:
    """Invited to this survey within its recontact_days, or to any survey within the workspace cooldown (test
    invitations do not count: trying a survey quarantines nobody)."""
    cooldown = timedelta(days=get_settings().contact_cooldown_days)
    recontact = timedelta(days=survey.recontact_days)
    recent = select(Invitation.id).where(Invitation.contact_id == contact.id, Invitation.is_test.is_(False))
    any_survey = exists(recent.where(Invitation.invited_at > at - cooldown))
    this_survey = exists(recent.where(Invitation.survey_id == survey.id, Invitation.invited_at > at - recontact))
    return bool(session.scalar(select(any_survey | this_survey)))


def create_invitation(session: Session, survey: Survey, trigger: dict, contact: Contact,
                      touchpoint: Touchpoint | None, event: Event | None, occurred_at: datetime) -> Invitation:
    """A new invitation, usable after the trigger's delay; announcing it is a job at that time."""
    settings = get_settings()
    invited_at = occurred_at + timedelta(minutes=trigger.get("delay_minutes", 0))
    hours = trigger.get("expires_after_hours") or settings.invitation_expires_after_hours
    nonce = new_nonce()
    invitation = Invitation(
        token_hash=hash_token(token_for(nonce, settings.secret_key)), token_nonce=nonce,
        survey_id=survey.id, survey_version_id=service.current_version(session, survey).id,
        touchpoint_id=touchpoint.id if touchpoint else None, contact_id=contact.id,
        event_id=event.id if event else None, channel=trigger.get("channel", "link"),
        status=InvitationStatus.scheduled if invited_at > utcnow() else InvitationStatus.pending,
        invited_at=invited_at, expires_at=invited_at + timedelta(hours=hours),
    )
    session.add(invitation)
    session.flush()
    record_invitation(session, invitation)
    enqueue(session, "invitation.announce", {"invitation_id": invitation.id},
            run_at=max(invited_at, utcnow()))
    return invitation


def invitation_url(invitation: Invitation) -> str:
    """The customer's link to the hosted survey."""
    settings = get_settings()
    return f"{settings.base_url.rstrip('/')}/s/{token_for(invitation.token_nonce, settings.secret_key)}"


def event_outcome(session: Session, event: Event) -> EventOutcome:
    """The answer to an event, the same every time it is asked."""
    invitation = session.get(Invitation, event.invitation_id) if event.invitation_id else None
    survey = session.get(Survey, event.survey_id) if event.survey_id else None
    return EventOutcome(
        event_id=event.event_id, outcome=event.outcome, reason=event.reason,
        survey=survey.key if survey else None,
        invitation=InvitationOut(id=invitation.id, url=invitation_url(invitation), expires_at=invitation.expires_at,
                                 available_at=invitation.invited_at) if invitation else None,
    )
