"""Row ids from outside (paths, forms, cursors): a number beyond the database's integer range names no row.

Such a number cannot even be bound as a query parameter (SQLite: 64 bits; PostgreSQL casts to its 32-bit
INTEGER), so it must be answered as an unknown id before it reaches a query, not as a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

from voc.errors import NotFound

MAX_ROW_ID = 2**31 - 1  # PostgreSQL's INTEGER, the narrower of the two databases


def is_row_id(value: int) -> bool:
    """Whether a row can have this id (ids start at 1)."""
    return 0 < value <= MAX_ROW_ID


def parse_row_id(text: str | None) -> int | None:
    """The id `text` spells, or None when it is not a number or no row can have it."""
    if not text or not (text.isascii() and text.isdigit()):  # "²".isdigit() too, but int() refuses it
        return None
    value = int(text)
    return value if is_row_id(value) else None


def _in_range(code: str, noun: str) -> Callable[[int], int]:
    """A check for a route's id parameter: one out of range is answered 404 `code`, as an unknown id is."""

    def check(value: int) -> int:
        # Not a ValueError: pydantic would make that a 422; a NotFound passes through to the error handlers.
        if not is_row_id(value):
            raise NotFound(f"no {noun} {value}", code=code)
        return value

    return check


WebhookId = Annotated[int, AfterValidator(_in_range("webhook_not_found", "webhook endpoint"))]
FollowupId = Annotated[int, AfterValidator(_in_range("followup_not_found", "follow-up"))]
ApiKeyId = Annotated[int, AfterValidator(_in_range("api_key_not_found", "API key"))]
UserId = Annotated[int, AfterValidator(_in_range("user_not_found", "user"))]
