"""The POST connects to the address the SSRF check approved while naming the real host: Host header,
TLS server name and certificate check (so DNS rebinding between check and connect gains nothing)."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpcore
import pytest

from tests.conftest import skip_or_fail
from voc.webhooks import transport


@pytest.fixture
def tls_receiver(tmp_path):
    if not shutil.which("openssl"):
        skip_or_fail("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=crm.test", "-addext", "subjectAltName=DNS:crm.test"],
                   check=True, capture_output=True)
    seen: dict[str, list[str]] = {"host": [], "sni": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen["host"].append(self.headers["host"])
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name) and None
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert, seen
    server.shutdown()
    server.server_close()


def test_https_is_pinned_to_the_vetted_address_and_checks_the_real_name(tls_receiver, monkeypatch):
    port, cert, seen = tls_receiver
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(transport, "_client", lambda scheme, host: httpcore.ConnectionPool(ssl_context=trusting))

    answer = transport.post(f"https://crm.test:{port}/hook", "127.0.0.1", b"{}", {}, 5)
    assert answer.status_code == 200 and answer.snippet == "ok"
    assert seen == {"host": [f"crm.test:{port}"], "sni": ["crm.test"]}

    # A name the certificate does not cover fails, even though the address is the same.
    wrong = transport.post(f"https://other.test:{port}/hook", "127.0.0.1", b"{}", {}, 5)
    assert wrong.status_code is None and "certificate verify failed" in wrong.error


def test_retry_after_as_seconds_or_a_date():
    assert transport.parse_retry_after("120") == 120
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert transport.parse_retry_after(later, now=now.timestamp()) == pytest.approx(90)
    assert transport.parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True),
                                       now=now.timestamp()) == 0
    assert transport.parse_retry_after("soon") is None and transport.parse_retry_after(None) is None
