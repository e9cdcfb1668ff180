"""Running a coroutine, or several calls at once, from a test, whatever else the test process is doing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run in a thread of its own: a browser test's Playwright keeps an event loop running in
    the test process's main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_in_threads(target: Callable[..., Any], arguments: Iterable[tuple]) -> None:
    """Run `target(*args)` for each argument tuple, each in a thread of its own, and wait for them all."""
    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
