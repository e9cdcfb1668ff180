"""Every page at a phone's width (390×844) and a desktop's (1440×900), on the demo workspace: every dashboard
page (listed from the app's routes, so a new page cannot be forgotten), the sign-in page, every step of the
hosted survey and of the embedded widget. None scrolls sideways, no text renders under 12 px (chart labels
included), the dashboard's menu is collapsed behind a button on a phone, and axe finds nothing serious."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from tests.browser.conftest import DemoWorkspace
from tests.browser.helpers import LiveServer, PageLog, open_context, serious_a11y_violations, sign_in
from tests.browser.test_dashboard import busiest_demo_contact
from tests.browser.test_embed import Shop, Widget, shop  # noqa: F401 - the shop page's server, a fixture
from tests.conftest import TEST_SECRET
from voc import models as _every_table  # noqa: F401 - every table's model is known to the engine
from voc.app import create_app
from voc.config import get_settings
from voc.db import make_engine, reading, session_scope
from voc.demo.loader import SURVEYS
from voc.embed.schemas import SiteCreate
from voc.embed.sites import create_site, sign_contact
from voc.followups.models import Followup
from voc.surveys.responses import submit_response
from voc.webhooks import endpoints, outbox
from voc.webhooks.schemas import EndpointCreate

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SMALLEST_TEXT_PX = 12
RELATIONSHIP = SURVEYS[0]  # the demo's longest survey: a scale, a text, a single and a multiple choice
TITLE = "How was your return?"

# Every GET route under /dashboard is either a page visited below (its path parameters filled from the
# workspace) or named here with the reason it is not a page.
NOT_PAGES = {"/dashboard/responses.csv": "a CSV download"}
DASHBOARD_PAGES = [
    "/dashboard", "/dashboard/journey", "/dashboard/experience", "/dashboard/responses",
    "/dashboard/contacts/{external_id:path}", "/dashboard/themes", "/dashboard/followups",
    "/dashboard/followups/{followup_id}", "/dashboard/surveys", "/dashboard/surveys/new", "/dashboard/surveys/{key}",
    "/dashboard/surveys/{key}/edit", "/dashboard/surveys/{key}/preview", "/dashboard/surveys/{key}/preview/frame",
    "/dashboard/surveys/{key}/translations/{lang}", "/dashboard/settings", "/dashboard/settings/keys",
    "/dashboard/settings/webhooks", "/dashboard/settings/webhooks/{endpoint_id}", "/dashboard/settings/users",
    "/dashboard/settings/sites", "/dashboard/audit",
]
# Pages that are not the dashboard's own frame (no top bar, so no menu): the customer's survey as a preview.
WITHOUT_NAV = ("/dashboard/surveys/{key}/preview", "/dashboard/surveys/{key}/preview/frame")

# What is rendered too small, what sticks out to the right, in one pass over the page.
# Text: each element holding visible text (HTML or SVG), at its rendered size: the font size times the
# scale of the element's screen transform (an SVG drawn smaller than its viewBox shrinks its labels).
LAYOUT = """([minimum, vw]) => {
  const name = (e) => {
    const parts = [];
    for (let x = e; x && x !== document.documentElement && parts.length < 4; x = x.parentElement) {
      let part = x.tagName.toLowerCase();
      if (x.id) { parts.unshift(part + '#' + x.id); break; }
      const classes = [...x.classList].slice(0, 2);
      if (classes.length) part += '.' + classes.join('.');
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const clipped = (e) => {  // inside a box of at most 1 px that hides what overflows it (.sr-only)
    for (let x = e; x && x !== document.body; x = x.parentElement) {
      const r = x.getBoundingClientRect(), s = getComputedStyle(x);
      if ((r.width <= 1 || r.height <= 1) && s.overflow !== 'visible') return true;
    }
    return false;
  };
  const scale = (e) => {
    if (!(e instanceof SVGGraphicsElement)) return 1;
    const m = e.getScreenCTM();
    return m ? Math.sqrt(Math.abs(m.a * m.d - m.b * m.c)) : 1;
  };
  const small = [], seen = new Set();
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const e = node.parentElement;
    if (!node.textContent.trim() || !e || seen.has(e) || e.closest('script, style, title, desc, noscript')) continue;
    seen.add(e);
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || !e.checkVisibility({visibilityProperty: true}) || clipped(e)) continue;
    const size = parseFloat(getComputedStyle(e).fontSize) * scale(e);
    const text = node.textContent.trim().slice(0, 40);
    if (size < minimum - 0.01) small.push(`${name(e)} (${size.toFixed(1)} px): "${text}"`);
  }
  const fields = 'input:not([type=hidden], [type=checkbox], [type=radio]), select, textarea';
  for (const e of document.querySelectorAll(fields)) {
    if (!e.checkVisibility({visibilityProperty: true}) || clipped(e)) continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (size < minimum - 0.01) small.push(`${name(e)} (${size.toFixed(1)} px): a form field`);
  }
  // What sticks out to the right: the outermost such element (its parent stays inside), unless a scroll
  // container of its own holds it.
  const wide = [];
  const width = document.documentElement.scrollWidth;
  if (width > vw) {
    for (const e of document.body.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.right <= vw + 0.5 || (r.width === 0 && r.height === 0)) continue;
      const parent = e.parentElement;
      if (parent && parent !== document.body && parent.getBoundingClientRect().right > vw + 0.5) continue;
      let held = false;
      for (let x = parent; x && x !== document.body; x = x.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(x).overflowX)) { held = true; break; }
      }
      if (!held) wide.push(`${name(e)} (right edge at ${Math.round(r.right)} px, ${Math.round(r.width)} px wide)`);
    }
  }
  return {width, viewport: window.innerWidth, small, wide: wide.slice(0, 12)};
}"""


@dataclass
class Screen:
    """One browser context of one size, signed in as the demo's admin, reused by every test of that size."""

    page: Any
    size: dict[str, int]
    log: PageLog
    url: str

    @property
    def phone(self) -> bool:
        return self.size["width"] < 600


