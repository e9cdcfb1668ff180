"""The rule for where database work runs (README, Architecture): never on the event loop. Handlers that
use a session are plain functions (FastAPI runs them and their session in the thread pool); `async`
handlers reach the database only through voc.db.in_transaction. This test fails when a route breaks it;
tests/crowds shows it holding against the real server."""

from __future__ import annotations

import inspect

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.routes import route_contexts
from voc.api.deps import SessionDep, get_session


def _calls(dependant: Dependant) -> list:
    found = []
    for sub in dependant.dependencies:
        found += [sub.call, *_calls(sub)]
    return found


def test_no_async_handler_or_dependency_takes_a_database_session(app):
    offenders, checked = [], set()
    for route in route_contexts(app):
        if getattr(route, "dependant", None) is None:  # not a FastAPI route (static files, the docs)
            continue
        checked.add(route.path)
        stack = [(route.endpoint, route.dependant)]
        while stack:
            call, dependant = stack.pop()
            if inspect.iscoroutinefunction(call) and get_session in _calls(dependant):
                offenders.append(f"{sorted(route.methods)} {route.path}: {call.__qualname__}")
            stack += [(sub.call, sub) for sub in dependant.dependencies]
    assert {"/s/{token}", "/api/v1/responses", "/dashboard"} <= checked  # the included routers' routes too
    assert offenders == []


def test_the_rule_would_catch_the_handler_that_froze_the_server():
    """The hosted form's old shape (an async handler with a session) is what the check above refuses."""
    probe = FastAPI()

    @probe.post("/s/{token}")
    async def survey_submit(token: str, session: SessionDep) -> dict:
        return {}

    [route] = [r for r in probe.routes if isinstance(r, APIRoute)]
    assert inspect.iscoroutinefunction(route.endpoint) and get_session in _calls(route.dependant)
