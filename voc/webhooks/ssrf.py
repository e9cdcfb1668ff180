"""Refuse webhook URLs that would make voc call into its own network (SSRF)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from voc.errors import Invalid

Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALLOWED_SCHEMES = {"http": 80, "https": 443}

# Cloud instance-metadata services hand out credentials. No webhook receiver lives there, so
# these stay refused even with allow_private (which exists for loopback receivers in development).
_METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog",
    "instance-data", "instance-data.ec2.internal",
})
_METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle
    "169.254.170.2",    # AWS ECS task credentials
    "fd00:ec2::254",    # AWS IMDS over IPv6
    "100.100.100.200",  # Alibaba Cloud
))
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A last label made of digits or 0x-hex is an IPv4 address in a form the C resolver accepts
# ("127.1", "0x7f000001") but ipaddress does not; no real DNS name looks like that.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class UnsafeUrlError(Invalid):
    """A webhook URL voc will not call."""

    code = "url_invalid"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def check_url(url: str, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo) -> None:
    """Raise `UnsafeUrlError` unless `url` is an http(s) URL whose host resolves only to public addresses."""
    resolve_and_check(url, allow_private, resolve=resolve)


def resolve_and_check(url: str, allow_private: bool, *, resolve: Resolver = socket.getaddrinfo) -> list[str]:
    """Vet `url` like `check_url` and return the addresses it resolved to, for the sender to connect to."""
    # The sender calls this again at send time and connects to these addresses: DNS can change
    # between saving an endpoint and delivering to it (DNS rebinding).
    host, port = _parse(url)
    is_localhost = host == "localhost" or host.endswith(".localhost")
    if host in _METADATA_HOSTS or (is_localhost and not allow_private):
        raise UnsafeUrlError("url_private_address", f"{host} is an internal host name")
    try:
        addresses = [ipaddress.ip_address(host)]
        literal = True
    except ValueError:
        addresses = _resolve(host, port, resolve)
        literal = False
    for address in addresses:
        reason = _refusal(address, allow_private)
        if reason:
            where = f"{host} is" if literal else f"{host} resolves to {address},"
            raise UnsafeUrlError("url_private_address", f"{where} {reason}")
    return [str(a) for a in addresses]


def _parse(url: str) -> tuple[str, int]:
    if not isinstance(url, str) or not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UnsafeUrlError("url_invalid", "the URL is empty or contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError("url_invalid", f"the URL cannot be parsed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _ALLOWED_SCHEMES:
        raise UnsafeUrlError("url_scheme_not_allowed", "only http and https URLs are allowed")
    # Credentials in a URL end up in logs and delivery records; receivers take them as headers.
    if "@" in parts.netloc:
        raise UnsafeUrlError("url_invalid", "credentials in the URL are not allowed; use custom headers")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrlError("url_invalid", "the URL has no host")
    if "%" in host:
        raise UnsafeUrlError("url_invalid", "IPv6 zone identifiers are not allowed")
    default_port = _ALLOWED_SCHEMES[scheme]
    if ":" in host:  # only an IPv6 literal has a colon inside the brackets
        try:
            return str(ipaddress.IPv6Address(host)), port or default_port
        except ValueError:
            raise UnsafeUrlError("url_invalid", f"{host} is not a valid IPv6 address") from None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeUrlError("url_invalid", f"{host!r} is not a valid host name") from None
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise UnsafeUrlError("url_invalid", f"{host} is not a canonical IPv4 address") from None
    return host, port or default_port


def _resolve(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError("url_unresolvable", f"{host} cannot be resolved: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # sockaddr[0] is the address; an IPv6 one may carry a %scope suffix.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrlError("url_unresolvable", f"{host} resolves to no address")
    return addresses


def _refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why voc must not connect to `address`, or None when it may."""
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = _refusal(embedded, allow_private)
        return f"{reason} ({embedded})" if reason else None
    if allow_private:
        return None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address in _SHARED_ADDRESS_SPACE, "a carrier-grade NAT address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        # Catch-all for special ranges the named checks miss (documentation, benchmarking...).
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form routes to, so ::ffff:127.0.0.1 counts as loopback."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None
