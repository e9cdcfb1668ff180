"""The dashboard in a real Chromium, on the demo workspace: sign in through the form; every page shows
real figures; filters change the list through htmx and the URL; the CSV holds exactly the filtered rows;
a survey built in the editor is answered by a customer and counted on the overview; customers' and CRMs'
text stays text; axe finds nothing serious; a viewer may look but not change."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories as f
from tests.browser.conftest import DemoWorkspace
from tests.browser.helpers import PageLog, assert_no_serious_a11y_violations, wait_for_htmx_started
from voc.db import reading, session_scope, utcnow
from voc.explore.service import NEGATIVE_THRESHOLD
from voc.jobs.worker import Worker
from voc.surveys.models import Contact, Response, Survey, Touchpoint
from voc.surveys.responses import submit_response

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">click</a>'
SVG = "<svg onload=alert(1)>"
HOSTILE = (SCRIPT, IMG, LINK, SVG)


def busiest_demo_contact(engine: Engine) -> str:
    """The external id of the demo customer with the most responses."""
    with Session(reading(engine)) as session:
        return session.scalar(select(Contact.external_id).join(Response, Response.contact_id == Contact.id)
                              .where(Contact.crm == "demo-crm").group_by(Contact.id)
                              .order_by(func.count(Response.id).desc(), Contact.id).limit(1))


def count_of(text: str) -> int:
    """The first whole number in a text such as "42 responses match"."""
    found = re.search(r"\d+", text)
    assert found, text
    return int(found.group())


@pytest.mark.live_postgres
def test_an_admin_signs_in_and_every_page_shows_the_demo_data(new_page, live_server, live_demo: DemoWorkspace,
                                                              live_engine, page_log: PageLog):
    demo = live_demo
    page = new_page()
    page.goto(f"{live_server.url}/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))  # anonymous: sent to sign in first
    page.get_by_label("E-mail").fill(demo.users["admin"])
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard")
    expect(page.locator(".who")).to_have_text("admin@demo.example · admin")

    def visit(path: str, heading: str | re.Pattern) -> None:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)

    visit("/dashboard", "Overview")
    nps = page.locator(".metric-card").filter(has=page.get_by_role("heading", name="NPS", exact=True))
    expect(nps.locator(".metric-value")).to_have_text(re.compile(r"^[+-]\d+$"))
    expect(nps).to_contain_text(re.compile(r"n = [1-9]\d*"))
    expect(nps).to_contain_text("95% interval")
    expect(page.get_by_role("img", name=re.compile(r"^NPS per week"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Sentiment of [1-9]\d* comments"))).to_be_visible()

    visit("/dashboard/journey", "Journey")
    expect(page.get_by_role("heading", name="Peaks and pain points")).to_be_visible()
    expect(page.locator(".highlights li").first).to_contain_text(re.compile(r"n = [1-9]"))

    visit("/dashboard/experience", "Experience")
    heatmap = page.locator("table.heatmap")
    expect(heatmap.locator("tbody tr").first).to_be_visible()
    expect(heatmap.get_by_role("rowheader", name="Order delivered")).to_be_visible()

    visit("/dashboard/responses", "Responses")
    assert count_of(page.locator("#results-heading").inner_text()) > 0
    expect(page.locator(".response-card").first).to_be_visible()
    expect(page.locator(".response-card .badge").first).to_have_text(re.compile(r"NPS|CSAT|CES"))

    customer = busiest_demo_contact(live_engine)
    visit(f"/dashboard/contacts/{customer}", re.compile(rf"^Customer {customer}"))
    summary = page.locator(".summary-grid")
    assert count_of(summary.locator("div", has_text="Responses").locator("dd").inner_text()) > 0
    expect(page.locator(".timeline-entry.kind-response").first).to_be_visible()

    visit("/dashboard/themes", "Themes")
    themes = page.locator("table.themes tbody tr")
    expect(themes.first).to_be_visible()
    assert count_of(themes.first.locator("td").first.inner_text()) > 0  # mentions

    visit("/dashboard/followups", "Follow-ups")
    assert count_of(page.locator("#followup-results .count").inner_text()) > 0
    expect(page.locator(".followup-case").first).to_be_visible()

    visit("/dashboard/surveys", "Surveys")
    for title in ("How are we doing?", "Your delivery", "Your support request"):
        expect(page.get_by_role("rowheader", name=re.compile(re.escape(title)))).to_be_visible()

    visit("/dashboard/surveys/new", "New survey")
    visit("/dashboard/settings", "Settings")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert page_log.dialogs == []


def test_a_filter_change_updates_the_list_through_htmx_and_the_url(signed_in, live_server, live_engine):
    page = signed_in()
    start = f"{live_server.url}/dashboard/responses"
    page.goto(start)
    wait_for_htmx_started(page)
    page.evaluate("() => { window.sameDocument = true }")  # gone if the page reloads
    heading = page.locator("#results-heading")
    everything = count_of(heading.inner_text())

    page.get_by_label("Touchpoint").select_option("order_delivered")

    expect(page).to_have_url(re.compile(r"[?&]touchpoint=order_delivered(&|$)"))
    with Session(reading(live_engine)) as session:
        delivered = session.scalar(select(func.count(Response.id))
                                   .join(Touchpoint, Touchpoint.id == Response.touchpoint_id)
                                   .where(Touchpoint.key == "order_delivered",
                                          Response.completed_at >= utcnow() - timedelta(days=90)))
    assert 0 < delivered < everything
    expect(heading).to_have_text(f"{delivered} response{'' if delivered == 1 else 's'} match")
    cards = page.locator(".response-card h3 .muted")
    expect(cards.first).to_be_visible()
    assert set(cards.all_inner_texts()) == {"· Order delivered"}
    assert page.evaluate("() => window.sameDocument") is True

    page.go_back()
    expect(page).to_have_url(start)
    expect(heading).to_have_text(f"{everything} responses match")


def test_the_csv_export_downloads_exactly_the_filtered_rows(signed_in, live_server, live_engine):
    page = signed_in()
    page.goto(f"{live_server.url}/dashboard/responses?touchpoint=order_delivered&sentiment=negative")
    link = page.get_by_role("link", name=re.compile(r"^Download these \d+ as CSV$"))
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert re.fullmatch(r"voc-responses-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))

    with Session(reading(live_engine)) as session:
        expected = set(session.scalars(
            select(Response.id).join(Touchpoint, Touchpoint.id == Response.touchpoint_id)
            .where(Touchpoint.key == "order_delivered", Response.sentiment <= NEGATIVE_THRESHOLD,
                   Response.completed_at >= utcnow() - timedelta(days=90))))
    assert expected, "the demo should have some unhappy deliveries"
    ids = [int(row["response_id"]) for row in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert {row["touchpoint"] for row in rows} == {"order_delivered"}
    assert {row["sentiment"] and row["label"] for row in rows} == {"negative"}
    expect(link).to_have_text(f"Download these {len(expected)} as CSV")


def test_a_survey_built_in_the_editor_is_answered_and_counted_on_the_overview(signed_in, new_page, live_server,
                                                                               live_engine, page_log: PageLog):
    key = f"editor-{uuid.uuid4().hex[:8]}"
    title = f"After your delivery {key}"
    admin = signed_in()
    admin.goto(f"{live_server.url}/dashboard/surveys/new")
    wait_for_htmx_started(admin)
    admin.get_by_label("Key").fill(key)
    admin.get_by_label("Title", exact=True).fill(title)
    # Question 1 starts as an NPS question; add a free-text one.
    expect(admin.get_by_label("Type").first).to_have_value("nps")
    admin.get_by_role("button", name="Add a question").click()
    expect(admin.locator("#q-1-prompt")).to_be_visible()
    admin.locator("#q-1-id").fill("why")
    admin.locator("#q-1-type").select_option("text")
    admin.locator("#q-1-prompt").fill("What made the difference?")
    admin.get_by_role("button", name="Add a trigger").click()
    admin.get_by_label("Touchpoint").select_option("order_delivered")
    admin.get_by_label("Sample rate").fill("1")
    admin.get_by_role("button", name="Save survey").click()

    expect(admin).to_have_url(re.compile(rf"/dashboard/surveys\?saved={key}$"))
    row = admin.locator(f"#survey-{key}")
    expect(row.locator(".badge")).to_have_text("Draft")
    row.get_by_role("button", name=f"Activate {title}").click()
    # Activation leads to the survey's own page: it says the survey is live and offers a test link.
    expect(admin.locator("p.notice[role=status]")).to_contain_text(f"“{title}” is live")
    expect(admin.locator("#try-it")).to_be_visible()
    admin.goto(f"{live_server.url}/dashboard/surveys")
    expect(admin.locator(f"#survey-{key} .badge")).to_have_text("Active")
    with Session(reading(live_engine)) as session:
        survey = session.scalar(select(Survey).where(Survey.key == key))
        assert [q["type"] for q in survey.questions] == ["nps", "text"]
        assert [t["touchpoint"] for t in survey.triggers] == ["order_delivered"]

    # The CRM reports a delivery for a new customer (too small an order for the demo's delivery survey).
    with session_scope(live_engine) as session:
        outcome = f.event(session, event_id=f"evt-{key}", touchpoint="order_delivered", contact=f"crm-{key}",
                          attributes={"order_value": 1})
        assert outcome.invitation is not None and outcome.survey == key, outcome
        url = outcome.invitation.url

    customer = new_page()
    customer.goto(url)
    expect(customer.get_by_role("heading", level=1)).to_have_text(title)
    customer.get_by_role("radio", name="10", exact=True).check()
    customer.get_by_role("button", name="Next").click()  # one question per step, the default layout
    customer.get_by_label("What made the difference?").fill("The driver called ahead, lovely.")
    customer.get_by_role("button", name="Send").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Thank you")

    assert Worker(live_engine).run_until_idle() > 0  # analysis and rollups: `voc serve --no-worker` runs none

    admin.goto(f"{live_server.url}/dashboard?survey={key}")
    nps = admin.locator(".metric-card").filter(has=admin.get_by_role("heading", name="NPS", exact=True))
    expect(nps.locator(".metric-value")).to_have_text("+100")
    expect(nps).to_contain_text("n = 1 ")
    expect(admin.get_by_label("Survey")).to_have_value(key)
    assert page_log.dialogs == []


@pytest.fixture
def hostile_response(live_server, live_engine) -> dict[str, str]:
    """A detractor whose comment and CRM attributes are markup, analysed and followed up."""
    key = uuid.uuid4().hex[:8]
    comment = f"{SCRIPT} {IMG} {LINK} {SVG} The parcel arrived broken and late, awful delivery."
    with session_scope(live_engine) as session:
        f.touchpoint(session, key=f"tp-{key}", name=f"Hostile touchpoint {key}")
        f.survey(session, key=f"s-{key}", touchpoint=f"tp-{key}", title=f"Hostile survey {key}")
        outcome = f.event(session, event_id=f"evt-{key}", touchpoint=f"tp-{key}", contact=f"crm-{key}",
                          contact_fields={"attributes": {"note": SCRIPT, "avatar": IMG, "homepage": LINK,
                                                         "nickname": SVG}})
        assert outcome.invitation is not None, outcome
        submit_response(session, f.token_of(outcome.invitation.url), [("nps", 2), ("why", comment)])
    Worker(live_engine).run_until_idle()  # analysis, rollups and the follow-up case
    return {"survey": f"s-{key}", "contact": f"crm-{key}", "comment": comment}


def test_free_text_from_customers_and_the_crm_stays_text(signed_in, live_server, hostile_response,
                                                          page_log: PageLog):
    page = signed_in(bypass_csp=True)  # no CSP to hide behind: the escaping itself is tested
    main = page.locator("#main")
    survey, contact = hostile_response["survey"], hostile_response["contact"]

    def shows_as_text(path: str, pieces: tuple[str, ...] = HOSTILE) -> None:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        for piece in pieces:
            expect(main).to_contain_text(piece, use_inner_text=True)  # visible, literally
        assert main.locator("script, img, svg[onload], a[href^='javascript']").count() == 0, path

    shows_as_text(f"/dashboard/responses?survey={survey}")
    expect(page.locator(".response-card")).to_have_count(1)
    shows_as_text(f"/dashboard/contacts/{contact}")
    attributes = page.locator(".contact-attributes")
    for piece in HOSTILE:
        expect(attributes.get_by_text(piece, exact=True)).to_be_visible()
    shows_as_text(f"/dashboard/followups?survey={survey}")
    expect(page.locator(".followup-case")).to_have_count(1)
    for path in (f"/dashboard?survey={survey}", f"/dashboard/themes?survey={survey}"):
        shows_as_text(path, pieces=())
    page.wait_for_timeout(200)  # an onerror or onload handler would have fired by now
    assert page_log.dialogs == []


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/responses"])
def test_axe_finds_no_serious_problem(signed_in, live_server, path):
    page = signed_in()
    page.goto(f"{live_server.url}{path}")
    wait_for_htmx_started(page)
    assert_no_serious_a11y_violations(page)


def test_a_viewer_sees_the_pages_but_may_not_change_a_survey(signed_in, live_server, live_engine):
    page = signed_in("viewer")
    page.goto(f"{live_server.url}/dashboard/surveys")
    expect(page.get_by_role("heading", level=1)).to_have_text("Surveys")
    expect(page.get_by_role("rowheader", name=re.compile("How are we doing"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^(Pause|Activate)"))).to_have_count(0)
    expect(page.get_by_role("link", name="New survey")).to_have_count(0)

    csrf = page.locator("form.signout input[name=csrf_token]").get_attribute("value")
    answer = page.request.post(f"{live_server.url}/dashboard/surveys/relationship_nps/status",
                               form={"csrf_token": csrf, "status": "paused"}, max_redirects=0)
    assert answer.status == 403
    with Session(reading(live_engine)) as session:
        assert session.scalar(select(Survey.status).where(Survey.key == "relationship_nps")) == "active"


def test_the_editor_previews_unsaved_questions_read_only(signed_in, live_server, live_engine):
    key = f"preview-{uuid.uuid4().hex[:8]}"
    admin = signed_in()
    admin.goto(f"{live_server.url}/dashboard/surveys/new")
    wait_for_htmx_started(admin)
    admin.get_by_label("Key").fill(key)
    admin.get_by_label("Title", exact=True).fill(f"Tell us {key}")
    admin.locator("#q-0-prompt").fill("Would you tell a friend about this delivery?")
    admin.get_by_role("button", name="Add a question").click()
    expect(admin.locator("#q-1-prompt")).to_be_visible()
    admin.locator("#q-1-id").fill("why")
    admin.locator("#q-1-prompt").fill("What should we change first?")
    admin.get_by_role("button", name="Preview changes").click()
    # The frame shows the customer's page with the unsaved questions; the editor stays as it was.
    preview = admin.frame_locator("#survey-preview")
    expect(preview.get_by_role("heading", name=f"Tell us {key}")).to_be_visible()
    expect(preview.locator("legend", has_text="Would you tell a friend about this delivery?")).to_be_visible()
    expect(preview.get_by_role("textbox", name="What should we change first?")).to_be_visible()
    expect(preview.get_by_role("radio", name="10")).to_be_visible()
    expect(preview.get_by_text("Nothing can be sent from here")).to_be_visible()
    expect(admin.locator("#q-1-prompt")).to_have_value("What should we change first?")
    with Session(reading(live_engine)) as session:
        assert session.scalar(select(Survey).where(Survey.key == key)) is None  # a preview saves nothing
