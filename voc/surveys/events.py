"""A touchpoint event arrives: decide, by the surveys' trigger rules, whether to invite the contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, exists, select, update
from sqlmodel import Session

from voc.analytics.rollups import record_invitation
from voc.config import get_settings
from voc.db import InsertOnce, Prepared, utcnow
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
    survey: Candidate | None = None
    trigger: dict | None = None


class Candidate(NamedTuple):
    """An active survey as an event's decision reads it: no ORM object built for every survey on every event."""

    id: int
    key: str
    recontact_days: int
    triggers: list[dict]


class Place(NamedTuple):
    """The touchpoint an event names."""

    id: int
    key: str


_E, _I, _S, _T = Event.__table__, Invitation.__table__, Survey.__table__, Touchpoint.__table__
# Every event runs these: compiled once, run on the driver (voc.db.Prepared).
_KNOWN = Prepared(select(_E.c.id).where(_E.c.event_id == bindparam("event_id")))
_TOUCHPOINT = Prepared(select(_T.c.id, _T.c.key).where(_T.c.key == bindparam("key")))
_ACTIVE = Prepared(select(_S.c.id, _S.c.key, _S.c.recontact_days, _S.c.triggers)
                   .where(_S.c.status == SurveyStatus.active.value).order_by(_S.c.id))
_RECENT = select(_I.c.id).where(_I.c.contact_id == bindparam("contact"), _I.c.is_test.is_(False))
_QUARANTINED = Prepared(select(exists(_RECENT.where(_I.c.invited_at > bindparam("cooled_after")))
                               | exists(_RECENT.where(_I.c.survey_id == bindparam("survey"),
                                                      _I.c.invited_at > bindparam("recontact_after")))))
_LINK = Prepared(update(_E).where(_E.c.id == bindparam("event")).values(invitation_id=bindparam("invitation")))

# The event's row, unless a twin (the same event_id, sent twice at once) was stored first. Returns the new id.
_INSERT_EVENT = InsertOnce(_E, [_E.c.event_id], _E.c.id)


def report_event(session: Session, body: EventIn) -> EventOutcome:
    """Record a touchpoint event and invite or suppress; the same event_id again changes nothing.

    The decision only reads, so it comes first and the event is inserted whole: an event that invites nobody
    (most of them) is one INSERT, one that invites is updated once more with its invitation. A twin sent at
    the same moment waits for this one's insert and answers as it did."""
    connection = session.connection()
    known = _KNOWN.first(connection, {"event_id": body.event_id})
    if known is not None:
        return event_outcome(session, session.get(Event, known[0]))
    found = _TOUCHPOINT.first(connection, {"key": body.touchpoint})
    if found is None:
        raise Invalid(f"no touchpoint {body.touchpoint!r}", code="touchpoint_not_found",
                      details=[{"path": ["touchpoint"], "message": "unknown touchpoint"}])
    touchpoint = Place(*found)
    contact = service.upsert_contact(session, body.contact)
    occurred_at = body.occurred_at or utcnow()
    decision = decide(session, touchpoint, contact, body.attributes, occurred_at)
    invites = decision.survey is not None and decision.trigger is not None
    inserted = _INSERT_EVENT.first(connection, {
        "event_id": body.event_id, "touchpoint_id": touchpoint.id, "contact_id": contact.id,
        "occurred_at": occurred_at, "attributes": body.attributes, "outcome": "invited" if invites else "suppressed",
        "reason": decision.reason, "survey_id": decision.survey.id if invites else None, "invitation_id": None,
        "created_at": utcnow()})
    if inserted is None:  # a twin was stored first (and committed): its answer is this one's
        return event_outcome(session, session.scalars(select(Event).where(Event.event_id == body.event_id)).one())
    if not invites:
        return EventOutcome(event_id=body.event_id, outcome="suppressed", reason=decision.reason, invitation=None)
    survey = session.get(Survey, decision.survey.id)
    invitation = create_invitation(session, survey, decision.trigger, contact, touchpoint.id, inserted[0],
                                   occurred_at)
    _LINK.run(session.connection(), {"event": inserted[0], "invitation": invitation.id})
    return outcome_of(body.event_id, survey.key, invitation)


def decide(session: Session, touchpoint: Place, contact: Contact, event_attrs: dict,
           occurred_at: datetime) -> Decision:
    """Which survey to invite to, or why none: opted out, no survey, condition, sample, quarantine, no e-mail
    address, no mail server.

    Active surveys are tried oldest first (by id): of several on one touchpoint, the first whose trigger
    admits the contact wins (voc.surveys.overlaps explains this on the dashboard)."""
    if contact.opted_out:
        return Decision("opted_out")
    reason = "no_active_survey"
    contact_key = f"{contact.crm}:{contact.external_id}"
    for survey in map(Candidate._make, _ACTIVE.all(session.connection(), {})):
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


def is_quarantined(session: Session, contact: Contact, survey: Survey | Candidate, at: datetime) -> bool:
    """Invited to this survey within its recontact_days, or to any survey within the workspace cooldown (test
    invitations do not count: trying a survey quarantines nobody)."""
    row = _QUARANTINED.first(session.connection(), {
        "contact": contact.id, "cooled_after": at - timedelta(days=get_settings().contact_cooldown_days),
        "survey": survey.id, "recontact_after": at - timedelta(days=survey.recontact_days)})
    return bool(row[0])


def create_invitation(session: Session, survey: Survey, trigger: dict, contact: Contact,
                      touchpoint_id: int | None, event_id: int | None, occurred_at: datetime) -> Invitation:
    """A new invitation, usable after the trigger's delay; announcing it is a job at that time."""
    settings = get_settings()
    invited_at = occurred_at + timedelta(minutes=trigger.get("delay_minutes", 0))
    hours = trigger.get("expires_after_hours") or settings.invitation_expires_after_hours
    nonce = new_nonce()
    invitation = Invitation(
        token_hash=hash_token(token_for(nonce, settings.secret_key)), token_nonce=nonce,
        survey_id=survey.id, survey_version_id=service.current_version(session, survey).id,
        touchpoint_id=touchpoint_id, contact_id=contact.id, event_id=event_id, channel=trigger.get("channel", "link"),
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
    """The answer to a stored event, the same every time it is asked."""
    invitation = session.get(Invitation, event.invitation_id) if event.invitation_id else None
    survey = session.get(Survey, event.survey_id) if event.survey_id else None
    if invitation is None:
        return EventOutcome(event_id=event.event_id, outcome=event.outcome, reason=event.reason,
                            survey=survey.key if survey else None, invitation=None)
    return outcome_of(event.event_id, survey.key if survey else None, invitation)


def outcome_of(event_id: str, survey_key: str | None, invitation: Invitation) -> EventOutcome:
    """The answer to an event that invited: the survey and the customer's link."""
    return EventOutcome(event_id=event_id, outcome="invited", reason=None, survey=survey_key,
                        invitation=InvitationOut(id=invitation.id, url=invitation_url(invitation),
                                                 expires_at=invitation.expires_at, available_at=invitation.invited_at))
