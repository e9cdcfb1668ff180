"""The loop watch counts what holds the event loop (a blocking call, or long work on it), with where; a crowd's
many short callbacks run back to back are no hold."""

from __future__ import annotations

import asyncio
import logging
import threading
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
    """Work on the loop's thread for `seconds` of its own CPU time (on a loaded machine that takes longer by the
    clock; a spin measured by the clock could get too little CPU there to be any hold at all)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
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


def test_a_crowd_of_short_steps_back_to_back_is_no_hold(caplog):
    """Sixty requests arriving at once each spend 5 ms on the loop (parsing, say) before their first await: the
    loop runs them one after the other, 300 ms late on its beat, though none held it."""

    async def request() -> None:
        _spin(0.005)
        await asyncio.sleep(0)

    def crowd() -> None:
        for _ in range(60):
            asyncio.get_running_loop().create_task(request())

    held, log = _held_by(crowd, caplog)
    assert held == 0, log


def test_one_long_step_among_short_ones_is_a_hold(caplog):
    async def request(seconds: float) -> None:
        _spin(seconds)
        await asyncio.sleep(0)

    def crowd() -> None:
        for n in range(21):
            asyncio.get_running_loop().create_task(request(0.4 if n == 10 else 0.005))

    held, log = _held_by(crowd, caplog)
    assert held == 1 and "running" in log and "request" in log


def test_waiting_for_the_gil_while_our_threads_work_is_no_hold(caplog):
    """A thread of ours computes (rendering pages, say) while the loop, back from a call that let the GIL go,
    waits to get it again: late and at one line, but blocked by nothing a handler did."""
    done = threading.Event()

    def work() -> None:
        while not done.is_set():
            pass

    def starved() -> None:
        worker = threading.Thread(target=work)
        worker.start()
        try:
            end = time.monotonic() + 0.4
            while time.monotonic() < end:
                time.sleep(0)  # lets the GIL go; the worker keeps it for a switch interval each time
        finally:
            done.set()
            worker.join()

    held, log = _held_by(starved, caplog)
    assert held == 0, log
