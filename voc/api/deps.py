"""What API handlers depend on: a session whose transaction the request owns, and a scoped key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from voc.auth.models import ApiKey
from voc.auth.service import authenticate, require_scope
from voc.db import get_engine, reading

_READ_METHODS = frozenset({"GET", "HEAD"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    Dashboard pages (GET) only read: their transaction takes no write lock on SQLite (see reading)."""
    engine = getattr(request.app.state, "engine", None) or get_engine()
    if request.method in _READ_METHODS and request.scope["path"].startswith("/dashboard"):  # (no URL object)
        engine = reading(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a client never hears
# "201 Created" for something that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API key made by `voc create-api-key`.")


def api_key(scope: str) -> Callable[..., ApiKey]:
    """A dependency: the request's API key, which must hold `scope`."""

    def dependency(session: SessionDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
        key = authenticate(session, credentials.credentials if credentials else None)
        require_scope(key, scope)
        return key

    return dependency


EventsWriter = Annotated[ApiKey, Depends(api_key("events:write"))]
SurveysWriter = Annotated[ApiKey, Depends(api_key("surveys:write"))]
SurveysReader = Annotated[ApiKey, Depends(api_key("surveys:read"))]
ResponsesReader = Annotated[ApiKey, Depends(api_key("responses:read"))]
