"""The HTTP request of a webhook (POST, PUT or PATCH), to the address the SSRF check approved, never
following redirects."""

from __future__ import annotations

import email.utils
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC

import httpx

SNIPPET_BYTES = 1024
MAX_CLIENTS = 64

_clients: OrderedDict[tuple[str, str], httpx.Client] = OrderedDict()
_lock = threading.Lock()


@dataclass
class Answer:
    status_code: int | None = None
    latency_ms: int | None = None
    snippet: str | None = None
    retry_after: float | None = None
    location: str | None = None
    error: str | None = None  # no HTTP answer: refused, reset, timed out
    content: bytes = b""  # the first `read_limit` bytes of the answer (a CRM's JSON is read whole)


def _client(scheme: str, host: str) -> httpx.Client:
    # Connections are pooled by (scheme, address, port). Pinning the address would let two host names
    # behind one address share a TLS connection made for the other's name, so each name gets a client.
    key = (scheme, host)
    with _lock:
        client = _clients.pop(key, None)
        if client is None:
            # trust_env=False: an HTTP(S)_PROXY from the environment would connect to the name itself,
            # around the address check.
            client = httpx.Client(follow_redirects=False, trust_env=False,
                                  limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
        _clients[key] = client
        while len(_clients) > MAX_CLIENTS:
            _clients.popitem(last=False)[1].close()
        return client


def close_clients() -> None:
    """Close every pooled connection (tests, shutdown)."""
    with _lock:
        while _clients:
            _clients.popitem()[1].close()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def post(url: str, address: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to `url`, connecting to `address` (vetted), and read at most the first 1 KB back."""
    return send("POST", url, address, body, headers, timeout)


def send(method: str, url: str, address: str, body: bytes, headers: dict[str, str], timeout: float, *,
         read_limit: int = SNIPPET_BYTES) -> Answer:
    """Send `body` with `method` to `url`, connecting to `address` (vetted); read at most `read_limit` bytes back."""
    target = httpx.URL(url)
    pinned = target.copy_with(host=address)
    # The request still names the real host: Host header, and TLS server name and certificate check.
    # identity: the snippet is read raw, and a compressed answer could be a decompression bomb.
    headers = {**headers, "host": target.netloc.decode("ascii"), "accept-encoding": "identity"}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    limit = max(read_limit, SNIPPET_BYTES)
    started = time.perf_counter()
    try:
        with _client(target.scheme, target.host).stream(method, pinned, content=body, headers=headers,
                                                         timeout=timeout, extensions=extensions) as response:
            content = bytearray()
            for chunk in response.iter_raw():
                content += chunk
                if len(content) >= limit:
                    break
            latency = _millis(started)
            return Answer(status_code=response.status_code, latency_ms=latency,
                          snippet=bytes(content[:SNIPPET_BYTES]).decode("utf-8", "replace"),
                          retry_after=parse_retry_after(response.headers.get("retry-after")),
                          location=response.headers.get("location") if response.is_redirect else None,
                          content=bytes(content[:limit]))
    except httpx.TimeoutException:
        return Answer(latency_ms=_millis(started), error=f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Answer(latency_ms=_millis(started), error=f"{type(exc).__name__}: {exc}"[:1000])


def _millis(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
