"""Running a coroutine from a test, whatever else the test process is doing."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a thread of its own: a browser test's Playwright keeps an event loop running in
    the test process's main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
