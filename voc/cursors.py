"""Opaque page cursors: a few text parts, base64url-encoded; anything else is a clear 422."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from voc.errors import Invalid
from voc.ids import parse_row_id

_SEP = "|"
Row = TypeVar("Row")


def pack_cursor(*parts: object) -> str:
    """A cursor carrying `parts` (their text must not contain '|')."""
    return base64.urlsafe_b64encode(_SEP.join(str(p) for p in parts).encode()).decode().rstrip("=")


def unpack_cursor(cursor: str, count: int) -> list[str]:
    """The `count` parts a cursor carries, or Invalid(invalid_cursor)."""
    try:
        parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(_SEP)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("the cursor is not one voc gave out", code="invalid_cursor") from exc
    if len(parts) != count:
        raise Invalid("the cursor is not one voc gave out", code="invalid_cursor")
    return parts


def pack_id_cursor(kind: str, ident: int) -> str:
    """A cursor for pages ordered by id alone: a one-letter kind, so one list's cursor fails on another."""
    return pack_cursor(kind, ident)


def unpack_id_cursor(cursor: str, kind: str) -> int:
    """The id an id cursor of `kind` stands for, or Invalid(invalid_cursor)."""
    found, ident = unpack_cursor(cursor, 2)
    ident_value = parse_row_id(ident)
    if found != kind or ident_value is None:
        raise Invalid("the cursor is not one voc gave out", code="invalid_cursor")
    return ident_value


def pack_moment_cursor(moment: datetime, ident: int) -> str:
    """A cursor for pages ordered by (a timestamp, id): where the last row of a page stood."""
    return pack_cursor(moment.isoformat(), ident)


def unpack_moment_cursor(cursor: str) -> tuple[datetime, int]:
    """The (timestamp, id) a moment cursor stands for, or Invalid(invalid_cursor)."""
    moment, ident = unpack_cursor(cursor, 2)
    try:
        when, ident_value = datetime.fromisoformat(moment), parse_row_id(ident)
        if when.tzinfo is None or ident_value is None:  # an id beyond the range could not even be bound
            raise ValueError(moment)
        return when, ident_value
    except ValueError as exc:
        raise Invalid("the page link is not one voc gave out", code="invalid_cursor") from exc


def keyset_page(rows: Sequence[Row], limit: int, cursor_of: Callable[[Row], str]) -> tuple[list[Row], str | None]:
    """From `limit + 1` fetched rows: the page, and the cursor to the next one (None on the last page)."""
    page = list(rows[:limit])
    return page, cursor_of(page[-1]) if len(rows) > limit and page else None
