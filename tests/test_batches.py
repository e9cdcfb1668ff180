"""A batch thread handles the calls queued together at once, and one that gathers (the answer path's writer)
waits a moment for the calls of the other requests about, never for a lone client's."""

from __future__ import annotations

import threading
import time

import pytest

from voc import batches
from voc.batches import BatchThread, Requests
from voc.web import activity


class Recorder(BatchThread):
    """Answers each call with its argument and records the size of every batch it handled."""

    def __init__(self, requests: Requests, gather_seconds: float) -> None:
        self.GATHER_SECONDS = gather_seconds
        self.sizes: list[int] = []
        super().__init__("test-batches", timeout=60, gather=True, requests=requests)

    def handle(self, batch):
        self.sizes.append(len(batch))
        return [(call, True, call.args[0]) for call in batch if call.start()]


class _About:
    """`count` requests in flight at once lately, however long the test takes (Requests forgets after 50 ms)."""

    def __init__(self, count: int) -> None:
        self.recent = count


def _about(count: int) -> Requests:
    return _About(count)  # type: ignore[return-value]


def test_a_lone_client_is_never_kept_waiting_for_others():
    thread = Recorder(_about(1), gather_seconds=30)  # a wait would last half a minute
    try:
        assert thread.submit(None, ("a",)).result(timeout=5) == "a"
        assert thread.submit(None, ("b",)).result(timeout=5) == "b"
        assert thread.sizes == [1, 1]
    finally:
        thread.close()


def test_with_other_requests_about_the_batch_waits_for_their_calls():
    thread = Recorder(_about(3), gather_seconds=30)
    try:
        first = thread.submit(None, ("a",))
        time.sleep(0.2)  # the thread has taken the first call and waits for the others
        assert not first.done()
        rest = [thread.submit(None, (name,)) for name in "bc"]
        assert [f.result(timeout=5) for f in (first, *rest)] == ["a", "b", "c"]
        assert thread.sizes == [3]  # one batch: it stopped waiting once it had as many calls as requests about
    finally:
        thread.close()


def test_a_batch_waits_no_longer_than_the_gathering_time_for_calls_that_do_not_come():
    thread = Recorder(_about(5), gather_seconds=0.2)
    try:
        started = time.monotonic()
        assert thread.submit(None, ("a",)).result(timeout=5) == "a"
        assert time.monotonic() - started >= 0.2  # it did wait for the others…
        assert thread.sizes == [1]  # …and then went on alone
    finally:
        thread.close()


def test_a_stop_while_gathering_finishes_what_was_queued():
    thread = Recorder(_about(5), gather_seconds=30)
    first = thread.submit(None, ("a",))
    closing = threading.Thread(target=thread.close)
    time.sleep(0.1)
    closing.start()
    closing.join(10)
    assert not closing.is_alive() and first.result(timeout=1) == "a"


def test_requests_about_are_the_most_in_flight_lately_then_those_in_flight_now(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(batches.time, "monotonic", lambda: now[0])
    requests = Requests()
    for _ in range(4):
        requests.started()
    for _ in range(3):
        requests.ended()
    assert (requests.in_flight, requests.recent) == (1, 4)  # keep-alive clients between two requests count
    now[0] += Requests.RECENT_SECONDS * 2
    assert requests.recent == 1  # a while later only the one still in flight
    requests.started()
    assert requests.recent == 2  # and a new peak starts from what is in flight now


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page"])
def test_the_web_server_counts_its_requests_in_flight_for_the_writers(client, path, monkeypatch):
    counted = Requests()  # of this test's own: another test's requests cannot count here
    monkeypatch.setattr(activity, "REQUESTS", counted)
    assert counted.recent == 0
    client.get(path)
    assert counted.in_flight == 0 and counted.recent == 1  # seen a moment ago, ended since
