"""The CX manager's dashboard: one module per page, each with its own router."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# Each module defines `router`; pages are added here as they are built.
PAGES = ("overview", "journey", "experience", "responses", "contacts", "themes", "followups", "surveys", "settings",
         "audit")


def dashboard_router() -> APIRouter:
    """All dashboard pages (each module routes under /dashboard)."""
    router = APIRouter(include_in_schema=False)
    for name in PAGES:
        module = importlib.import_module(f"voc.web.dashboard.{name}")
        router.include_router(module.router)
    return router
