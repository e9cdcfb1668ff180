"""A contact's experience: the summary voc writes back to the CRM, and the timeline behind it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from voc.api.deps import ResponsesReader, SessionDep
from voc.api.errors import KEYED_ERRORS, error_responses
from voc.surveys.service import get_contact
from voc.webhooks.experience import contact_experience

router = APIRouter(tags=["contacts"], responses=error_responses(KEYED_ERRORS))


@router.get("/contacts/{external_id}/experience",
            responses=error_responses(KEYED_ERRORS, {404: ("contact_not_found",)}))
def get_contact_experience(external_id: str, session: SessionDep, _key: ResponsesReader,
                           crm: str | None = None) -> dict[str, Any]:
    """The same summary contact.experience_updated carries, and every response oldest first."""
    return contact_experience(session, get_contact(session, external_id, crm))
