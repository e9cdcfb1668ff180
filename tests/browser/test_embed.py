"""The embed widget in a real Chromium, on a shop page served from another origin (http://localhost:<port>,
while voc is http://127.0.0.1:<port>): the survey opens in the iframe, is answered and stored with the
right contact; a wrong signature shows nothing and stores nothing; with voc unreachable the shop page
still works and nothing uncaught is logged."""

from __future__ import annotations

import html
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories as f
from tests.browser.helpers import PageLog, assert_no_serious_a11y_violations, free_port
from tests.browser.test_survey_page import SMALL_TEXT
from voc.api.embed import loader_script
from voc.db import reading
from voc.embed.schemas import SiteCreate
from voc.embed.sites import create_site, sign_contact
from voc.surveys.models import Contact, Invitation, Response

pytestmark = pytest.mark.browser

THANK_YOU = "Thanks from the widget."
QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "How likely are you to recommend the shop?", "required": True}]
# Runs first on the shop page: the stub that keeps early voc(...) calls, a record of anything uncaught,
# and the window's own property names, to find any global the loader adds.
HEAD = """<script>
window.voc = window.voc || function () { (voc.q = voc.q || []).push(arguments); };
window.shopErrors = [];
addEventListener("error", function (e) { shopErrors.push("error: " + e.message); });
addEventListener("unhandledrejection", function (e) { shopErrors.push("rejection: " + e.reason); });
window.shopGlobals = Object.getOwnPropertyNames(window);
</script>"""
BODY = """<main><h1>Shop</h1>
<button type="button" id="buy" onclick="this.textContent = 'Added to basket'">Add to basket</button>
<div id="feedback"></div></main>"""


@dataclass
class Shop:
    """A tiny web server on another origin than voc, serving the pages a test puts in `pages`."""

    origin: str
    pages: dict[str, bytes] = field(default_factory=dict)

    def page(self, path: str, script: str, extra: str = "") -> str:
        self.pages[path] = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title>'
                            f"{HEAD}{script}</head><body>{BODY}{extra}</body></html>").encode()
        return self.origin + path


@pytest.fixture
def shop() -> Iterator[Shop]:
    port = free_port()
    shop = Shop(f"http://localhost:{port}")
    shop.pages["/embed.js"] = loader_script()[0]  # a copy of the loader, for when voc itself is down

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = shop.pages.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            kind = "text/javascript" if self.path.endswith(".js") else "text/html"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield shop
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Widget:
    site: str
    secret: str
    survey: str
    title: str

    def tag(self, src: str, contact: str | None = None, signature: str | None = None, **data: str) -> str:
        attributes = {"site": self.site, "contact": contact, "signature": signature, **data}
        rendered = " ".join(f'data-voc-{name}="{html.escape(value)}"' for name, value in attributes.items() if value)
        return f'<script async src="{html.escape(src)}" {rendered}></script>'


@pytest.fixture
def widget(live_engine: Engine, shop: Shop) -> Widget:
    """A site allowing the shop's origin, and an active survey with an embed trigger (unique keys: the
    live server outlives the test)."""
    key = uuid.uuid4().hex[:10]
    with Session(live_engine) as session:
        _, secret = create_site(session, SiteCreate(key=f"site-{key}", name="Shop", allowed_origins=[shop.origin]))
        f.touchpoint(session, key=f"tp-{key}", stage="usage")
        f.survey(session, key=f"s-{key}", touchpoint=f"tp-{key}", questions=QUESTIONS, thank_you=THANK_YOU,
                 title="Your visit", trigger={"channel": "embed"})
        session.commit()
    return Widget(f"site-{key}", secret, f"s-{key}", "Your visit")


def contact_rows(engine: Engine, external_id: str) -> tuple[list[Contact], list[Invitation], list[Response]]:
    with Session(reading(engine)) as session:
        contacts = list(session.scalars(select(Contact).where(Contact.external_id == external_id)))
        ids = [c.id for c in contacts]
        invitations = list(session.scalars(select(Invitation).where(Invitation.contact_id.in_(ids))))
        responses = list(session.scalars(select(Response).where(Response.contact_id.in_(ids))))
    return contacts, invitations, responses


def shop_still_works(page: Any) -> None:
    page.get_by_role("button", name="Add to basket").click()
    expect(page.locator("#buy")).to_have_text("Added to basket")
    assert page.evaluate("() => window.shopErrors") == []


