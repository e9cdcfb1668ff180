"""Signing in to the dashboard: who may see and change what."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_of
from tests.routes import every_route
from voc.web.dashboard import PAGES  # noqa: F401 - the page list the routes come from

PAGES_TO_GUARD = ["/dashboard", "/dashboard/journey", "/dashboard/experience", "/dashboard/responses",
                  "/dashboard/contacts/CUS-1", "/dashboard/themes", "/dashboard/followups", "/dashboard/surveys",
                  "/dashboard/settings"]


@pytest.mark.parametrize("path", PAGES_TO_GUARD)
def test_anonymous_visitors_are_sent_to_login(client, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    htmx = client.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")


def test_every_api_route_refuses_an_anonymous_caller(client, app):
    public = {("POST", "/api/v1/responses")}  # the survey token is the credential
    checked = set()
    for path, methods in every_route(app):
        if not path.startswith("/api/"):
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            if (method, path) in public:
                continue
            concrete = path.replace("{", "").replace("}", "")
            answer = client.request(method, concrete)
            assert answer.status_code == 401, (method, path, answer.status_code)
            checked.add((method, path))
    assert {("POST", "/api/v1/events"), ("DELETE", "/api/v1/contacts/{external_id}")} <= checked  # found the API


def test_sign_in_then_out_everywhere(client, make_user):
    email, password = make_user("viewer")
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"email": email, "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    ok = client.post("/login", data={"email": email.upper(), "password": password, "csrf_token": token,
                                     "next": "/dashboard/themes"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/themes"
    cookie = client.cookies.get("voc_session")
    assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=lax" in ok.headers["set-cookie"].lower()
    page = client.get("/dashboard")
    assert page.status_code == 200 and email in page.text
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("voc_session", cookie)  # an old cookie no longer works after sign-out
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_no_open_redirect_after_sign_in(client, make_user):
    email, password = make_user("viewer")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                         "next": "https://evil.example/"}, follow_redirects=False)
    assert answer.headers["location"] == "/dashboard"


def test_after_five_failures_the_next_try_from_that_address_must_wait(client, make_user):
    email, password = make_user("admin")
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        assert client.post("/login", data={"email": email, "password": "bad", "csrf_token": token}).status_code == 401
    slowed = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert slowed.status_code == 429 and "try again" in slowed.text and int(slowed.headers["retry-after"]) >= 1


def test_state_changes_need_the_csrf_token(client, login):
    login("admin")
    refused = client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403 and "expired" in refused.text
    forged = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403


def test_login_form_itself_needs_the_token(client, make_user):
    email, password = make_user("admin")
    assert client.post("/login", data={"email": email, "password": password}).status_code == 403
