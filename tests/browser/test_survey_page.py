"""The hosted survey in a real Chromium: a customer answers by keyboard alone, with and without
JavaScript; mistakes are announced; hostile text stays text; axe finds no serious problem."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories as f
from tests.browser.helpers import PageLog, assert_no_serious_a11y_violations
from voc import models as _every_table  # noqa: F401 - invitation.site_id refers to site: its model must be known
from voc.db import reading
from voc.resources import resource_dir
from voc.surveys.models import Answer, Invitation, PartialResponse, Response
from voc.surveys.tokens import hash_token
from voc.web.i18n import catalog_languages
from voc.web.templating import HTMX_CDN, HTMX_VERSION

pytestmark = pytest.mark.browser

NPS_PROMPT = f.NPS_QUESTIONS[0]["prompt"]
WHY_PROMPT = f.NPS_QUESTIONS[1]["prompt"]
THANK_YOU = "Thanks, we read every answer."
VENDORED_HTMX = resource_dir("static") / "vendor" / "htmx.min.js"

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">javascript:alert(1)</a>'


@pytest.fixture
def invite(live_engine: Engine) -> Callable[..., str]:
    """A fresh touchpoint, survey and contact invited through the service functions; returns the link."""

    def make(questions: list[dict] | None = None, thank_you: str = THANK_YOU, title: str = "How did we do?",
             attributes: dict[str, Any] | None = None, **survey: Any) -> str:
        key = uuid.uuid4().hex[:10]  # the live server outlives the test: nothing may collide
        with Session(live_engine) as session:
            f.touchpoint(session, key=f"tp-{key}")
            f.survey(session, key=f"s-{key}", touchpoint=f"tp-{key}", questions=questions, thank_you=thank_you,
                     title=title, **survey)
            outcome = f.event(session, event_id=f"evt-{key}", touchpoint=f"tp-{key}", contact=f"crm-{key}",
                              contact_fields={"attributes": attributes or {}})
            session.commit()
        assert outcome.invitation is not None, outcome
        return outcome.invitation.url

    return make


def stored_answers(engine: Engine, url: str) -> tuple[Response | None, dict[str, Answer]]:
    """The response stored for an invitation link, and its answers by question id."""
    with Session(reading(engine)) as session:
        response = session.scalar(select(Response).join(Invitation, Invitation.id == Response.invitation_id)
                                  .where(Invitation.token_hash == hash_token(f.token_of(url))))
        if response is None:
            return None, {}
        answers = session.scalars(select(Answer).where(Answer.response_id == response.id))
        return response, {a.question_id: a for a in answers}


def wait_for_htmx(page: Any) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


def wait_for_settled(page: Any) -> None:
    """htmx applies autofocus again when a swap settles: a key pressed before that would be undone."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def answer_by_keyboard(page: Any, score: int, reason: str) -> None:
    """Step 1: Tab into the 0–10 scale, arrow to the score, Space, Tab to Next, Enter. Step 2: focus is on its
    heading; Tab to the text box and type; Tab to Send."""
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="0", exact=True)).to_be_focused()
    for _ in range(score):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name=str(score), exact=True)).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Next")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Question 2", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=WHY_PROMPT)).to_be_focused()  # told where they are
    wait_for_settled(page)
    page.keyboard.press("Tab")
    expect(page.get_by_label(WHY_PROMPT)).to_be_focused()
    page.keyboard.type(reason)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send")).to_be_focused()


