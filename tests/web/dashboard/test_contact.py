"""One customer's page: summary, CRM attributes and one timeline, newest first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests import factories as f
from tests.explore.helpers import respond, setup_surveys
from voc.config import get_settings
from voc.db import utcnow

XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _no_cooldown(monkeypatch):
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()


@pytest.fixture
def story(session, run_jobs):
    setup_surveys(session)
    f.touchpoint(session, "store_visit", "usage", name="Store visit")  # no survey: its events are suppressed
    respond(session, [("nps", 9), ("why", "Quick delivery, friendly driver.")], contact="CUS-1", days_ago=5,
            attributes={"tier": "gold", "note": XSS, "<img src=x onerror=alert(1)>": "value"})
    f.event(session, event_id="visit-1", touchpoint="store_visit", contact="CUS-1",
            occurred_at=utcnow() - timedelta(days=3))
    respond(session, [("csat", 1), ("what", "The agent hung up on me. <img src=x onerror=alert(1)>")],
            touchpoint="ticket_closed", contact="CUS-1", days_ago=1)
    respond(session, [("nps", 4), ("why", "Another CRM's customer.")], contact="CUS-1", crm="hubspot", days_ago=2)
    session.commit()
    run_jobs()


def test_viewer_sees_the_summary_and_the_timeline_newest_first(client, login, story):
    login("viewer")
    page = client.get("/dashboard/contacts/CUS-1", params={"crm": "default"})
    assert page.status_code == 200
    text = page.text
    assert "Customer CUS-1" in text and "Latest NPS" in text and "detractor" not in text.split("Timeline")[0]
    assert re.search(r"<dt>Responses</dt><dd>2</dd>", text)
    assert "<dt>tier</dt><dd>gold</dd>" in text
    timeline = text.split('id="timeline-heading"')[1]
    kinds = re.findall(r'<strong class="kind">(\w+)</strong>', timeline)
    # newest first: the support answer (1 day ago), its invitation and event; the store visit (3 days ago,
    # suppressed); the delivery answer (5 days ago), its invitation and event.
    assert kinds == ["Response", "Invitation", "Event", "Event", "Response", "Invitation", "Event"]
    assert "Not invited: no active survey" in timeline
    assert timeline.index("The agent hung up") < timeline.index("Quick delivery")
    assert "Another CRM" not in text


def test_several_crms_sharing_an_id_are_offered_as_a_choice(client, login, story):
    login("viewer")
    page = client.get("/dashboard/contacts/CUS-1")
    assert page.status_code == 200 and "several CRMs" in page.text
    assert 'href="/dashboard/contacts/CUS-1?crm=hubspot"' in page.text
    hubspot = client.get("/dashboard/contacts/CUS-1?crm=hubspot")
    assert "Another CRM" in hubspot.text and "hung up" not in hubspot.text


def test_an_unknown_customer_is_a_clear_404(client, login, story):
    login("viewer")
    page = client.get("/dashboard/contacts/NOBODY-<b>")
    assert page.status_code == 404 and "Customer not found" in page.text
    assert "NOBODY-&lt;b&gt;" in page.text and "NOBODY-<b>" not in page.text


def test_customer_and_crm_text_is_escaped(client, login, story):
    login("viewer")
    text = client.get("/dashboard/contacts/CUS-1?crm=default").text
    assert XSS not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_anonymous_visitor_is_sent_to_login_and_viewer_can_neither_export_nor_erase(client, login, story):
    answer = client.get("/dashboard/contacts/CUS-1", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    csrf = login("viewer")
    assert "Erase this customer" not in client.get("/dashboard/contacts/CUS-1?crm=hubspot").text
    customer = {"external_id": "CUS-1", "crm": "hubspot", "csrf_token": csrf}
    for action, extra in (("contact-export", {}), ("contact-erase", {"confirm": "yes"})):
        refused = client.post(f"/dashboard/{action}", data={**customer, **extra})
        assert refused.status_code == 403 and "needs the admin role" in refused.text, action
    # The same requests from an admin do what the page's buttons promise (and nothing was erased above).
    customer["csrf_token"] = login("admin")
    exported = client.post("/dashboard/contact-export", data=customer)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.json()["contact"]["external_id"] == "CUS-1" and exported.json()["contact"]["crm"] == "hubspot"
    erased = client.post("/dashboard/contact-erase", data={**customer, "confirm": "yes"})
    assert erased.status_code == 200 and "Customer erased" in erased.text
    assert client.get("/dashboard/contacts/CUS-1?crm=hubspot").status_code == 404
