"""How busy the web server is, so that a worker in the same process gives way to customers' requests."""

from __future__ import annotations

import asyncio
import threading
import time

from voc.batches import REQUESTS

QUIET_SECONDS = 0.005  # no request for this long: the server is idle (a keep-alive client's next
#                        request usually follows within a millisecond or two)


class Activity:
    """HTTP requests in flight and when the last one ended (written by the event loop, read by the worker).

    The loop itself notices a quiet moment: when the last request in flight ends it looks again
    QUIET_SECONDS later (one timer at a time), and only then wakes a waiting worker. A worker woken
    at every moment with no request in flight (many times a millisecond under load) would take the
    GIL from the loop over and over, and the requests would pay for the time given to them."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_end = 0.0
        self.quiet = threading.Event()  # set once no request has been in flight for QUIET_SECONDS
        self.quiet.set()
        self._looking = False  # a look QUIET_SECONDS after the last request ended is due

    def started(self) -> None:
        self.in_flight += 1
        REQUESTS.started()
        if self.quiet.is_set():
            self.quiet.clear()

    def ended(self) -> None:
        self.in_flight -= 1
        REQUESTS.ended()
        self.last_end = time.monotonic()
        if not self.in_flight and not self._looking:
            self._looking = True
            self._look_later(QUIET_SECONDS)

    def _look_later(self, delay: float) -> None:
        try:
            asyncio.get_running_loop().call_later(delay, self._look)
        except RuntimeError:  # ended outside an event loop (a test, a thread): a timer looks instead
            threading.Timer(delay, self._look).start()

    def _look(self) -> None:
        if self.in_flight:  # busy again: the request that ends last looks again
            self._looking = False
            return
        quiet_for = time.monotonic() - self.last_end
        if quiet_for >= QUIET_SECONDS:
            self._looking = False
            self.quiet.set()
        else:  # another request came and went meanwhile
            self._look_later(QUIET_SECONDS - quiet_for)

    def wait_quiet(self, timeout: float) -> None:
        """Block until no request has been in flight for QUIET_SECONDS, or `timeout` seconds have passed."""
        if timeout > 0:
            self.quiet.wait(timeout)
