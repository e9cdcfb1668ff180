"""Opaque page cursors: a few text parts, base64url-encoded; anything else is a clear 422."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

from voc.errors import Invalid

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


def keyset_page(rows: Sequence[Row], limit: int, cursor_of: Callable[[Row], str]) -> tuple[list[Row], str | None]:
    """From `limit + 1` fetched rows: the page, and the cursor to the next one (None on the last page)."""
    page = list(rows[:limit])
    return page, cursor_of(page[-1]) if len(rows) > limit and page else None
