"""Allowed embedding origins: strict `scheme://host[:port]`, safe to put in a CSP header as they are.

An origin here ends up verbatim in `Content-Security-Policy: frame-ancestors …` and is compared with
the browser's `Origin` header for CORS, so it is normalised the way browsers write origins (lower case,
no default port, no trailing slash) and holds nothing but letters, digits, dots, hyphens and one colon
before the port: no spaces, semicolons, commas, quotes or wildcards can reach the header.

https is required, except for loopback hosts (localhost, *.localhost, 127.0.0.1), which browsers treat as
secure contexts; with VOC_ENV=development any host may use http (a laptop on a LAN, a staging box).
"""

from __future__ import annotations

import re

from voc.config import get_settings
from voc.errors import Invalid

_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<host>[a-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
MAX_ORIGINS = 50


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


def normalise_origin(value: str) -> str:
    """The origin as browsers write it, or `Invalid` with the reason (never a CSP-unsafe string)."""
    raw = value.strip()
    if raw.endswith("/") and raw.count("/") == 3:  # "https://example.com/" pasted from the address bar
        raw = raw[:-1]
    match = _ORIGIN.fullmatch(raw.lower())
    if match is None:
        raise Invalid(f"{value!r} is not an origin: write scheme://host[:port] (no path, wildcard, space or quote)",
                      code="invalid_origin")
    scheme, host, port = match["scheme"], match["host"], match["port"]
    is_name = (len(host) <= 253 and all(_LABEL.fullmatch(part) for part in host.split("."))
               and not host.rsplit(".", 1)[-1].isdigit())  # browsers read all-digit endings as IPv4
    if not (_IPV4.fullmatch(host) or is_name):
        raise Invalid(f"{value!r}: {host!r} is not a valid host name (use its punycode form for IDNs)",
                      code="invalid_origin")
    if port is not None and not 0 < int(port) < 65536:
        raise Invalid(f"{value!r}: the port must be between 1 and 65535", code="invalid_origin")
    if scheme == "http" and not _is_loopback(host) and get_settings().env != "development":
        raise Invalid(f"{value!r}: use https (plain http is allowed only for localhost and 127.0.0.1)",
                      code="invalid_origin")
    if port is not None and int(port) == _DEFAULT_PORTS[scheme]:
        port = None
    return f"{scheme}://{host}" + (f":{int(port)}" if port is not None else "")


def normalise_origins(values: list[str]) -> list[str]:
    """Every origin normalised, duplicates dropped, order kept; at least one, at most MAX_ORIGINS."""
    if not values:
        raise Invalid("at least one allowed origin is needed", code="invalid_origin")
    if len(values) > MAX_ORIGINS:
        raise Invalid(f"at most {MAX_ORIGINS} allowed origins", code="invalid_origin")
    return list(dict.fromkeys(normalise_origin(v) for v in values))
