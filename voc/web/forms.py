"""A posted form as a dependency, so handlers that use the database can stay plain functions.

FastAPI runs a `def` handler (and its session) in the thread pool, never on the event loop; reading the
body is the one part that must be awaited, and it happens here, before the handler runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def read_form(request: Request) -> FormData:
    """The request's form fields (parsed once: the CSRF check reads the same)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]
