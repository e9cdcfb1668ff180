"""Recording actions in the audit log and reading it back. Entries are added, never changed or deleted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from voc.audit.actors import Actor
from voc.audit.models import AuditEntry
from voc.audit.schemas import AuditEntryPublic, AuditPage
from voc.cursors import keyset_page, pack_id_cursor, unpack_id_cursor

# Field names whose values never enter the log, at any depth; `headers` keep their names only.
SECRET_FIELDS = frozenset({"secret", "secret_hash", "signing_secret", "previous_secret", "password",
                           "password_hash", "client_secret", "access_token", "refresh_token", "token", "api_key",
                           "authorization", "plaintext"})
_SECRET_PARTS = ("secret", "password", "token")
_NAMES_ONLY = frozenset({"headers"})
_CURSOR_KIND = "a"


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    # token_cached / token_issued_at say whether there is a token and when, not what it is
    return lowered in SECRET_FIELDS or (any(part in lowered for part in _SECRET_PARTS)
                                        and not lowered.startswith("token_") and not lowered.endswith("_at"))


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without secrets: secret fields dropped at any depth, headers reduced to their names."""
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if _is_secret(str(name)):
            continue
        if name in _NAMES_ONLY and isinstance(value, Mapping):
            cleaned[name] = sorted(str(n) for n in value)
        else:
            cleaned[name] = _clean(value)
    return cleaned


def state(value: BaseModel | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-ready, redacted copy of an object's state (a pydantic model or a dict), taken now."""
    if value is None:
        return None
    return redact(to_jsonable_python(value))


def record(session: Session, actor: Actor, action: str, object_kind: str, object_key: str | int, *,
           before: BaseModel | Mapping[str, Any] | None = None, after: BaseModel | Mapping[str, Any] | None = None,
           address: str | None = None) -> AuditEntry:
    """Add an entry in the session's transaction (flushed, not committed): a rolled-back change leaves none."""
    where = address or actor.address
    entry = AuditEntry(actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label[:320], action=action,
                       object_kind=object_kind, object_key=str(object_key)[:400], address=where[:64] if where else None,
                       before=state(before), after=state(after))
    session.add(entry)
    session.flush()
    return entry


def entry_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(entry, from_attributes=True)


def list_entries(session: Session, *, action: str | None = None, actor: str | None = None,
                 object_: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 cursor: str | None = None, limit: int = 50) -> AuditPage:
    """Entries newest first. `action` matches exactly or as a prefix (`survey` → survey.*); `actor` is part of
    the actor's label or `kind:id` (`api_key:3`); `object_` is a kind or `kind:key`; [since, until) on `at`."""
    query = select(AuditEntry)
    if action:
        query = query.where(or_(col(AuditEntry.action) == action,
                                col(AuditEntry.action).startswith(action.rstrip(".") + ".", autoescape=True)))
    if actor:
        kind, sep, ident = actor.partition(":")
        label = func.lower(col(AuditEntry.actor_label)).contains(actor.lower(), autoescape=True)
        if sep and ident.isdigit() and len(ident) < 12:
            query = query.where(or_(label, (col(AuditEntry.actor_kind) == kind)
                                    & (col(AuditEntry.actor_id) == int(ident))))
        else:
            query = query.where(label)
    if object_:
        kind, sep, key = object_.partition(":")
        query = query.where(col(AuditEntry.object_kind) == kind)
        if sep:
            query = query.where(col(AuditEntry.object_key) == key)
    if since:
        query = query.where(col(AuditEntry.at) >= since)
    if until:
        query = query.where(col(AuditEntry.at) < until)
    if cursor:
        query = query.where(col(AuditEntry.id) < unpack_id_cursor(cursor, _CURSOR_KIND))
    rows = session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit + 1)).all()
    page, next_cursor = keyset_page(rows, limit, lambda e: pack_id_cursor(_CURSOR_KIND, e.id or 0))
    return AuditPage(items=[entry_public(e) for e in page], next_cursor=next_cursor)