@dataclass(frozen=True)
class Workspace:
    """The rows the pages are shown with: the demo's, plus a webhook endpoint with a delivery, a site and
    surveys to answer (unique keys: the live server outlives this module)."""

    params: dict[str, str]  # route parameter -> a real id of the demo workspace
    touchpoint: str  # whose events invite to the hosted survey
    widget_survey: str


def fill(route: str, params: dict[str, str]) -> str:
    """The route's path with every {parameter} (or {parameter:converter}) replaced by its value."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params[m.group(1)], route)


@pytest.fixture(scope="module")
def workspace(_live_server_process: LiveServer, demo: DemoWorkspace) -> Iterator[Workspace]:
    server = _live_server_process
    key = uuid.uuid4().hex[:8]
    questions = [{**q, "show_if": None} for q in RELATIONSHIP["questions"]]  # every step is shown
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOC_DATABASE_URL", server.database_url)
        env.setenv("VOC_BASE_URL", server.url)
        env.setenv("VOC_SECRET_KEY", TEST_SECRET)
        env.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")  # the endpoint is never called: no worker runs
        get_settings.cache_clear()
        engine = make_engine(server.database_url)
        try:
            with session_scope(engine) as session:
                f.touchpoint(session, key=f"tp-{key}", name="Returned an item")
                f.survey(session, key=f"s-{key}", touchpoint=f"tp-{key}", title=TITLE, questions=questions,
                         thank_you=RELATIONSHIP["thank_you"])
                f.touchpoint(session, key=f"tp-web-{key}", name="Visited the help centre", stage="usage")
                f.survey(session, key=f"w-{key}", touchpoint=f"tp-web-{key}", title=TITLE, questions=questions,
                         thank_you=RELATIONSHIP["thank_you"], trigger={"channel": "embed"})
                # Long names, as customers' CRMs have them: every filter's select holds them as options.
                f.touchpoint(session, key=f"tp-long-{key}",
                             name=f"Returned an item bought in a store to the online customer service desk {key}")
                f.survey(session, key=f"long-{key}", touchpoint=f"tp-long-{key}",
                         title=f"After your return: how did our online customer service desk handle it? {key}")
                # A comment with a long address in it (no space to break at): the explorer's cards, the contact.
                pasted = f.event(session, event_id=f"evt-long-{key}", touchpoint=f"tp-long-{key}",
                                 contact=f"crm-long-{key}")
                submit_response(session, f.token_of(pasted.invitation.url), [("nps", 3), (
                    "why", "Tracking said delivered, see https://shop.example.com/orders/tracking/"
                           "8f14e45fceea167a5a36dedd4bea2543-returns-department-eu-west-1 — nothing came.")])
                # A long URL without a space to break at: the endpoint's page and its delivery log.
                endpoint, _ = endpoints.create_endpoint(session, EndpointCreate(
                    url=f"http://127.0.0.1:9/crm/integrations/voice-of-customer/webhooks/{key}?tenant=acme-eu-west"
                        "-1&source=voc-production-eu-west-1",
                    event_types=["response.completed", "followup.created"], description="CRM write-back"))
                outbox.send_test_event(session, endpoint.id)
                endpoint_id = endpoint.id
            with Session(reading(engine)) as session:
                followup_id = session.scalar(select(Followup.id).order_by(Followup.id).limit(1))
            contact = busiest_demo_contact(engine)
        finally:
            engine.dispose()
            get_settings.cache_clear()
    assert followup_id is not None, "the demo should have follow-up cases"
    params = {"key": RELATIONSHIP["key"], "followup_id": str(followup_id), "external_id": contact,
              "endpoint_id": str(endpoint_id), "lang": "de"}
    yield Workspace(params, f"tp-{key}", f"w-{key}")


@pytest.fixture(scope="module", params=[PHONE, DESKTOP], ids=lambda s: f"{s['width']}x{s['height']}")
def screen(request: pytest.FixtureRequest, browser: Any, _live_server_process: LiveServer,
           demo: DemoWorkspace) -> Iterator[Screen]:
    size = request.param
    log = PageLog()
    phone = size["width"] < 600
    context = open_context(browser, viewport=size, is_mobile=phone, has_touch=phone)
    # Chromium refuses `autofocus` in a cross-origin frame (the widget's survey) and says so at error level.
    log.expect_console_error("Blocked autofocusing")
    page = context.new_page()
    log.watch(page)
    server = _live_server_process
    sign_in(page, server.url, demo.users["admin"], demo.password)
    yield Screen(page, size, log, server.url)
    context.close()


@pytest.fixture
def shown(screen: Screen) -> Iterator[Screen]:
    """The screen, failing the test if any of its pages logged an error or a dialog while it ran (errors a test
    expects are expected during that test only)."""
    log = screen.log
    expected = list(log.expected)
    log.console_errors.clear()
    log.page_errors.clear()
    log.dialogs.clear()
    yield screen
    problems = log.problems() + [f"dialog: {d}" for d in log.dialogs]
    log.expected[:] = expected
    assert not problems, "the page reported errors:\n" + "\n".join(problems)


def layout_problems(target: Any, width: int, what: str) -> list[str]:
    """Everything wrong with the layout of a page (or frame) as it is now, as lines for an assertion message."""
    found = target.evaluate(LAYOUT, [SMALLEST_TEXT_PX, width])
    problems = []
    if found["width"] > min(width, found["viewport"]):
        problems.append(f"{what} is {found['width']} px wide in a {width} px viewport; sticking out:")
        problems += [f"    {w}" for w in found["wide"]]
    if found["small"]:
        problems.append(f"{what}: text under {SMALLEST_TEXT_PX} px:")
        problems += [f"    {s}" for s in found["small"][:20]]
    return problems


def a11y_problems(target: Any, what: str) -> list[str]:
    return [f"{what}: axe {v['id']} ({v['impact']}): {v['help']} ["
            + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:5]) + "]"
            for v in serious_a11y_violations(target)]


def assert_fits(screen: Screen, what: str, frame: Any = None, *, page_axe: bool = True) -> None:
    """No sideways scroll, no small text, axe clean: on the page, and in `frame` (the widget's survey) too
    (`page_axe=False`: the page around the frame has not changed since axe last ran on it)."""
    width = screen.size["width"]
    problems = layout_problems(screen.page, width, what)
    if page_axe:
        problems += a11y_problems(screen.page, what)
    if frame is not None:
        frame_width = frame.evaluate("() => window.innerWidth")
        problems += layout_problems(frame, frame_width, f"{what} (its frame)") + a11y_problems(frame, f"{what} (frame)")
    assert not problems, f"at {width}×{screen.size['height']}:\n" + "\n".join(problems)


def assert_menu_collapses(screen: Screen, what: str) -> None:
    """On a phone the dashboard's links hide behind a Menu button that shows them; on a desktop they show."""
    page = screen.page
    menu = page.get_by_role("button", name="Menu")
    first_link = page.get_by_role("navigation", name="Dashboard").get_by_role("link").first
    if not screen.phone:
        expect(menu).to_be_hidden()
        expect(first_link).to_be_visible()
        return
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(first_link).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(first_link).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    problems = layout_problems(page, screen.size["width"], f"{what} with the menu open")
    assert not problems, "\n".join(problems)
    menu.click()
    expect(first_link).to_be_hidden()


def test_every_dashboard_route_is_a_page_here_or_named_as_not_one(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'routes.db'}")  # never connected to: only the routes are read
    app = create_app(engine=engine)
    engine.dispose()
    routes = {r.path for r in app.routes if isinstance(r, APIRoute) and "GET" in r.methods
              and (r.path == "/dashboard" or r.path.startswith("/dashboard/"))}
    assert routes - set(DASHBOARD_PAGES) - set(NOT_PAGES) == set(), "dashboard pages this test does not visit"
    assert (set(DASHBOARD_PAGES) | set(NOT_PAGES)) - routes == set(), "listed here but no longer a route"


@pytest.mark.parametrize("route", DASHBOARD_PAGES)
def test_a_dashboard_page_fits(shown: Screen, workspace: Workspace, route: str):
    path = fill(route, workspace.params)
    response = shown.page.goto(shown.url + path)
    assert response is not None and response.status == 200, (path, response and response.status)
    if route not in WITHOUT_NAV:
        assert_menu_collapses(shown, path)
    assert_fits(shown, path)


def test_the_sign_in_and_not_found_pages_fit(shown: Screen):
    shown.page.goto(shown.url + "/login")
    assert_fits(shown, "/login")
    shown.log.expect_console_error("status of 404")
    response = shown.page.goto(shown.url + "/dashboard/no-such-page")
    assert response is not None and response.status == 404
    assert_fits(shown, "a 404 page")


FIRST_STEP = "the first question"


def choose(survey: Any, option: Any) -> None:
    """Tick a radio button or checkbox from the keyboard: in the widget the frame grows to each step's content
    as the step arrives, and a click aimed while it grows can land beside the box. A step that has just
    arrived settles first: htmx then moves focus to its heading (autofocus), and a Space pressed before
    that lands on the heading instead of the box (seen once in CI)."""
    expect(survey.locator(".htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)
    option.focus()
    option.press("Space")
    expect(option).to_be_checked()


def answer_every_step(screen: Screen, survey: Any, check: Any) -> None:
    """Go through the demo's relationship survey as a customer, checking each step: the first question,
    its error when sent unanswered, each later question, the thank-you."""
    expect(survey.get_by_text("Question 1", exact=True)).to_be_visible()
    check(FIRST_STEP)
    survey.get_by_role("button", name="Next").click()
    expect(survey.get_by_role("alert")).to_contain_text("Please check 1 answer")
    check("a question sent unanswered")
    choose(survey, survey.get_by_role("radio", name="6", exact=True))
    survey.get_by_role("button", name="Next").click()
    expect(survey.get_by_text("Question 2", exact=True)).to_be_visible()
    survey.get_by_role("textbox").fill("Deliveries keep coming late, and the app logs me out every other day.")
    check("a text question")
    survey.get_by_role("button", name="Next").click()
    expect(survey.get_by_text("Question 3", exact=True)).to_be_visible()
    choose(survey, survey.get_by_role("radio", name="Family"))
    check("a single choice")
    survey.get_by_role("button", name="Next").click()
    expect(survey.get_by_text("Question 4", exact=True)).to_be_visible()
    choose(survey, survey.get_by_role("checkbox", name="Delivery"))
    check("a multiple choice, the last question")
    survey.get_by_role("button", name="Send").click()
    expect(survey.get_by_role("status")).to_have_text(RELATIONSHIP["thank_you"])
    check("the thank-you")


def test_every_step_of_the_hosted_survey_fits(shown: Screen, workspace: Workspace, live_server, live_engine):
    with session_scope(live_engine) as session:
        outcome = f.event(session, event_id=f"evt-{uuid.uuid4().hex}", touchpoint=workspace.touchpoint,
                          contact=f"crm-{uuid.uuid4().hex[:8]}")
        assert outcome.invitation is not None, outcome
        url = outcome.invitation.url
    shown.page.goto(url)
    answer_every_step(shown, shown.page, lambda step: assert_fits(shown, f"the survey page, {step}"))


def test_every_step_of_the_widget_fits(shown: Screen, workspace: Workspace, shop: Shop, live_engine):  # noqa: F811
    key = uuid.uuid4().hex[:8]
    with session_scope(live_engine) as session:
        _, secret = create_site(session, SiteCreate(key=f"site-{key}", name="Shop", allowed_origins=[shop.origin]))
    page, contact = shown.page, f"crm-{key}"
    tag = Widget(f"site-{key}", secret, workspace.widget_survey, TITLE).tag(
        f"{shown.url}/embed.js", contact, sign_contact(secret, contact), survey=workspace.widget_survey)
    # The widget closes 3 s after its thank-you (tested in test_embed.py); here it stays to be measured.
    keep_open = ('<script>addEventListener("message", function (e) {'
                 ' if (e.data && e.data.voc === "thanks") e.stopImmediatePropagation(); }, true);</script>')
    page.goto(shop.page(f"/autumn-{key}.html", keep_open + tag))
    survey = page.frame_locator("iframe")
    expect(survey.get_by_role("heading", level=1)).to_have_text(TITLE)
    frame = next(fr for fr in page.frames if fr.url.startswith(shown.url + "/s/"))
    frame.wait_for_function("() => document.documentElement.classList.contains('framed')")
    # The shop page and the slide-in around the survey stay as they are: axe checks them once, the survey each step.
    answer_every_step(shown, survey, lambda step: assert_fits(shown, f"the widget, {step}", frame,
                                                              page_axe=step == FIRST_STEP))
    assert page.evaluate("() => window.shopErrors") == []
