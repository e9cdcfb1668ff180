"""The app holds its routes itself, busiest first: no included-router layer to walk on every request."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Mount

from voc.app import add_routes, create_app


def test_every_route_is_the_apps_own_and_the_answer_path_comes_first(engine):
    app = create_app(engine=engine)
    paths = [route.path for route in app.routes]
    assert all(isinstance(route, APIRoute | Mount) or type(route).__module__.startswith("starlette")
               for route in app.routes)
    assert paths.index("/api/v1/responses") < paths.index("/s/{token}") < paths.index("/api/v1/events")
    # Dashboard pages (the settings package's sections too) are reachable routes, and not in the API schema.
    assert {"/dashboard", "/dashboard/settings", "/dashboard/settings/keys", "/dashboard/settings/sites"} <= set(paths)
    assert not any(path.startswith("/dashboard") for path in app.openapi()["paths"])


def test_a_router_holding_another_router_is_refused_rather_than_half_added(engine):
    outer, inner = APIRouter(), APIRouter()

    @inner.get("/inner")
    def inner_page() -> dict:
        return {}

    outer.include_router(inner)
    with pytest.raises(TypeError, match="only API routes"):
        add_routes(create_app(engine=engine), outer)