@pytest.mark.live_postgres
def test_a_customer_answers_step_by_step_by_keyboard_and_htmx_swaps_the_card_in_place(page, page_log: PageLog,
                                                                                      invite, live_engine):
    url = invite()
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    expect(page.get_by_text("Question 1", exact=True)).to_be_visible()
    expect(page.get_by_role("progressbar", name="Question 1", exact=True)).to_be_visible()
    # What the ends of the scale mean is read out too, not only shown.
    expect(page.get_by_role("radiogroup", name=NPS_PROMPT)).to_have_accessible_description(
        "0 · Not at all likely 10 · Extremely likely")
    wait_for_htmx(page)
    page.evaluate("() => { window.sameDocument = true }")  # gone if the page reloads

    answer_by_keyboard(page, 9, "Fast delivery, friendly driver.")
    page.keyboard.press("Space")

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.get_by_role("status")).to_have_text(THANK_YOU)
    assert page.url == url
    assert page.evaluate("() => window.sameDocument") is True
    assert page_log.dialogs == []
    response, answers = stored_answers(live_engine, url)
    assert response is not None and response.nps == 9
    assert answers["why"].text == "Fast delivery, friendly driver."


THREE_STEPS = [*f.NPS_QUESTIONS, {"id": "channel", "type": "single_choice", "prompt": "How did you order?",
                                  "options": ["Online", "By phone"], "required": True}]


def test_answers_survive_a_closed_tab_and_the_survey_resumes(new_page, invite, live_engine):
    url = invite(questions=THREE_STEPS)
    first = new_page()
    first.goto(url)
    wait_for_htmx(first)
    first.get_by_role("radio", name="3", exact=True).check()
    first.get_by_role("button", name="Next").click()
    first.get_by_label(WHY_PROMPT).fill("The parcel was late.")
    first.get_by_role("button", name="Next").click()
    expect(first.get_by_text("Question 3", exact=True)).to_be_visible()
    first.context.close()  # the tab, and the browser with it, is gone

    again = new_page()
    again.goto(url)
    expect(again.get_by_text("Question 3", exact=True)).to_be_visible()  # where it was left
    expect(again.get_by_role("group", name="How did you order?")).to_be_visible()
    wait_for_htmx(again)
    again.get_by_role("button", name="Back").click()
    expect(again.get_by_label(WHY_PROMPT)).to_have_value("The parcel was late.")  # earlier answers are kept
    again.get_by_role("button", name="Back").click()
    expect(again.get_by_role("radio", name="3", exact=True)).to_be_checked()
    again.get_by_role("button", name="Next").click()
    expect(again.get_by_text("Question 2", exact=True)).to_be_visible()
    again.get_by_role("button", name="Next").click()
    expect(again.get_by_text("Question 3", exact=True)).to_be_visible()
    again.get_by_role("radio", name="By phone").check()
    again.get_by_role("button", name="Send").click()
    expect(again.get_by_role("heading", level=1)).to_have_text("Thank you")
    response, answers = stored_answers(live_engine, url)
    assert response is not None and response.nps == 3
    assert answers["why"].text == "The parcel was late." and answers["channel"].choices == ["By phone"]


def test_a_score_clicked_in_an_email_is_sent_by_the_page_not_by_the_link(new_page, page_log: PageLog, invite,
                                                                          live_engine):
    url = invite(questions=THREE_STEPS)
    scanned = new_page(java_script_enabled=False)  # a mail scanner fetches the link and runs no script
    scanned.goto(url + "?q=nps&v=9")
    expect(scanned.get_by_role("radio", name="9", exact=True)).to_be_checked()
    expect(scanned.get_by_text("Question 1", exact=True)).to_be_visible()
    with Session(reading(live_engine)) as session:
        partial = session.scalar(select(PartialResponse)
                                 .join(Invitation, Invitation.id == PartialResponse.invitation_id)
                                 .where(Invitation.token_hash == hash_token(f.token_of(url))))
        assert partial is None or not partial.answers  # nothing stored by the fetch
    scanned.context.close()

    clicked = new_page()  # the customer's browser: the page sends the score at once
    clicked.goto(url + "?q=nps&v=9")
    expect(clicked.get_by_text("Question 2", exact=True)).to_be_visible()
    expect(clicked.get_by_label(WHY_PROMPT)).to_be_visible()
    clicked.get_by_role("button", name="Back").click()
    expect(clicked.get_by_role("radio", name="9", exact=True)).to_be_checked()  # stored, and shown as such
    assert page_log.problems() == []


