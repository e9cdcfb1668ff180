"""A CDN that never answers must not leave customers without htmx: after 3 s the page loads voc's own copy,
and htmx works (a step of the survey is swapped in place) well within 5 s; with VOC_HTMX_SOURCE=local no
request leaves for the CDN at all."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories as f
from tests.browser.helpers import LiveServer, wait_for_htmx_started
from tests.conftest import TEST_SECRET
from voc import models as _every_table  # noqa: F401 - invitation.site_id refers to site: its model must be known
from voc.config import get_settings
from voc.db import make_engine
from voc.web.templating import HTMX_CDN, HTMX_VERSION

pytestmark = pytest.mark.browser


def _survey_link(engine: Engine) -> str:
    key = uuid.uuid4().hex[:10]  # the live server outlives the test: nothing may collide
    with Session(engine) as session:
        f.touchpoint(session, key=f"tp-{key}")
        f.survey(session, key=f"s-{key}", touchpoint=f"tp-{key}")
        outcome = f.event(session, event_id=f"evt-{key}", touchpoint=f"tp-{key}", contact=f"crm-{key}")
        session.commit()
    assert outcome.invitation is not None, outcome
    return outcome.invitation.url


def test_htmx_comes_from_voc_when_the_cdn_never_answers(page: Any, live_engine: Engine):
    url = _survey_link(live_engine)
    held: list[Any] = []
    page.route(HTMX_CDN, lambda route: held.append(route))  # taken, never answered: it hangs like a dead CDN
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))

    started = time.monotonic()
    page.goto(url, wait_until="domcontentloaded")
    wait_for_htmx_started(page)
    took = time.monotonic() - started
    assert 2.5 < took < 5, f"htmx was ready after {took:.1f} s"
    assert held and page.evaluate("() => window.htmx.version") == HTMX_VERSION
    assert any(r.url.endswith("/static/vendor/htmx.min.js") for r in requests)

    # htmx works: the next step replaces the card in place (an htmx request), the page is not reloaded.
    page.evaluate("() => { window.samePage = true; }")
    page.get_by_role("radio", name="9", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Question 2", exact=True)).to_be_visible()
    posted = [r for r in requests if r.method == "POST"]
    assert posted and posted[-1].headers.get("hx-request") == "true"
    assert page.evaluate("() => window.samePage") is True
    assert page.evaluate("() => document.querySelectorAll('script[src*=\"unpkg.com\"]').length") == 0


def test_a_cdn_copy_that_arrives_in_time_is_used_alone(page: Any, live_engine: Engine):
    """The CDN answers after 1 s, inside the 3 s: the vendored copy is never fetched."""
    from voc.resources import resource_dir

    body = (resource_dir("static") / "vendor" / "htmx.min.js").read_bytes()

    def slow(route: Any) -> None:
        time.sleep(1)
        route.fulfill(body=body, content_type="text/javascript", headers={"access-control-allow-origin": "*"})

    page.route(HTMX_CDN, slow)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(_survey_link(live_engine))
    wait_for_htmx_started(page)
    page.wait_for_timeout(3_000)  # past the timer: it must not load the vendored copy after all
    assert not any(u.endswith("/static/vendor/htmx.min.js") for u in requests)
    page.get_by_role("radio", name="7", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Question 2", exact=True)).to_be_visible()


def test_with_htmx_source_local_no_request_leaves_for_the_cdn(page: Any, tmp_path: Any, monkeypatch: Any):
    server = LiveServer(tmp_path, {"VOC_ENV": "test", "VOC_SECRET_KEY": TEST_SECRET, "VOC_HTMX_SOURCE": "local"})
    try:
        server.wait_until_ready()
        monkeypatch.setenv("VOC_DATABASE_URL", server.database_url)
        monkeypatch.setenv("VOC_BASE_URL", server.url)
        get_settings.cache_clear()
        engine = make_engine(server.database_url)
        try:
            url = _survey_link(engine)
        finally:
            engine.dispose()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        wait_for_htmx_started(page)
        page.get_by_role("radio", name="3", exact=True).check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("Question 2", exact=True)).to_be_visible()
        assert not [u for u in requests if not u.startswith(server.url)], requests
    finally:
        server.stop()
