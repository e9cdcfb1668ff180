"""Fixtures for the job queue's tests."""

from __future__ import annotations

import pytest

from voc.jobs.queue import HANDLERS, LANES, STAGES, TOGETHER
from voc.jobs.worker import load_handlers


@pytest.fixture
def handlers():
    """The job handlers, restored after a test registers its own (voc's own all registered first:
    a copy taken before they were imported would drop them for every later test in this process)."""
    load_handlers()
    saved = [(registry, dict(registry)) for registry in (HANDLERS, LANES, STAGES, TOGETHER)]
    yield HANDLERS
    for registry, entries in saved:
        registry.clear()
        registry.update(entries)
