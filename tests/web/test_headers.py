"""Headers and cookies: HSTS and Secure cookies whenever voc is served over https, no-store on what holds
customer data, and a CSP that allows exactly one file from the CDN (or none with VOC_HTMX_SOURCE=local)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import csrf_of
from voc.config import get_settings
from voc.web.templating import HTMX_CDN, HTMX_INTEGRITY

HSTS = "max-age=31536000; includeSubDomains"


def _app(engine, monkeypatch, **settings: str):  # noqa: ANN001, ANN202
    from voc.app import create_app

    for name, value in settings.items():
        monkeypatch.setenv(f"VOC_{name.upper()}", value)
    get_settings.cache_clear()
    return create_app(engine=engine)


def _sign_in(client: TestClient, email: str, password: str):  # noqa: ANN202
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


@pytest.mark.parametrize("env", ["development", "test"])
def test_an_https_base_url_turns_on_hsts_and_secure_cookies_in_any_env(engine, monkeypatch, make_user, env):
    app = _app(engine, monkeypatch, base_url="https://voc.example", env=env)
    email, password = make_user("viewer")
    with TestClient(app, base_url="https://testserver") as client:
        for path in ("/login", "/healthz", "/static/css/voc.css", "/docs", "/api/v1/surveys"):
            assert client.get(path).headers["strict-transport-security"] == HSTS, path
        signed_in = _sign_in(client, email, password)
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].lower()
        assert "voc_session=" in cookie and "; secure" in cookie and "httponly" in cookie
        assert client.get("/dashboard").status_code == 200


def test_an_http_base_url_gets_neither_even_in_production(engine, monkeypatch, make_user):
    app = _app(engine, monkeypatch, base_url="http://voc.internal:8000", env="production")
    email, password = make_user("viewer")
    with TestClient(app) as client:
        assert "strict-transport-security" not in client.get("/login").headers
        signed_in = _sign_in(client, email, password)
        assert signed_in.status_code == 303 and "secure" not in signed_in.headers["set-cookie"].lower()


def test_dashboard_pages_and_customer_data_are_never_stored(client, login, admin_headers):
    login("admin")
    for path in ("/dashboard", "/dashboard/responses", "/dashboard/responses.csv", "/dashboard/settings", "/login"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store", path
    for path in ("/api/v1/responses", "/api/v1/responses/1", "/api/v1/contacts/CUS-1/experience"):
        answer = client.get(path, headers=admin_headers)
        assert answer.headers["cache-control"] == "no-store", (path, answer.status_code)
    for path in ("/static/css/voc.css", "/healthz"):
        assert "no-store" not in client.get(path).headers.get("cache-control", ""), path
    assert "no-store" not in client.get("/api/v1/surveys", headers=admin_headers).headers.get("cache-control", "")


def test_the_csp_allows_exactly_the_htmx_file_of_the_cdn(client):
    page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert f"script-src 'self' {HTMX_CDN};" in csp
    assert "https://unpkg.com;" not in csp and "https://unpkg.com " not in csp
    # The loader gets the CDN file (with its integrity hash), the vendored copy, and the timeout.
    assert f'data-htmx-cdn="{HTMX_CDN}"' in page.text and f'data-htmx-integrity="{HTMX_INTEGRITY}"' in page.text
    assert 'data-htmx-timeout="3000"' in page.text and "/static/vendor/htmx.min.js" in page.text
    assert "<script>" not in page.text  # no inline script: the CSP needs no nonce or hash


def test_htmx_served_by_voc_only(engine, monkeypatch):
    app = _app(engine, monkeypatch, htmx_source="local")
    with TestClient(app) as client:
        page = client.get("/login")
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert "unpkg" not in page.headers["content-security-policy"] and "unpkg" not in page.text
        assert '<script src="http://testserver/static/vendor/htmx.min.js" defer></script>' in page.text
        vendored = client.get("/static/vendor/htmx.min.js")
        assert vendored.status_code == 200 and "htmx" in vendored.text


def test_an_unknown_htmx_source_is_refused(monkeypatch):
    monkeypatch.setenv("VOC_HTMX_SOURCE", "jsdelivr")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="htmx_source"):
        get_settings()
