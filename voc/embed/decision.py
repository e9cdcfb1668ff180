"""Whether the widget shows a survey to this visitor now, decided by the server with the fatigue rules
of touchpoint events (opted out, survey active, conditions, stable sample, quarantine).

- A survey shows in the widget only when it is active and has a trigger with `channel: "embed"`: the
  CX manager opts a survey in, and a visitor who edits `data-voc-survey` cannot pull any other survey
  (an e-mail-only one, say) onto the page. That trigger gives the touchpoint, sample rate, conditions
  (checked against the contact's CRM attributes: the page sends none) and expiry; its delay is ignored.
- A valid signature identifies the CRM contact (crm "default", external id as signed). A wrong one
  (or one for another contact) shows nothing and stores nothing.
- Without a signature only surveys marked `anonymous` show, to a throwaway contact per browser (crm
  `voc-anonymous`, a random id the widget keeps in the host page's localStorage), so recontact_days
  and the cooldown also spare anonymous visitors. No CRM contact is ever claimed that way.
- A contact who still holds an open, unanswered embed invitation to the survey from this site gets it
  back (a reload brings the widget back instead of hitting the quarantine that invitation started).
  So does one a touchpoint event made through an embed trigger (no site yet): the CRM's "order
  delivered" waits for the customer's next visit, and this site claims it.
- Nothing is written until the answer is "show": a suppressed visitor leaves no contact row.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from voc.db import utcnow
from voc.embed.models import Site
from voc.embed.schemas import ANONYMOUS_ID_PATTERN, DecisionIn, DecisionOut
from voc.embed.sites import signature_is_valid
from voc.surveys import service
from voc.surveys.events import create_invitation, invitation_url, is_quarantined
from voc.surveys.models import Contact, Invitation, Survey, SurveyStatus, SurveyVersion, Touchpoint
from voc.surveys.schemas import ContactRef
from voc.surveys.triggers import conditions_hold, contact_sample_key, in_sample

IDENTIFIED_CRM = "default"
ANONYMOUS_CRM = "voc-anonymous"
EMBED = "embed"
# When several embed triggers could apply, the reason reported is the one that got furthest.
_REASON_RANK = {"condition_false": 1, "sampled_out": 2, "quarantined": 3}


@dataclass
class Visitor:
    crm: str
    external_id: str
    anonymous: bool


def new_anonymous_id() -> str:
    return secrets.token_urlsafe(18)


def decide_for_widget(session: Session, site: Site, body: DecisionIn, now: datetime | None = None) -> DecisionOut:
    """Show the survey (creating or reusing the embed invitation) or say why not."""
    given_now = now
    if body.signature is not None:
        if not body.contact or not signature_is_valid(site, body.contact, body.signature):
            return DecisionOut(show=False, reason="signature_invalid")
        visitor = Visitor(IDENTIFIED_CRM, body.contact, anonymous=False)
    else:
        anonymous_id = body.anonymous_id
        if not anonymous_id or not re.fullmatch(ANONYMOUS_ID_PATTERN, anonymous_id):
            anonymous_id = new_anonymous_id()
        visitor = Visitor(ANONYMOUS_CRM, anonymous_id, anonymous=True)

    survey = session.scalar(select(Survey).where(Survey.key == body.survey))
    # The time is read once the transaction has begun (on SQLite, once it holds the write lock): an
    # invitation another request made while this one waited is then not "in the future".
    now = given_now or utcnow()
    if survey is None or survey.status != SurveyStatus.active:
        return _no(visitor, "no_active_survey")
    triggers = [t for t in survey.triggers if t.get("channel") == EMBED]
    if not triggers:
        return _no(visitor, "no_embed_trigger")
    if visitor.anonymous and not survey.anonymous:
        return _no(visitor, "identity_required")

    contact = session.scalar(select(Contact).where(Contact.crm == visitor.crm,
                                                   Contact.external_id == visitor.external_id))
    if contact is not None and contact.opted_out:
        return _no(visitor, "opted_out")
    if contact is not None:
        reusable = open_embed_invitation(session, contact, survey, site, now)
        if reusable is not None:
            return _show(session, visitor, survey, _claim_for_site(session, reusable, site))

    reason = "condition_false"
    sample_key = contact_sample_key(visitor.crm, visitor.external_id)
    for trigger in triggers:
        if not conditions_hold(trigger.get("conditions", []), {}, contact.attributes if contact else {}):
            candidate = "condition_false"
        elif not in_sample(sample_key, survey.key, trigger.get("sample_rate", 1.0)):
            candidate = "sampled_out"
        elif contact is not None and is_quarantined(session, contact, survey, now):
            candidate = "quarantined"
        else:
            invitation = _invite(session, site, survey, trigger, visitor, contact, given_now)
            return _show(session, visitor, survey, invitation)
        reason = max(reason, candidate, key=_REASON_RANK.__getitem__)
    return _no(visitor, reason)


def open_embed_invitation(session: Session, contact: Contact, survey: Survey, site: Site,
                          now: datetime) -> Invitation | None:
    """The contact's latest embed invitation to this survey, if it can still be answered: one this site's
    widget made, or one a touchpoint event made for the embed channel (no site yet), which waits for the
    contact's next visit."""
    return session.scalar(
        select(Invitation).where(Invitation.contact_id == contact.id, Invitation.survey_id == survey.id,
                                 or_(Invitation.site_id == site.id, Invitation.site_id.is_(None)),
                                 Invitation.channel == EMBED,
                                 Invitation.completed_at.is_(None), Invitation.invited_at <= now,
                                 Invitation.expires_at > now)
        .order_by(Invitation.id.desc()).limit(1))


