"""The CX manager's dashboard: one module per page, each with its own router."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

# Each module defines `router`; pages are added here as they are built.
PAGES = ("overview", "journey", "experience", "responses", "contacts", "themes", "followups", "surveys", "settings",
         "audit")


def dashboard_routers() -> list[APIRouter]:
    """Every dashboard page's router (each module routes under /dashboard; a package of pages lists its
    routers in `routers`)."""
    modules = [importlib.import_module(f"voc.web.dashboard.{name}") for name in PAGES]
    return [router for module in modules for router in getattr(module, "routers", [module.router])]
