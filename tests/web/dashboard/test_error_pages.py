"""Errors on dashboard addresses are pages a person can read and leave (404, 403); the API keeps its JSON."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("signed_in", [True, False])
def test_an_unknown_dashboard_address_is_a_page_with_a_way_back(client, login, signed_in):
    if signed_in:
        login("viewer")
    answer = client.get("/dashboard/nope", follow_redirects=False)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in answer.text and 'href="/dashboard"' in answer.text
    assert not answer.text.lstrip().startswith("{")


def test_an_unknown_dashboard_address_asked_by_htmx_is_a_short_text(client, login):
    login("viewer")
    answer = client.get("/dashboard/settings/nope/deeper", headers={"HX-Request": "true"})
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/plain")
    assert "<html" not in answer.text


def test_a_method_a_dashboard_address_does_not_take_is_a_page_too(client, login):
    login("admin")
    answer = client.delete("/dashboard/settings/keys")
    assert answer.status_code == 405 and answer.headers["content-type"].startswith("text/html")


def test_the_api_keeps_its_json_errors(client, admin_headers):
    for headers in ({}, admin_headers):
        answer = client.get("/api/v1/nope", headers=headers)
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == "not_found"


def test_a_viewer_at_an_admin_page_gets_a_page_saying_so(client, login):
    login("viewer")
    answer = client.get("/dashboard/audit")
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert "<h1>Not allowed</h1>" in answer.text and "admin role" in answer.text
    assert 'href="/dashboard"' in answer.text


def test_something_missing_behind_a_dashboard_address_is_a_404_page(client, login):
    login("viewer")
    answer = client.get("/dashboard/settings/webhooks/424242")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "424242" in answer.text and 'href="/dashboard"' in answer.text


def test_a_form_sent_without_a_field_it_needs_is_a_page_naming_the_field(client, login):
    from tests.conftest import csrf_of

    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"email": "someone@example.com", "csrf_token": token})
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "password: Field required" in answer.text and 'href="/dashboard"' in answer.text
    assert not answer.text.lstrip().startswith("{")
    login("admin")
    page = client.get("/dashboard/contacts/CUS-1")
    asked = client.post("/dashboard/contact-export", data={"csrf_token": csrf_of(page.text)},
                        headers={"HX-Request": "true"})
    assert asked.status_code == 422 and asked.headers["content-type"].startswith("text/plain")
    assert "external_id: Field required" in asked.text


def test_the_api_keeps_its_json_for_a_body_it_cannot_use(client, admin_headers):
    answer = client.post("/api/v1/touchpoints", headers=admin_headers, json={"name": "no key"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
