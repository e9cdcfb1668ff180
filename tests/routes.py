"""The app's routes with their full paths, those of included routers too: since FastAPI 0.16x `app.routes` lists
an included router as one entry, so a loop over it alone finds none of the API's or the dashboard's routes."""

from __future__ import annotations

from typing import Any


def route_contexts(app: Any) -> list[Any]:
    """Every route the app serves, each with its full `path`, `methods`, `endpoint` and `dependant`."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: the app's routes carry their full paths
        return [route for route in app.routes if isinstance(getattr(route, "path", None), str)]
    return [route for route in iter_route_contexts(app.routes) if isinstance(getattr(route, "path", None), str)]


def every_route(app: Any) -> list[tuple[str, frozenset[str]]]:
    """(path template, methods) of every route the app serves."""
    return [(route.path, frozenset(getattr(route, "methods", None) or ())) for route in route_contexts(app)]
