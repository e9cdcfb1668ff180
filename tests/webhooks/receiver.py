"""A real webhook receiver on loopback: verifies each message with the `standardwebhooks` package
(as a CRM integration would) and records it; it can be told how to answer, stopped and restarted."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    msg_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None
    at: float
    status: int
    method: str = "POST"
    path: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


# (received so far, this request) -> (status, headers, body) to answer with
Responder = Callable[[list[Received], dict[str, str]], tuple[int, dict[str, str], bytes]]


def always_ok(_seen: list[Received], _headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, b'{"ok":true}'


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    responder: Responder = always_ok
    port: int = 0
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds to sit on each request (for timeouts)
    host: str = "127.0.0.1"  # "::1": listen on IPv6's loopback instead

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        self._open = 0  # connections accepted and not yet finished with (their requests not all recorded)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/hooks/voc"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver._handle(self, body)

            do_PUT = do_PATCH = do_POST  # noqa: N815 - endpoints may send with PUT or PATCH

            def log_message(self, *args: Any) -> None:
                pass

        connections = self._connections

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

            def get_request(self):  # noqa: ANN202 - remember each connection, to cut it on stop()
                sock, address = super().get_request()
                # Headers and body go out in two writes: without NODELAY, Nagle's algorithm and the
                # client's delayed ACK hold the body back for tens of milliseconds.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connections.add(sock)
                with receiver._arrived:
                    receiver._open += 1
                return sock, address

            def shutdown_request(self, request) -> None:  # noqa: ANN001 - its handler thread is done with it
                super().shutdown_request(request)
                with receiver._arrived:
                    receiver._open -= 1
                    receiver._arrived.notify_all()

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until `start()` again (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            # Kept-alive connections would otherwise go on being served by their handler threads.
            for sock in list(self._connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._connections.clear()

    def _handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified, error = False, None
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                verified, error = True, None
                break
            except WebhookVerificationError as exc:
                error = str(exc)
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            status, extra, answer = self.responder(list(self.received), headers) if verified else \
                (401, {}, f'{{"error":"{error}"}}'.encode())
            self.received.append(Received(headers.get("webhook-id", ""), headers, body, verified, error,
                                          time.time(), status, request.command, request.path))
            self._arrived.notify_all()
        try:
            request.send_response(status)
            for name, value in extra.items():
                request.send_header(name, value)
            request.send_header("content-length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
        except OSError:
            pass  # the sender gave up (timeout) before the answer

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until every connection accepted so far is closed and its requests recorded (the senders
        have hung up); False if that took longer than `timeout`."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._open == 0, timeout)

    def wait_for(self, count: int, timeout: float = 10.0, *, distinct: bool = False,
                 verified_only: bool = True) -> list[Received]:
        """Block until `count` messages (distinct webhook-ids with `distinct`) have arrived."""
        deadline = time.monotonic() + timeout

        def enough() -> bool:
            items = [r for r in self.received if r.verified or not verified_only]
            seen = {r.msg_id for r in items} if distinct else items
            return len(seen) >= count

        with self._arrived:
            while not enough():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.received)