def _claim_for_site(session: Session, invitation: Invitation, site: Site) -> Invitation:
    """An invitation an event made for the embed channel is claimed by the first site that shows it,
    so that this site's origins may frame it."""
    if invitation.site_id is None:
        invitation.site_id = site.id
        session.add(invitation)
        session.flush()
    return invitation


def _invite(session: Session, site: Site, survey: Survey, trigger: dict, visitor: Visitor,
            contact: Contact | None, now: datetime | None) -> Invitation:
    if contact is None:
        contact = service.upsert_contact(session, ContactRef(external_id=visitor.external_id, crm=visitor.crm))
    # Two first visits of one contact at once (two tabs): the contact's row lock makes the second wait
    # for the first, which then finds the invitation the first made (PostgreSQL; SQLite's BEGIN
    # IMMEDIATE already runs them one after the other).
    session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    now = now or utcnow()  # as of the lock (None: the caller's time was not fixed)
    made_meanwhile = open_embed_invitation(session, contact, survey, site, now)
    if made_meanwhile is not None:
        return _claim_for_site(session, made_meanwhile, site)
    touchpoint = session.scalar(select(Touchpoint).where(Touchpoint.key == trigger["touchpoint"]))
    # The visitor is on the page now: the trigger's delay does not apply to the widget.
    invitation = create_invitation(session, survey=survey, trigger={**trigger, "delay_minutes": 0, "channel": EMBED},
                                   contact=contact, touchpoint_id=touchpoint.id if touchpoint else None,
                                   event_id=None, occurred_at=now)
    invitation.site_id = site.id
    session.add(invitation)
    session.flush()
    return invitation


def _show(session: Session, visitor: Visitor, survey: Survey, invitation: Invitation) -> DecisionOut:
    title = session.scalar(select(SurveyVersion.title).where(SurveyVersion.id == invitation.survey_version_id))
    return DecisionOut(show=True, survey=survey.key, title=title or survey.title, url=invitation_url(invitation),
                       expires_at=invitation.expires_at,
                       anonymous_id=visitor.external_id if visitor.anonymous else None)


def _no(visitor: Visitor, reason: str) -> DecisionOut:
    return DecisionOut(show=False, reason=reason, anonymous_id=visitor.external_id if visitor.anonymous else None)
