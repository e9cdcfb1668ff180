"""Settings in a real Chromium: a change lands on a page (a reload sends nothing again), a new key shows
once, and an endpoint's delivery log follows a pending delivery by itself until it settles."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, update
from sqlmodel import Session

from tests.browser.helpers import PageLog, assert_no_serious_a11y_violations, wait_for_htmx_started
from voc.auth.models import ApiKey
from voc.config import get_settings
from voc.db import reading, session_scope
from voc.webhooks import endpoints
from voc.webhooks.models import MessageStatus, WebhookMessage
from voc.webhooks.schemas import EndpointCreate

pytestmark = pytest.mark.browser


def test_a_new_key_shows_once_and_a_reload_sends_nothing_again(signed_in, live_server, live_engine,
                                                                 page_log: PageLog):
    name = f"CRM sync {uuid.uuid4().hex[:8]}"
    page = signed_in()
    page.goto(f"{live_server.url}/dashboard/settings")
    expect(page).to_have_url(f"{live_server.url}/dashboard/settings/keys")
    expect(page.get_by_role("link", name="API keys")).to_have_attribute("aria-current", "page")
    page.get_by_label("Name").fill(name)
    page.get_by_label("surveys:read").check()
    page.get_by_role("button", name="Create key").click()

    expect(page).to_have_url(f"{live_server.url}/dashboard/settings/keys")  # a GET page, after the redirect
    expect(page.locator("#new-key")).to_have_value(re.compile(r"^voc_"))
    page.reload()  # a GET: nothing is sent again, and the key is not shown again
    expect(page.get_by_role("rowheader", name=re.compile(re.escape(name)))).to_be_visible()
    expect(page.locator("#new-key")).to_have_count(0)
    with Session(reading(live_engine)) as session:
        assert session.scalar(select(func.count(ApiKey.id)).where(ApiKey.name == name)) == 1

    for section in ("Webhooks and CRM", "Users", "Sites"):
        page.get_by_role("navigation", name="Settings").get_by_role("link", name=section).click()
        expect(page.get_by_role("link", name=section)).to_have_attribute("aria-current", "page")
    assert page_log.dialogs == []


def test_the_delivery_log_follows_a_pending_delivery_until_it_settles(signed_in, live_server, live_engine,
                                                                      monkeypatch):
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")  # saved here; the server (no worker) sends nothing
    get_settings.cache_clear()
    with session_scope(live_engine) as session:
        endpoint, _ = endpoints.create_endpoint(session, EndpointCreate(
            url="http://127.0.0.1:9/hook", event_types=["response.completed"], description="log test"))
        endpoint_id = endpoint.id
    page = signed_in()
    address = f"{live_server.url}/dashboard/settings/webhooks/{endpoint_id}"
    page.goto(address)
    page.get_by_role("button", name="Send test event").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(address)}(#deliveries)?$"))
    log = page.locator("#deliveries")
    expect(log.locator("tbody .badge")).to_have_text("Pending")
    expect(log).to_have_attribute("hx-trigger", "every 2s")
    wait_for_htmx_started(page)
    assert_no_serious_a11y_violations(page)
    page.evaluate("() => { window.sameDocument = true }")  # gone if the page reloads

    with session_scope(live_engine) as session:
        session.execute(update(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
                        .values(status=MessageStatus.delivered, attempts=1, last_status_code=200))
    expect(log.locator("tbody .badge")).to_have_text("Delivered", timeout=10_000)
    expect(log).not_to_have_attribute("hx-trigger", "every 2s")  # settled: the log stops asking
    assert page.evaluate("() => window.sameDocument") is True