def test_htmx_falls_back_to_the_vendored_copy_when_the_cdn_fails(page, invite):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(invite())
    wait_for_htmx(page)
    assert page.evaluate("() => window.htmx.version") == HTMX_VERSION
    assert HTMX_CDN in requested  # tried first, aborted: there is no internet here
    assert any(u.endswith("/static/vendor/htmx.min.js") for u in requested)


def test_the_cdn_copy_passes_its_integrity_check(page, invite):
    """The SRI hash in the page matches the vendored file, which is the CDN's file byte for byte."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.route(HTMX_CDN, lambda route: route.fulfill(body=VENDORED_HTMX.read_bytes(), content_type="text/javascript",
                                                     headers={"access-control-allow-origin": "*"}))
    page.goto(invite())
    wait_for_htmx(page)
    assert not any(u.endswith("/static/vendor/htmx.min.js") for u in requested)


def test_without_javascript_the_steps_are_plain_form_posts(new_page, page_log: PageLog, invite, live_engine):
    page = new_page(java_script_enabled=False)
    page_log.expect_console_error("status of 422")  # the step comes back with what needs fixing
    url = invite()
    page.goto(url)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("alert")).to_contain_text("Please check 1 answer")
    expect(page.get_by_role("alert")).to_be_focused()
    assert stored_answers(live_engine, url)[0] is None

    page.get_by_role("radio", name="4", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Question 2", exact=True)).to_be_visible()
    page.get_by_label(WHY_PROMPT).fill("Driver was late.")
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("radio", name="4", exact=True)).to_be_checked()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label(WHY_PROMPT)).to_have_value("Driver was late.")  # nothing typed is lost
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert page.url == url
    assert page_log.dialogs == []
    response, answers = stored_answers(live_engine, url)
    assert response is not None and response.nps == 4
    assert answers["why"].text == "Driver was late."


def test_a_missing_required_answer_is_announced_and_linked(page, invite, live_engine):
    url = invite()
    page.goto(url)
    wait_for_htmx(page)
    page.get_by_role("button", name="Next").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please check 1 answer")
    expect(alert).to_be_focused()  # the swap replaced the button: focus goes to the list of problems
    wait_for_settled(page)
    page.keyboard.press("Tab")
    expect(alert.get_by_role("link")).to_be_focused()
    expect(alert.get_by_role("link")).to_have_attribute("href", "#q-nps")
    expect(page.locator("#q-nps")).to_have_attribute("aria-describedby", "err-nps")
    expect(page.get_by_role("radiogroup", name=NPS_PROMPT)).to_have_accessible_description(
        "0 · Not at all likely 10 · Extremely likely Please answer this question.")
    assert page.url == url
    assert stored_answers(live_engine, url)[0] is None


def test_hostile_text_from_the_survey_the_crm_and_the_customer_stays_text(new_page, page_log: PageLog, invite,
                                                                          live_engine):
    questions = [
        {"id": "nps", "type": "nps", "prompt": f"{SCRIPT} Recommend us? {IMG}", "required": True},
        {"id": "why", "type": "text", "prompt": f"Tell us more {LINK}"},
        {"id": "plan", "type": "single_choice", "prompt": "Your plan?", "options": [IMG, "Plus"]},
        {"id": "nick", "type": "text", "prompt": "Your nickname?", "attribute": "nickname"},  # the CRM knows
    ]
    thank_you = f"{SCRIPT} Thanks! {IMG} {LINK}"
    url = invite(questions=questions, thank_you=thank_you, title=f"{SCRIPT}Survey{IMG}",
                 attributes={"nickname": SCRIPT + IMG + LINK, "segment": LINK}, layout="page")
    # Without the CSP, so that what is tested is the escaping, not the browser's second line of defence.
    page = new_page(bypass_csp=True)
    page.goto(url)
    wait_for_htmx(page)

    hostile = "main script, main img, main a[href^='javascript:'], main [onerror]"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{SCRIPT}Survey{IMG}")
    expect(page.locator("#q-nps legend")).to_contain_text(f"{SCRIPT} Recommend us? {IMG}")
    expect(page.locator("#q-why legend")).to_contain_text(f"Tell us more {LINK}")
    expect(page.get_by_role("radio", name=IMG)).to_have_count(1)
    expect(page.get_by_text("Your nickname?")).to_have_count(0)
    assert page.title() == f"{SCRIPT}Survey{IMG}"
    expect(page.locator(hostile)).to_have_count(0)

    typed = f"{SCRIPT}{IMG}{LINK}"
    page.get_by_label("Tell us more").fill(typed)
    page.get_by_role("button", name="Send").click()  # no score: the form comes back with the text
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Tell us more")).to_have_value(typed)
    expect(page.locator(hostile)).to_have_count(0)

    page.get_by_role("radio", name="7", exact=True).check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text(thank_you)
    expect(page.locator(hostile)).to_have_count(0)
    assert page_log.dialogs == []
    response, answers = stored_answers(live_engine, url)
    assert response is not None and answers["why"].text == typed
    assert answers["nick"].text == SCRIPT + IMG + LINK and answers["nick"].source == "crm"


GERMAN = {"title": "Wie war es?", "thank_you": "Danke für Ihre Antwort.",
          "questions": {"nps": {"prompt": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"},
                        "why": {"prompt": "Was ist der wichtigste Grund für Ihre Bewertung?"}}}


@pytest.mark.parametrize(("width", "locale"), [(1280, "en-US"), (375, "en-US"), (375, "de-DE")])
def test_axe_finds_no_serious_violation_on_the_survey(new_page, invite, width, locale):
    page = new_page(viewport={"width": width, "height": 800}, locale=locale)  # Accept-Language follows the locale
    page.goto(invite(translations={"de": GERMAN}))
    german = locale.startswith("de")
    expect(page.locator("html")).to_have_attribute("lang", "de" if german else "en")
    wait_for_htmx(page)
    assert_no_serious_a11y_violations(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # no sideways scrolling

    page.get_by_role("button", name="Weiter" if german else "Next").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_serious_a11y_violations(page)

    page.get_by_role("radio", name="10", exact=True).check()
    page.get_by_role("button", name="Weiter" if german else "Next").click()
    expect(page.get_by_role("button", name="Zurück" if german else "Back")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.get_by_role("button", name="Absenden" if german else "Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vielen Dank" if german else "Thank you")
    assert_no_serious_a11y_violations(page)


# --- on a phone -----------------------------------------------------------------------------------------

PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]
BRANCHING = [
    {"id": "nps", "type": "nps", "prompt": "How likely are you to recommend us?", "required": True},
    {"id": "fix", "type": "text", "prompt": "What went wrong?",
     "show_if": {"question_id": "nps", "op": "lte", "value": 6}},
    {"id": "why", "type": "text", "prompt": "Anything else?"},
    {"id": "channel", "type": "single_choice", "prompt": "How did you order?", "options": ["Online", "By phone"],
     "required": True},
]
BRANCHING_DE = {"title": "Wie war es?", "thank_you": "Danke für Ihre Antwort.",
                "questions": {"nps": {"prompt": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"},
                              "fix": {"prompt": "Was ist schiefgelaufen?"}, "why": {"prompt": "Noch etwas?"},
                              "channel": {"prompt": "Wie haben Sie bestellt?", "options": ["Online", "Telefon"]}}}
SCALES = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?"},
    {"id": "csat", "type": "csat", "prompt": "Satisfied?"},
    {"id": "ces", "type": "ces", "prompt": "Easy?"},
    {"id": "stars", "type": "rating", "prompt": "Stars?", "scale": 10},
]
SHIPPED_LANGUAGES = sorted(catalog_languages())
# Every element that shows text of its own: its font size and whether it is drawn at all.
SMALL_TEXT = """() => [...document.querySelectorAll('body *')].filter(e => {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(e);
    return own && style.display !== 'none' && style.visibility !== 'hidden' && !e.closest('.sr-only')
        && parseFloat(style.fontSize) < 12;
}).map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40) + ' (' + getComputedStyle(e).fontSize + ')')"""


def assert_fits_a_phone(page: Any, width: int) -> None:
    """No sideways scrolling and no text under 12 px."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert page.evaluate(SMALL_TEXT) == []


