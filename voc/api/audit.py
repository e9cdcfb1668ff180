"""The audit log over JSON (admin scope): read only; nothing can change or delete an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from voc import audit
from voc.api.deps import SessionDep, api_key
from voc.api.errors import KEYED_ERRORS, error_responses
from voc.audit.schemas import AuditPage
from voc.auth.models import ApiKey

router = APIRouter(tags=["audit"], responses=error_responses(KEYED_ERRORS))
AuditReader = Annotated[ApiKey, Depends(api_key("admin"))]


@router.get("/audit", response_model=AuditPage, responses=error_responses(KEYED_ERRORS, {422: ("invalid_cursor",)}))
def list_audit_entries(
    session: SessionDep, _key: AuditReader,
    action: str | None = None, actor: str | None = None, object: str | None = None,  # noqa: A002
    from_: Annotated[AwareDatetime | None, Query(alias="from")] = None, to: AwareDatetime | None = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Entries newest first. `action`: exact or a prefix (`survey`); `actor`: part of an e-mail address or key
    name, or `api_key:3`; `object`: a kind or `kind:key` (`survey:post_delivery`); pass `next_cursor` back as
    `cursor`."""
    return audit.list_entries(session, action=action, actor=actor, object_=object, since=from_, until=to,
                              cursor=cursor, limit=limit)