@pytest.mark.live_postgres
def test_a_signed_customer_answers_in_the_widget_and_the_answer_is_theirs(
        page: Any, page_log: PageLog, live_server: Any, live_engine: Engine, shop: Shop, widget: Widget) -> None:
    contact = f"crm-{uuid.uuid4().hex[:8]}"
    # Chromium ignores `autofocus` inside a cross-origin iframe and says so at error level; the survey page
    # (voc/web/survey.py's templates) autofocuses its headings. Not a script error: allowed here, reported.
    page_log.expect_console_error("Blocked autofocusing")
    # Opened from JavaScript, called through the stub before the loader has arrived.
    script = (f'<script>voc("show", "{widget.survey}");</script>'
              + widget.tag(f"{live_server.url}/embed.js", contact, sign_contact(widget.secret, contact)))
    page.goto(shop.page("/signed.html", script))

    frame_element = page.locator("iframe")
    expect(frame_element).to_have_attribute("title", f"Survey: {widget.title}")
    expect(frame_element).to_have_attribute("sandbox", "allow-scripts allow-forms allow-same-origin")
    survey = page.frame_locator("iframe")
    expect(survey.get_by_role("heading", level=1)).to_have_text(widget.title)
    # No global but `voc`, which existed already (the stub) and which the loader replaced ("0" is the iframe).
    added = page.evaluate("() => Object.getOwnPropertyNames(window).filter(n => !shopGlobals.includes(n) && n !== '0')")
    assert set(added) <= {"shopGlobals"}, added
    assert page.evaluate("() => typeof window.voc === 'function' && window.voc.loaded") is True
    assert_no_serious_a11y_violations(page)  # the slide-in, its close button, the iframe's title
    survey.get_by_role("radio", name="9", exact=True).check()
    survey.get_by_role("button", name="Send").click()
    expect(survey.get_by_role("status")).to_have_text(THANK_YOU)

    contacts, invitations, responses = contact_rows(live_engine, contact)
    assert [(c.crm, c.external_id) for c in contacts] == [("default", contact)]
    assert [(i.channel, i.site_id is not None) for i in invitations] == [("embed", True)]
    assert [r.nps for r in responses] == [9]

    # The thank-you heading takes focus once htmx has settled the swap (so a screen reader announces it);
    # the slide-in closes by itself a moment later; the shop page never noticed anything.
    expect(survey.get_by_role("heading", name="Thank you")).to_be_focused()
    expect(page.locator("iframe")).to_have_count(0, timeout=6_000)
    shop_still_works(page)
    assert page_log.problems() == []


def test_the_slide_in_closes_on_escape_from_its_own_controls_and_from_inside_the_survey(
        page: Any, page_log: PageLog, live_server: Any, shop: Shop, widget: Widget) -> None:
    page_log.expect_console_error("Blocked autofocusing")
    contact = f"crm-{uuid.uuid4().hex[:8]}"
    tag = widget.tag(f"{live_server.url}/embed.js", contact, sign_contact(widget.secret, contact))
    page.goto(shop.page("/escape.html", f'<script>voc("show", "{widget.survey}");</script>' + tag))
    page.get_by_role("button", name="Close survey").focus()
    page.keyboard.press("Escape")
    expect(page.locator("iframe")).to_have_count(0)

    page.evaluate(f'() => voc("show", "{widget.survey}")')
    survey = page.frame_locator("iframe")
    # The frame's script is running (it marks the page framed): until then nobody listens for Escape there.
    expect(survey.locator("html.framed")).to_have_count(1)
    survey.get_by_role("radio", name="7", exact=True).focus()  # focus inside the survey's frame
    expect(survey.get_by_role("radio", name="7", exact=True)).to_be_focused()
    # Key down, then up only once the frame is gone: a key-up sent to a frame being torn down (the Escape's
    # own effect) can wait for an answer that never comes, and the whole run hung on it (CI, once).
    page.keyboard.down("Escape")
    expect(page.locator("iframe")).to_have_count(0)
    page.keyboard.up("Escape")
    shop_still_works(page)


PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]
CONTENT_BOTTOM = "() => Math.ceil(document.getElementById('survey').getBoundingClientRect().bottom)"


