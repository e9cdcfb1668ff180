"""`voc serve` as a newcomer meets it: the process answers health checks and documents the contract."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

CONTRACT = [
    ("post", "/api/v1/touchpoints"), ("get", "/api/v1/touchpoints"), ("post", "/api/v1/surveys"),
    ("get", "/api/v1/surveys"), ("get", "/api/v1/surveys/{key}"), ("patch", "/api/v1/surveys/{key}"),
    ("post", "/api/v1/events"), ("post", "/api/v1/responses"), ("get", "/api/v1/responses"),
    ("get", "/api/v1/responses/{response_id}"), ("get", "/api/v1/contacts/{external_id}/experience"),
    ("get", "/api/v1/metrics"), ("post", "/api/v1/webhooks"), ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/healthz".replace("/api/v1", "")), ("get", "/readyz"), ("get", "/metrics"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_health_and_lists_the_contract(tmp_path):
    port = _free_port()
    env = {**os.environ, "VOC_DATABASE_URL": f"sqlite:///{tmp_path / 'voc.db'}", "VOC_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "voc.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.terminate()  # first: reading the error output of a live process never ends
                    errors = process.communicate(timeout=10)[1].decode()
                    raise AssertionError(f"voc serve did not answer: {errors}") from None
                time.sleep(0.1)
        assert health.status_code == 200
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        assert "voc_responses_total 0" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/docs").status_code == 200
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        missing = [(method, path) for method, path in CONTRACT if method not in paths.get(path, {})]
        assert missing == []
        assert "deliveries" in "".join(paths)  # webhook deliveries and replay
    finally:
        process.terminate()
        process.wait(timeout=10)
