"""A contact's experience: the summary voc writes back to the CRM, and the timeline behind it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from voc import audit
from voc.api.deps import ContactsEraser, ResponsesReader, SessionDep
from voc.api.errors import KEYED_ERRORS, WRITE_ERRORS, error_responses
from voc.contacts.privacy import contact_hash, erase_contact, export_contact
from voc.surveys.experience import contact_experience
from voc.surveys.service import get_contact

router = APIRouter(tags=["contacts"], responses=error_responses(KEYED_ERRORS))


@router.get("/contacts/{external_id}/experience",
            responses=error_responses(KEYED_ERRORS, {404: ("contact_not_found",)}))
def get_contact_experience(external_id: str, session: SessionDep, _key: ResponsesReader,
                           crm: str | None = None) -> dict[str, Any]:
    """The same summary contact.experience_updated carries, and every response oldest first."""
    return contact_experience(session, get_contact(session, external_id, crm))


@router.get("/contacts/{external_id}/export",
            responses=error_responses(KEYED_ERRORS, {404: ("contact_not_found",)}))
def export_contact_data(external_id: str, request: Request, session: SessionDep, key: ResponsesReader,
                        crm: str | None = None) -> dict[str, Any]:
    """Every stored fact about the contact in one JSON document (a data subject's access request):
    events, invitations, answers, analyses, follow-ups and the webhook messages sent about them."""
    document = export_contact(session, external_id, crm)
    contact = document["contact"]
    audit.record(session, audit.actor_from_request(request, key=key), "contact.exported", "contact",
                 contact_hash(contact["crm"], contact["external_id"]))
    return document


@router.delete("/contacts/{external_id}",
               responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, {404: ("contact_not_found",)}))
def erase_contact_data(external_id: str, request: Request, session: SessionDep, key: ContactsEraser,
                       crm: str | None = None) -> dict[str, Any]:
    """Erase everything personal about the contact (a data subject's erasure request), keeping its scores
    in the aggregates; the CRM hears contact.erased. Scope contacts:erase (or admin). An unknown or
    already erased contact answers 404 contact_not_found."""
    erasure = erase_contact(session, external_id, crm)
    audit.record(session, audit.actor_from_request(request, key=key), "contact.erased", "contact",
                 erasure.contact, after=erasure.counts)
    return {"erased": True, "contact": erasure.contact, "counts": erasure.counts}