@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_on_a_phone_the_slide_in_is_as_tall_as_its_survey_and_closes_3_s_after_the_thank_you(
        new_page: Any, page_log: PageLog, live_server: Any, shop: Shop, widget: Widget, phone: dict) -> None:
    page = new_page(viewport=phone, is_mobile=True, has_touch=True)
    page_log.expect_console_error("Blocked autofocusing")
    contact = f"crm-{uuid.uuid4().hex[:8]}"
    tag = widget.tag(f"{live_server.url}/embed.js", contact, sign_contact(widget.secret, contact),
                     survey=widget.survey)
    page.goto(shop.page("/phone.html", tag))
    survey = page.frame_locator("iframe")
    expect(survey.get_by_role("heading", level=1)).to_have_text(widget.title)
    frame = next(f for f in page.frames if f.url.startswith(live_server.url + "/s/"))
    iframe = page.locator("iframe")
    # The frame takes the survey's height once the page has said it (no large empty area, nothing cut off).
    frame.wait_for_function("() => document.documentElement.classList.contains('framed')")
    deadline = time.monotonic() + 5
    while abs(iframe.bounding_box()["height"] - frame.evaluate(CONTENT_BOTTOM)) > 2:
        assert time.monotonic() < deadline, (iframe.bounding_box(), frame.evaluate(CONTENT_BOTTOM))
        page.wait_for_timeout(50)
    box = page.locator("[data-voc-widget]").bounding_box()
    assert box["height"] < 0.7 * phone["height"], box
    assert box["y"] + box["height"] == pytest.approx(phone["height"], abs=1)  # a sheet along the bottom edge
    assert box["width"] == pytest.approx(phone["width"], abs=1)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= phone["width"]
    assert frame.evaluate("() => document.documentElement.scrollWidth") <= phone["width"]
    assert frame.evaluate(SMALL_TEXT) == [] and page.evaluate(SMALL_TEXT) == []
    points = [survey.locator(".scale-point span").nth(i).bounding_box() for i in range(11)]
    assert max(p["width"] for p in points) - min(p["width"] for p in points) <= 1
    assert len({round(p["y"]) for p in points}) in (1, 2)
    assert_no_serious_a11y_violations(page)

    survey.get_by_role("radio", name="9", exact=True).check()
    survey.get_by_role("button", name="Send").click()
    expect(survey.get_by_role("status")).to_have_text(THANK_YOU)
    thanked = time.monotonic()
    expect(iframe).to_have_count(0, timeout=6_000)
    assert 2.5 <= time.monotonic() - thanked <= 4.5  # long enough to read it, then out of the way
    shop_still_works(page)


def test_a_wrong_signature_shows_nothing_and_stores_nothing(page: Any, live_server: Any, live_engine: Engine,
                                                            shop: Shop, widget: Widget) -> None:
    contact = f"crm-{uuid.uuid4().hex[:8]}"
    forged = sign_contact(widget.secret, "someone-else")
    script = widget.tag(f"{live_server.url}/embed.js", contact, forged, survey=widget.survey, mode="inline",
                        target="#feedback")
    with page.expect_console_message(lambda m: "signature_invalid" in m.text) as warned:
        page.goto(shop.page("/forged.html", script))
    assert warned.value.type == "warning"
    expect(page.locator("iframe")).to_have_count(0)
    assert page.locator("[data-voc-widget]").count() == 0
    assert contact_rows(live_engine, contact) == ([], [], [])
    shop_still_works(page)


def test_with_voc_unreachable_the_shop_page_still_works(page: Any, page_log: PageLog, shop: Shop,
                                                        widget: Widget) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there: voc is "stopped"
    # The network failures themselves are the browser's report, not the page's: expected.
    page_log.expect_console_error("ERR_CONNECTION_REFUSED")
    signature = sign_contact(widget.secret, "crm-1")

    # The loader arrives (a copy on the shop's origin) but voc does not answer its question.
    script = widget.tag(f"{shop.origin}/embed.js", "crm-1", signature, survey=widget.survey, url=closed)
    with page.expect_event("requestfailed", lambda r: r.url.startswith(closed)):
        page.goto(shop.page("/voc-down.html", script))
    page.evaluate(f'() => voc("show", "{widget.survey}")')  # asking again fails quietly too
    shop_still_works(page)
    expect(page.locator("iframe")).to_have_count(0)

    # The loader itself cannot be fetched: calls to the stub are kept and harm nothing.
    script = '<script>voc("show", "x");</script>' + widget.tag(f"{closed}/embed.js", "crm-1", signature,
                                                                 survey=widget.survey)
    with page.expect_event("requestfailed", lambda r: r.url.startswith(closed)):
        page.goto(shop.page("/loader-down.html", script))
    page.evaluate('() => voc("show", "again")')
    assert page.evaluate("() => voc.q.length") == 2
    shop_still_works(page)
    assert page_log.problems() == []
