"""What API handlers depend on: a session whose transaction the request owns, and a scoped key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.audit import Actor, actor_from_request
from voc.auth.models import ApiKey
from voc.auth.service import authenticate, key_parts, require_scope
from voc.config import get_settings
from voc.db import busy, get_engine, reading, session_scope

_READ_METHODS = frozenset({"GET", "HEAD"})


def _engine(request: Request) -> Engine:
    return getattr(request.app.state, "engine", None) or get_engine()


def _reads_only(request: Request) -> bool:
    return request.method in _READ_METHODS and request.scope["path"].startswith("/dashboard")  # (no URL object)


async def _write_turn(request: Request) -> AsyncIterator[None]:
    """On SQLite, one request of this process at a time holds a write transaction; the others await
    their turn here, on the loop, holding no thread.

    A request's transaction spans several hops to the thread pool (dependencies, handler, commit). If
    each waited for SQLite's lock inside a pool thread, twenty waiting requests could hold every thread
    while the one holding the lock waited for a thread to commit: a deadlock that only the lock timeout
    ended. The wait here is bounded by VOC_DB_LOCK_TIMEOUT_SECONDS too (then 503 busy)."""
    if _engine(request).dialect.name != "sqlite" or _reads_only(request):
        yield
        return
    gate = getattr(request.app.state, "write_gate", None)
    if gate is None:
        gate = request.app.state.write_gate = asyncio.Lock()
    try:
        await asyncio.wait_for(gate.acquire(), timeout=get_settings().db_lock_timeout_seconds)
    except TimeoutError:
        raise busy() from None
    try:
        yield
    finally:
        gate.release()


def get_session(request: Request, _turn: Annotated[None, Depends(_write_turn, scope="function")]) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    Dashboard pages (GET) only read: their transaction takes no write lock on SQLite (see reading)."""
    engine = reading(_engine(request)) if _reads_only(request) else _engine(request)
    with session_scope(engine) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a client never hears
# "201 Created" for something that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API key made by `voc create-api-key`.")


def api_key(scope: str) -> Callable[..., ApiKey]:
    """A dependency: the request's API key, which must hold `scope`."""

    def dependency(session: SessionDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
        return _scoped_key(session, credentials, scope)

    return dependency


def _scoped_key(session: Session, credentials: HTTPAuthorizationCredentials | None, scope: str) -> ApiKey:
    return scoped_key(session, credentials.credentials if credentials else None, scope)


def acting_key(scope: str) -> Callable[..., Actor]:
    """A dependency: the request's API key (which must hold `scope`) as the audit log's actor, with its address."""

    def dependency(request: Request, session: SessionDep,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
        return actor_from_request(request, key=_scoped_key(session, credentials, scope))

    return dependency


async def presented_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The API key a request presents, for a handler that checks it in its own transaction (one hop to the
    database threads for both): none, or one not shaped like a key, is refused here, before the body is read."""
    presented = credentials.credentials if credentials else None
    key_parts(presented)
    return presented


def scoped_key(session: Session, presented: str | None, scope: str) -> ApiKey:
    """The live key `presented` (presented_key), which must hold `scope`: 401 or 403."""
    key = authenticate(session, presented)
    require_scope(key, scope)
    return key


PresentedKey = Annotated[str, Depends(presented_key)]
SurveysWriter = Annotated[ApiKey, Depends(api_key("surveys:write"))]
SurveysReader = Annotated[ApiKey, Depends(api_key("surveys:read"))]
ResponsesReader = Annotated[ApiKey, Depends(api_key("responses:read"))]
ContactsEraser = Annotated[ApiKey, Depends(api_key("contacts:erase"))]
SurveysWriterActor = Annotated[Actor, Depends(acting_key("surveys:write"))]
WebhooksWriterActor = Annotated[Actor, Depends(acting_key("webhooks:write"))]
AdminActor = Annotated[Actor, Depends(acting_key("admin"))]
