"""Allowed origins: normalised as browsers write them, and nothing that could break a CSP header."""

from __future__ import annotations

import pytest

from voc.config import get_settings
from voc.embed.origins import normalise_origin, normalise_origins
from voc.errors import Invalid


@pytest.mark.parametrize(("given", "stored"), [
    ("https://shop.example.com", "https://shop.example.com"),
    ("HTTPS://Shop.Example.COM/", "https://shop.example.com"),
    ("https://shop.example.com:443", "https://shop.example.com"),
    ("https://shop.example.com:8443", "https://shop.example.com:8443"),
    ("http://localhost:3000", "http://localhost:3000"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://app.localhost", "http://app.localhost"),
    ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ("  https://shop.example.com  ", "https://shop.example.com"),
])
def test_valid_origins_are_normalised(given: str, stored: str) -> None:
    assert normalise_origin(given) == stored


@pytest.mark.parametrize("given", [
    "https://shop.example.com; script-src *",  # CSP injection
    "https://shop.example.com https://evil.example",  # a second source smuggled in
    "https://shop.example.com,https://evil.example",
    "'self'", "'none'", "*", "https://*.example.com", "https://*", "null", "data:", "javascript:alert(1)",
    "https://shop.example.com/path", "https://shop.example.com/?q=1", "https://shop.example.com#x",
    "https://user@shop.example.com", "shop.example.com", "//shop.example.com", "ftp://shop.example.com",
    "https://shop.example.com:0", "https://shop.example.com:99999", "https://shop..example.com",
    "https://-shop.example.com", "https://shop.example.com.", "https://bücher.example", 'https://a"b.example',
    "https://shop.example.com\r\nX-Evil: 1", "http://shop.example.com",
    "https://[::1]", "https://256.1.1.1", "https://1.2.3", "",
])
def test_unsafe_or_malformed_origins_are_refused(given: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalise_origin(given)
    assert caught.value.code == "invalid_origin"


def test_plain_http_for_any_host_only_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOC_ENV", "development")
    get_settings.cache_clear()
    assert normalise_origin("http://staging.example.com") == "http://staging.example.com"
    monkeypatch.setenv("VOC_ENV", "production")
    monkeypatch.setenv("VOC_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    with pytest.raises(Invalid):
        normalise_origin("http://staging.example.com")
    assert normalise_origin("http://localhost:3000") == "http://localhost:3000"


def test_a_list_is_deduplicated_in_order_and_not_empty() -> None:
    assert normalise_origins(["https://b.example", "https://a.example", "HTTPS://B.example/"]) == [
        "https://b.example", "https://a.example"]
    with pytest.raises(Invalid):
        normalise_origins([])
