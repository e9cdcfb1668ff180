"""Erase and export one contact (GDPR Art. 15, 17 and 20; CCPA's access and deletion).

Erase keeps the scores in every aggregate and takes the person out: in one transaction the contact's
attributes, e-mail and id, its events' attributes, its invitation tokens, partial answers, free-text and
CRM-copied answers, the words of its analyses, follow-up notes, and the bodies of the webhook messages and
attempts that carried them are removed or replaced. The CRM is told with contact.erased (carrying the
CRM's own id, so it can find its record). On SQLite the erasing connection overwrites freed space
(secure_delete) and a job truncates the write-ahead log once the erasure has committed, so the words are
not left in the file."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, or_, select, text, update
from sqlmodel import Session

from voc.contacts.tasks import COMPACT_JOB, KEPT_ANALYSIS
from voc.db import utcnow
from voc.errors import NotFound
from voc.followups.models import Followup, FollowupNote
from voc.jobs.models import Job
from voc.jobs.queue import enqueue
from voc.surveys.experience import iso
from voc.surveys.models import Answer, Contact, Event, Invitation, PartialResponse, Response
from voc.surveys.service import get_contact
from voc.webhooks import outbox
from voc.webhooks.models import WebhookAttempt, WebhookMessage
from voc.webhooks.payloads import contact_ref

ERASED = "erased:"
NOTE_ERASED = "[erased]"


@dataclass
class Erasure:
    """What an erasure changed, by kind of row (for the answer and the audit log)."""

    contact: str  # a one-way hash of crm:external_id: the audit log can say which, without saying who
    counts: dict[str, int]


def contact_hash(crm: str, external_id: str) -> str:
    """A stable one-way reference to a contact for the audit log."""
    return "sha256:" + hashlib.sha256(f"{crm}:{external_id}".encode()).hexdigest()[:32]


def find_contact(session: Session, external_id: str, crm: str | None) -> Contact:
    """The contact, or 404 contact_not_found (an erased contact cannot be found by its former id)."""
    try:
        return get_contact(session, external_id, crm)
    except NotFound:
        raise NotFound(f"no contact {external_id!r}{f' in {crm!r}' if crm else ''}: never seen, or erased",
                       code="contact_not_found") from None


def erase_contact(session: Session, external_id: str, crm: str | None = None) -> Erasure:
    """Take everything personal about the contact out of voc, in the caller's transaction."""
    contact = find_contact(session, external_id, crm)
    ref = contact_ref(contact)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))  # freed space is overwritten (this connection)
    contact_id, old_key = contact.id, f"{contact.crm}:{contact.external_id}"
    invitations = select(Invitation.id).where(Invitation.contact_id == contact_id).scalar_subquery()
    responses = select(Response.id).where(Response.contact_id == contact_id)
    response_ids = list(session.scalars(responses))
    counts: dict[str, int] = {}

    def run(kind: str, statement: Any) -> None:
        counts[kind] = counts.get(kind, 0) + session.execute(
            statement.execution_options(synchronize_session=False)).rowcount

    run("events", update(Event).where(Event.contact_id == contact_id).values(
        attributes={}, event_id=ERASED + func_token(Event.id)))
    run("invitations", update(Invitation).where(Invitation.contact_id == contact_id).values(
        token_hash=func_token(Invitation.id, 64), token_nonce=func_token(Invitation.id, 64)))
    run("partial_responses", update(PartialResponse).where(PartialResponse.invitation_id.in_(invitations))
        .values(answers={}, language=None))
    for response_id, analysis in session.execute(select(Response.id, Response.analysis)
                                                 .where(Response.contact_id == contact_id)):
        # Scores, sentiment and dimension valences stay (the aggregates keep them); the words go.
        kept = {k: v for k, v in analysis.items() if k in KEPT_ANALYSIS} if analysis else None
        session.execute(update(Response).where(Response.id == response_id).values(comment=None, analysis=kept))
    counts["responses"] = len(response_ids)
    if response_ids:
        run("answers", update(Answer).where(Answer.response_id.in_(response_ids), Answer.text.is_not(None))
            .values(text=None))
        run("answers", delete(Answer).where(Answer.response_id.in_(response_ids), Answer.source == "crm"))
    followups = select(Followup.id).where(Followup.contact_id == contact_id).scalar_subquery()
    run("followup_notes", update(FollowupNote).where(FollowupNote.followup_id.in_(followups))
        .values(text=NOTE_ERASED))
    _erase_webhook_bodies(session, contact, old_key, run)
    _erase_job_errors(session, contact, run)
    session.execute(update(Contact).where(Contact.id == contact_id).values(
        external_id=ERASED + secrets.token_hex(12), email=None, attributes={}, opted_out=True,
        updated_at=utcnow()))
    session.flush()
    outbox.publish(session, "contact.erased", {"contact": ref, "erased": {"at": iso(utcnow())}})
    enqueue(session, COMPACT_JOB, {})
    return Erasure(contact_hash(ref["crm"], ref["external_id"]), counts)


