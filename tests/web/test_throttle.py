"""Throttles that cannot be turned against users: per-address limits on the public routes, and sign-in
failures that slow an attacker down from their address while the real user still signs in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import csrf_of
from voc.auth.throttle import LoginThrottle
from voc.config import get_settings

ATTACKER = ("203.0.113.66", 40000)
COLLEAGUE = ("198.51.100.7", 50000)


@pytest.fixture
def make_client(engine, monkeypatch) -> Iterator:  # noqa: ANN001
    """Clients of one app (made after the test's settings) that connect from the addresses given."""
    from voc.app import create_app

    apps, clients = [], []

    def make(address: tuple[str, int], **settings: str) -> TestClient:
        if not apps:
            for name, value in settings.items():
                monkeypatch.setenv(f"VOC_{name.upper()}", value)
            get_settings.cache_clear()
            apps.append(create_app(engine=engine))
        client = TestClient(apps[0], client=address)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_each_public_route_group_is_limited_per_address_with_retry_after(make_client):
    attacker = make_client(ATTACKER, public_requests_per_minute="60", public_burst="3")
    colleague = make_client(COLLEAGUE)
    for _ in range(3):
        assert attacker.post("/api/v1/responses", json={}).status_code == 422
    refused = attacker.post("/api/v1/responses", json={})
    assert refused.status_code == 429
    assert refused.json() == {"error": {"code": "rate_limited",
                                        "message": "too many requests from this address; try again in 1 s"}}
    assert refused.headers["retry-after"] == "1"
    # Other addresses and the attacker's other route groups are not affected.
    assert colleague.post("/api/v1/responses", json={}).status_code == 422
    assert attacker.get("/s/not-a-token").status_code != 429

    for path in ("/s/not-a-token", "/login", "/unsubscribe/1.abc"):
        while (page := attacker.get(path)).status_code != 429:
            pass
        assert page.headers["content-type"].startswith("text/html") and page.headers["retry-after"] == "1"
        assert "Too many requests" in page.text
        assert "x-content-type-options" in page.headers  # still gets the security headers


def test_a_forged_forwarded_header_does_not_get_a_fresh_bucket(make_client):
    attacker = make_client(ATTACKER, public_requests_per_minute="60", public_burst="2")
    statuses = [attacker.get("/s/x", headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(4)]
    assert statuses[-1] == 429  # only uvicorn's trusted-proxy handling may change the client address


def test_routes_behind_a_key_or_a_session_are_not_limited_here(make_client, admin_headers):
    client = make_client(ATTACKER, public_requests_per_minute="60", public_burst="2")
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
    assert {client.get("/api/v1/surveys", headers=admin_headers).status_code for _ in range(5)} == {200}


def test_the_defaults_let_a_crowd_behind_one_address_through(make_client):
    office = make_client(ATTACKER)
    assert {office.get("/s/not-a-token").status_code for _ in range(120)} == {404}


# --- sign-in ------------------------------------------------------------------------------------------

def _sign_in(client: TestClient, email: str, password: str):  # noqa: ANN202
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


@pytest.fixture
def clock(make_client) -> list[float]:  # noqa: ANN001
    """The sign-in throttle's clock, moved on by the test."""
    return [1000.0]


def _with_clock(client: TestClient, clock: list[float]) -> None:
    settings = get_settings()
    client.app.state.login_throttle = LoginThrottle(settings.login_failures_before_delay,
                                                    settings.login_max_delay_seconds, clock=lambda: clock[0])


def test_an_attacker_is_slowed_down_and_the_admin_still_signs_in(make_client, make_user, clock, monkeypatch):
    import voc.web.auth

    checked: list[str] = []
    real_authenticate = voc.web.auth.authenticate_user
    monkeypatch.setattr(voc.web.auth, "authenticate_user",
                        lambda session, email, password: checked.append(password) or real_authenticate(
                            session, email, password))
    email, password = make_user("admin")
    attacker, admin = make_client(ATTACKER), make_client(COLLEAGUE)
    _with_clock(attacker, clock)

    for guess in range(5):
        assert _sign_in(attacker, email, f"guess-{guess}").status_code == 401
    slowed = _sign_in(attacker, email, password)  # even the right password waits: nothing is checked
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "2"
    assert "try again in 2 seconds" in slowed.text
    assert checked == [f"guess-{n}" for n in range(5)]

    # The real admin, from another address, signs in at once.
    assert _sign_in(admin, email, password).status_code == 303
    assert admin.get("/dashboard").status_code == 200

    # Each further failure from the attacker's address doubles the wait.
    clock[0] += 2
    assert _sign_in(attacker, email, "guess-5").status_code == 401
    assert _sign_in(attacker, email, "guess-6").headers["retry-after"] == "4"
    clock[0] += 4
    assert _sign_in(attacker, email, "guess-6").status_code == 401
    assert _sign_in(attacker, email, "guess-7").headers["retry-after"] == "8"

    # After the delay the right password works from that address too: no lock, ever.
    clock[0] += 8
    assert _sign_in(attacker, email, password).status_code == 303
    assert attacker.get("/dashboard").status_code == 200


def test_the_delay_grows_to_the_configured_ceiling(make_client, make_user, clock):
    email, _ = make_user("viewer")
    client = make_client(ATTACKER, login_failures_before_delay="2", login_max_delay_seconds="10")
    _with_clock(client, clock)
    waits = []
    for guess in range(8):
        answer = _sign_in(client, email, f"guess-{guess}")
        if answer.status_code == 429:
            waits.append(int(answer.headers["retry-after"]))
            clock[0] += waits[-1]
            assert _sign_in(client, email, f"guess-{guess}").status_code == 401
    assert waits == [2, 4, 8, 10, 10, 10]


def test_one_address_guessing_at_many_accounts_is_slowed_too(make_client, make_user, clock):
    client = make_client(ATTACKER, login_failures_before_delay="1")  # so 10 failures over all accounts
    colleague = make_client(COLLEAGUE)
    _with_clock(client, clock)
    for n in range(10):
        assert _sign_in(client, f"nobody-{n}@example.com", "guess").status_code == 401
    email, password = make_user("analyst")
    assert _sign_in(client, email, password).status_code == 429
    assert _sign_in(colleague, email, password).status_code == 303


def test_failures_are_not_written_to_the_database(make_client, make_user, engine):
    from sqlmodel import Session, select

    from voc.auth.models import User

    email, password = make_user("admin")
    attacker = make_client(ATTACKER)
    for guess in range(5):
        _sign_in(attacker, email, f"guess-{guess}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        assert user.disabled_at is None and user.last_login_at is None


def test_throttle_state_is_bounded_and_forgets_quiet_failures():
    now = [0.0]
    throttle = LoginThrottle(2, 900, max_keys=3, clock=lambda: now[0])
    throttle.failed("a@example.com", "1.1.1.1")
    throttle.failed("a@example.com", "1.1.1.1")
    assert throttle.admit("A@Example.com ", "1.1.1.1") == 2.0  # the account as typed in any case
    assert throttle.admit("a@example.com", "2.2.2.2") == 0.0
    now[0] = 2.0
    assert throttle.admit("a@example.com", "1.1.1.1") == 0.0  # let through: the delay starts again at once,
    assert throttle.admit("a@example.com", "1.1.1.1") == 2.0  # so parallel guesses get one check, not many
    now[0] = 3700
    assert throttle.admit("a@example.com", "1.1.1.1") == 0.0
    for n in range(10):
        throttle.failed(f"u{n}@example.com", "3.3.3.3")
    assert len(throttle._failures) <= 3


# --- behind a proxy: the real server ------------------------------------------------------------------

@pytest.mark.parametrize(("trusted", "forwarded_counts"), [("127.0.0.1", True), ("10.9.9.9", False)])
def test_behind_a_proxy_the_address_comes_only_from_a_trusted_one(tmp_path, trusted, forwarded_counts):
    """`voc serve` takes the client from X-Forwarded-For only when the peer is in FORWARDED_ALLOW_IPS."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "VOC_DATABASE_URL": f"sqlite:///{tmp_path / 'voc.db'}", "VOC_LOG_LEVEL": "WARNING",
           "VOC_PUBLIC_BURST": "2", "FORWARDED_ALLOW_IPS": trusted,
           # One a minute: no token comes back while the test runs, however slow the machine.
           "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "voc.cli", "serve", "--no-worker", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.1)

        def status(client: str) -> int:
            return httpx.get(f"{base}/login", headers={"X-Forwarded-For": client}).status_code

        assert [status("203.0.113.1") for _ in range(3)] == [200, 200, 429]
        assert status("203.0.113.2") == (200 if forwarded_counts else 429)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize(("peer", "counted_as"), [
    ("203.0.113.9", "203.0.113.9"), ("::ffff:203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:db8:1:2::99", "2001:db8:1:2::/64"),
    ("testclient", "testclient"),
])
def test_an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_by_itself(peer, counted_as):
    from voc.web.security import client_address

    assert client_address({"client": (peer, 1234)}) == counted_as
    assert client_address({}) == "unknown"
