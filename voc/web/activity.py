"""How busy the web server is, so that a worker in the same process gives way to customers' requests."""

from __future__ import annotations

import threading
import time

QUIET_SECONDS = 0.005  # no request for this long: the server is idle (a keep-alive client's next
#                        request usually follows within a millisecond or two)


class Activity:
    """HTTP requests in flight and when the last one ended (written by the event loop, read by the worker)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_end = 0.0
        self.idle = threading.Event()  # set while no request is in flight
        self.idle.set()

    def started(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def ended(self) -> None:
        self.in_flight -= 1
        self.last_end = time.monotonic()
        if not self.in_flight:
            self.idle.set()

    def wait_quiet(self, timeout: float) -> None:
        """Block until no request has been in flight for QUIET_SECONDS, or `timeout` seconds have passed.

        Woken by the last request ending, not by polling: a waiting thread that wakes needs the GIL,
        and taking it from the event loop over and over costs the requests the time given to them."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not self.idle.wait(remaining):
                return
            if self.in_flight:  # a request began between the wake-up and this look: wait for it again
                continue
            quiet_for = time.monotonic() - self.last_end
            if quiet_for >= QUIET_SECONDS:
                return
            time.sleep(max(0.0, min(QUIET_SECONDS - quiet_for, deadline - time.monotonic())))