def assert_scale_is_even(page: Any, fieldset: str) -> None:
    """The scale's points are equally wide, in one row or two balanced rows, and its end labels do not
    touch each other."""
    boxes = [page.locator(f"{fieldset} .scale-point span").nth(i).bounding_box()
             for i in range(page.locator(f"{fieldset} .scale-point span").count())]
    widths = [b["width"] for b in boxes]
    assert max(widths) - min(widths) <= 1, widths
    assert min(widths) >= 24, widths  # a finger's target
    rows: dict[int, int] = {}
    for b in boxes:
        rows[round(b["y"])] = rows.get(round(b["y"]), 0) + 1
    sizes = [rows[y] for y in sorted(rows)]
    assert len(sizes) == 1 or (len(sizes) == 2 and sizes[0] - sizes[1] in (0, 1)), sizes
    low, high = (page.locator(f"{fieldset} .scale-anchors span").nth(i).bounding_box() for i in (0, 1))
    apart = low["x"] + low["width"] <= high["x"] or low["y"] + low["height"] <= high["y"]
    assert apart, (low, high)
    assert high["x"] + high["width"] <= page.viewport_size["width"]


def progress_now(page: Any) -> tuple[int, float]:
    label = page.locator("#progress-label").inner_text()
    return int(label.split()[-1]), float(page.locator("progress").get_attribute("value"))


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_on_a_phone_the_scale_is_even_and_progress_only_goes_forward(new_page, invite, phone, language):
    page = new_page(viewport=phone, is_mobile=True, has_touch=True)
    url = invite(questions=BRANCHING, translations={"de": BRANCHING_DE})
    page.goto(f"{url}?lang={language}")
    wait_for_htmx(page)
    expect(page.locator("progress")).to_be_visible()
    assert page.locator("#q-nps .scale-point").count() == 11
    assert_scale_is_even(page, "#q-nps")
    assert_fits_a_phone(page, phone["width"])
    assert_no_serious_a11y_violations(page)

    seen = [progress_now(page)]
    next_button = page.locator('button[value="next"]')
    page.get_by_role("radio", name="3", exact=True).check()  # a detractor: "what went wrong" comes up
    next_button.click()
    expect(page.locator('input[name="step"]')).to_have_value("fix")
    for step in ("fix", "why"):
        seen.append(progress_now(page))
        assert_fits_a_phone(page, phone["width"])
        page.locator(f"#in-{step}").fill("Der Fahrer kam zu spät." if language == "de" else "The driver was late.")
        next_button.click()
        expect(page.locator('input[name="step"]')).not_to_have_value(step)
    seen.append(progress_now(page))
    assert_fits_a_phone(page, phone["width"])
    assert [k for k, _ in seen] == [1, 2, 3, 4]
    assert [bar for _, bar in seen] == sorted(bar for _, bar in seen) and seen[-1][1] == 100
    page.get_by_role("radio").first.check()
    next_button.click()
    expect(page.get_by_role("status")).to_have_text(BRANCHING_DE["thank_you"] if language == "de" else THANK_YOU)
    assert_fits_a_phone(page, phone["width"])


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("width", [320, 360, 390])
def test_every_scale_s_end_labels_stay_apart_in_every_shipped_language(new_page, invite, width, language):
    page = new_page(viewport={"width": width, "height": 800}, is_mobile=True)
    page.goto(invite(questions=SCALES, layout="page") + f"?lang={language}")
    for question in SCALES:
        assert_scale_is_even(page, f"#q-{question['id']}")
    assert_fits_a_phone(page, width)
