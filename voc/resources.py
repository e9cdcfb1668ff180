"""Where templates, static files and migrations are, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Path of `templates`, `static` or `migrations`: inside the wheel, else the checkout's top."""
    installed = _PACKAGE / "_resources" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