def func_token(column: Any, length: int = 24) -> Any:
    """A fresh value per row that cannot be traced back: the row id joined to random hex."""
    return cast(column, String) + ":" + secrets.token_hex(max(4, (length - 12) // 2))


def _messages_about(session: Session, contact: Contact, key: str) -> Any:
    """The webhook messages about the contact: by their order key, and (messages from before it existed)
    by the contact's id as the value of an "external_id" in the body, as each backend writes JSON out
    (not merely anywhere: "c1" must not match the messages of "c10")."""
    postgres = session.get_bind().dialect.name == "postgresql"
    fragment = '"external_id": ' + json.dumps(contact.external_id, ensure_ascii=not postgres)
    return or_(WebhookMessage.order_key == key,
               WebhookMessage.order_key.is_(None) & cast(WebhookMessage.payload, String).contains(fragment))


def _erase_webhook_bodies(session: Session, contact: Contact, old_key: str, run: Any) -> None:
    messages = list(session.scalars(select(WebhookMessage.id).where(_messages_about(session, contact, old_key))))
    if not messages:
        return
    run("webhook_messages", update(WebhookMessage).where(WebhookMessage.id.in_(messages)).values(
        payload={"erased": True}, order_key=None))
    run("webhook_attempts", update(WebhookAttempt).where(WebhookAttempt.message_id.in_(messages)).values(
        url=None, response_snippet=None, error=None))


def _erase_job_errors(session: Session, contact: Contact, run: Any) -> None:
    # A failed job's last error may quote an address ("recipient refused <ann@example.com>").
    needles = [n for n in (contact.email, contact.external_id) if n]
    if needles:
        run("jobs", update(Job).where(or_(*(Job.last_error.contains(n) for n in needles)))
            .values(last_error="[erased]"))


def export_contact(session: Session, external_id: str, crm: str | None = None) -> dict[str, Any]:
    """Every stored fact about the contact, as one JSON document (Art. 15 and 20)."""
    contact = find_contact(session, external_id, crm)
    invitation_rows = list(session.scalars(select(Invitation).where(Invitation.contact_id == contact.id)
                                           .order_by(Invitation.id)))
    invitation_ids = [i.id for i in invitation_rows]
    response_rows = list(session.scalars(select(Response).where(Response.contact_id == contact.id)
                                         .order_by(Response.id)))
    answers: dict[int, list[Answer]] = {}
    if response_rows:
        for answer in session.scalars(select(Answer).where(Answer.response_id.in_([r.id for r in response_rows]))
                                      .order_by(Answer.id)):
            answers.setdefault(answer.response_id, []).append(answer)
    partials = list(session.scalars(select(PartialResponse).where(PartialResponse.invitation_id.in_(invitation_ids))
                                    )) if invitation_ids else []
    followups = list(session.scalars(select(Followup).where(Followup.contact_id == contact.id)))
    notes = list(session.scalars(select(FollowupNote).where(FollowupNote.followup_id.in_([f.id for f in followups]))
                                 )) if followups else []
    key = f"{contact.crm}:{contact.external_id}"
    messages = list(session.scalars(select(WebhookMessage).where(_messages_about(session, contact, key))
                                    .order_by(WebhookMessage.id)))
    events = list(session.scalars(select(Event).where(Event.contact_id == contact.id).order_by(Event.id)))
    return {
        "exported_at": iso(utcnow()),
        "contact": {"external_id": contact.external_id, "crm": contact.crm, "email": contact.email,
                    "attributes": contact.attributes, "opted_out": contact.opted_out,
                    "created_at": iso(contact.created_at), "updated_at": iso(contact.updated_at)},
        "events": [{"event_id": e.event_id, "touchpoint_id": e.touchpoint_id, "occurred_at": iso(e.occurred_at),
                    "attributes": e.attributes, "outcome": e.outcome, "reason": e.reason} for e in events],
        "invitations": [{"id": i.id, "survey_id": i.survey_id, "channel": i.channel, "status": i.status,
                         "invited_at": iso(i.invited_at), "expires_at": iso(i.expires_at),
                         "opened_at": iso(i.opened_at), "completed_at": iso(i.completed_at),
                         "emailed_at": iso(i.emailed_at), "reminded_at": iso(i.reminded_at)}
                        for i in invitation_rows],
        "partial_responses": [{"invitation_id": p.invitation_id, "answers": p.answers, "language": p.language,
                               "started_at": iso(p.started_at), "completed_at": iso(p.completed_at)}
                              for p in partials],
        "responses": [{"id": r.id, "survey_id": r.survey_id, "touchpoint_id": r.touchpoint_id,
                       "scores": {"nps": r.nps, "csat": r.csat, "ces": r.ces}, "comment": r.comment,
                       "completed_at": iso(r.completed_at), "analysis": r.analysis,
                       "answers": [{"question_id": a.question_id, "value": a.value, "source": a.source}
                                   for a in answers.get(r.id, [])]} for r in response_rows],
        "followups": [{"id": f.id, "reason": f.reason, "status": f.status, "created_at": iso(f.created_at),
                       "resolved_at": iso(f.resolved_at),
                       "notes": [{"text": n.text, "at": iso(n.created_at)} for n in notes if n.followup_id == f.id]}
                      for f in followups],
        "webhook_messages": [{"id": m.msg_id, "event_type": m.event_type, "status": m.status,
                              "created_at": iso(m.created_at), "delivered_at": iso(m.delivered_at),
                              "payload": m.payload} for m in messages],
    }
