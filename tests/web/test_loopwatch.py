"""The loop watch counts what holds the event loop (a blocking call, or long work on it), with where."""

from __future__ import annotations

import asyncio
import logging
import time

from tests.aio import run_async
from voc.web.loopwatch import LoopWatch


def _held_by(hold, caplog) -> tuple[int, str]:
    watch = LoopWatch(warn_after=0.1)

    async def scenario() -> None:
        probe = asyncio.create_task(watch.run())
        await asyncio.sleep(0.1)  # the probe and its watcher are running
        hold()  # on the loop, as a handler that broke the rule would
        await asyncio.sleep(0.1)
        probe.cancel()

    with caplog.at_level(logging.WARNING, logger="voc.web.loopwatch"):
        run_async(scenario())
    return watch.held, caplog.text


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_blocking_call_on_the_loop_is_a_hold_with_where_it_was(caplog):
    held, log = _held_by(lambda: time.sleep(0.4), caplog)
    assert held == 1 and "blocked" in log and "time.sleep(0.4)" in log


def test_long_work_on_the_loop_is_a_hold(caplog):
    held, log = _held_by(lambda: _spin(0.4), caplog)
    assert held == 1 and "running" in log and "_spin" in log


def test_a_quiet_loop_has_no_hold(caplog):
    held, _ = _held_by(lambda: None, caplog)
    assert held == 0
