"""Webhook URLs that point into voc's own network are refused; a fake resolver stands in for DNS."""

from __future__ import annotations

import socket

import pytest

from voc.webhooks.ssrf import UnsafeUrlError, check_url, resolve_and_check


def resolver(*addresses: str):
    """A getaddrinfo stand-in answering every name with `addresses`, recording the queries."""
    queries: list[tuple[str, int]] = []

    def resolve(host, port, **kwargs):
        queries.append((host, port))
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    resolve.queries = queries
    return resolve


def failing_resolver(host, port, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def refusal(url, *, allow_private=False, resolve=None):
    with pytest.raises(UnsafeUrlError) as caught:
        check_url(url, allow_private=allow_private, resolve=resolve or resolver("93.184.216.34"))
    assert caught.value.status_code == 422
    return caught.value


def test_public_https_url_passes_and_returns_every_resolved_address():
    resolve = resolver("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34")
    addresses = resolve_and_check("https://crm.example.com/hooks/voc?x=1", False, resolve=resolve)
    assert addresses == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert resolve.queries == [("crm.example.com", 443)]
    check_url("http://crm.example.com:8080/", allow_private=False, resolve=resolve)
    assert resolve.queries[-1] == ("crm.example.com", 8080)


@pytest.mark.parametrize(
    "url", ["ftp://crm.example.com/", "file:///etc/passwd", "gopher://x/", "crm.example.com"]
)
def test_only_http_and_https(url):
    assert refusal(url).code == "url_scheme_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "https://",
        "https:///path",
        "https://user:secret@crm.example.com/",
        "https://token@crm.example.com/",
        "https://crm.example.com:99999/",
        "https://crm.exa mple.com/",
        "https://crm.example.com/\r\nX-Injected: 1",
        "http://[::1",
        "http://127.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://[fe80::1%25eth0]/",
        "",
    ],
)
def test_malformed_urls_and_credentials_are_invalid(url):
    assert refusal(url).code == "url_invalid"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "::1",             # loopback
        "10.1.2.3", "172.16.0.1", "192.168.1.10",     # RFC 1918
        "fc00::1", "fd12:3456::1",                    # unique local
        "169.254.10.1", "fe80::1",                    # link-local
        "169.254.169.254", "fd00:ec2::254",           # cloud metadata
        "0.0.0.0", "::",  # noqa: S104              # unspecified
        "224.0.0.1", "ff02::1",                       # multicast
        "240.0.0.1", "255.255.255.255",               # reserved, broadcast
        "100.64.0.1", "100.127.255.254",              # carrier-grade NAT
        "::ffff:127.0.0.1", "::ffff:10.0.0.1",        # IPv4-mapped IPv6
        "::ffff:169.254.169.254", "64:ff9b::a00:1",   # mapped metadata, NAT64 of 10.0.0.1
        "2002:c0a8:101::1",                           # 6to4 of 192.168.1.1
        "192.0.2.1", "198.18.0.1",                    # documentation, benchmarking
    ],
)
def test_names_resolving_to_internal_addresses_are_refused(address):
    error = refusal("https://crm.example.com/", resolve=resolver(address))
    assert error.code == "url_private_address"
    assert "crm.example.com" in error.message


def test_one_internal_address_among_public_ones_is_enough_to_refuse():
    error = refusal("https://crm.example.com/", resolve=resolver("93.184.216.34", "10.0.0.7"))
    assert error.code == "url_private_address"
    assert "10.0.0.7" in error.message and "private" in error.message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "http://[::1]/", "http://[::ffff:7f00:1]/", "http://10.0.0.1/"]
)
def test_ip_literals_are_checked_without_dns(url):
    def no_dns(*args, **kwargs):
        raise AssertionError("an IP literal must not be looked up")

    assert refusal(url, resolve=no_dns).code == "url_private_address"


@pytest.mark.parametrize(
    "url",
    ["http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.google.internal./",
     "http://localhost:8000/", "http://api.localhost/"],
)
def test_internal_host_names_are_refused_before_resolving(url):
    assert refusal(url, resolve=resolver("93.184.216.34")).code == "url_private_address"


def test_unresolvable_host():
    assert refusal("https://nowhere.invalid/", resolve=failing_resolver).code == "url_unresolvable"
    assert refusal("https://empty.example/", resolve=resolver()).code == "url_unresolvable"


def test_allow_private_lets_development_receivers_through():
    loopback = resolver("127.0.0.1")
    assert resolve_and_check("http://localhost:9000/hook", True, resolve=loopback) == ["127.0.0.1"]
    assert resolve_and_check("http://10.0.0.5/hook", True, resolve=resolver()) == ["10.0.0.5"]
    check_url("http://receiver.internal/", allow_private=True, resolve=resolver("192.168.1.20", "fd00::5"))


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"])
def test_cloud_metadata_stays_refused_even_with_allow_private(address):
    error = refusal("http://crm.example.com/", allow_private=True, resolve=resolver(address))
    assert error.code == "url_private_address" and "metadata" in error.message
    assert refusal("http://metadata.google.internal/", allow_private=True).code == "url_private_address"


def test_public_ipv6_transition_forms_of_public_addresses_pass():
    assert check_url("http://[64:ff9b::808:808]/", allow_private=False, resolve=resolver()) is None
