"""The response explorer page and its CSV export, as a CX manager uses them."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.explore.helpers import respond, setup_surveys
from voc.config import get_settings

XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)> the delivery was late"


@pytest.fixture(autouse=True)
def _no_cooldown(monkeypatch):
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()


@pytest.fixture
def data(session, run_jobs):
    setup_surveys(session)
    made = {
        "rude": respond(session, [("nps", 3), ("why", "The driver was rude and the parcel was damaged.")],
                        contact="CUS-1", days_ago=3),
        "xss": respond(session, [("nps", 9), ("why", XSS)], contact="CUS-<b>2</b>", days_ago=2),
        "formula": respond(session, [("csat", 5), ("what", "=HYPERLINK(\"http://evil\",\"click\")"),
                                     ("fix", "-2+3 nothing, thanks")],
                           touchpoint="ticket_closed", contact="+CUS-3", days_ago=1),
    }
    run_jobs()
    return {name: r.id for name, r in made.items()}


def test_viewer_sees_and_filters_responses(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses")
    assert page.status_code == 200
    assert "3 responses match" in page.text and "The driver was rude" in page.text
    assert 'hx-push-url="true"' in page.text and 'hx-target="#results"' in page.text
    narrowed = client.get("/dashboard/responses", params={"q": "DRIVER", "band": "detractor"})
    assert "1 response match" in narrowed.text and "driver" in narrowed.text
    assert "HYPERLINK" not in narrowed.text
    assert 'value="DRIVER"' in narrowed.text and '<option value="detractor" selected>' in narrowed.text
    assert "0 responses match" in client.get("/dashboard/responses", params={"survey": "support", "q": "driver"}).text


def test_htmx_gets_only_the_results_block(client, login, data):
    login("viewer")
    answer = client.get("/dashboard/responses", params={"q": "driver"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="results"')
    assert "<html" not in answer.text and "<form" not in answer.text and "1 response match" in answer.text


def test_load_more_pages_through_every_response_once(client, login, data):
    login("viewer")
    from voc.explore import service

    service_size = service.PAGE_SIZE
    service.PAGE_SIZE = 1
    try:
        first = client.get("/dashboard/responses")
        found = re.findall(r'id="response-(\d+)"', first.text)
        link = re.search(r'<li class="load-more"><a href="([^"]+)" hx-get="\1" hx-target="closest li"', first.text)
        while link:
            url = link.group(1).replace("&amp;", "&")
            more = client.get(url, headers={"HX-Request": "true"})
            assert "<html" not in more.text and more.text.lstrip().startswith("<li")
            found += re.findall(r'id="response-(\d+)"', more.text)
            nojs = client.get(url)  # without JavaScript the link is simply the next page
            assert nojs.status_code == 200 and "Back to the newest" in nojs.text
            link = re.search(r'<li class="load-more"><a href="([^"]+)"', more.text)
    finally:
        service.PAGE_SIZE = service_size
    assert found == [str(data["formula"]), str(data["xss"]), str(data["rude"])]


def test_highlights_are_labelled_and_follow_the_dimension_filter(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses", params={"q": "driver"})
    assert re.search(r'<mark class="hl hl-\w+ tone-negative">', page.text)
    assert re.search(r"\[\w+: negative\]", page.text)  # the label, not only the colour
    only = client.get("/dashboard/responses", params={"q": "driver", "dimension": "relate"})
    marks = set(re.findall(r'<mark class="hl hl-(\w+) tone', only.text))
    assert marks == {"relate"}


def test_customer_text_is_escaped(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses")
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    # A highlight may start inside the payload; every piece of it is escaped text.
    assert "&lt;script&gt;" in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "CUS-&lt;b&gt;2&lt;/b&gt;" in page.text and "/dashboard/contacts/CUS-%3Cb%3E2%3C%2Fb%3E" in page.text
    search = client.get("/dashboard/responses", params={"q": '"><script>alert(1)</script>'})
    assert "<script>alert(1)</script>" not in search.text


def test_csv_holds_exactly_the_filtered_rows_and_defuses_formulas(client, login, data):
    login("viewer")
    answer = client.get("/dashboard/responses.csv", params={"touchpoint": "ticket_closed"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="voc-responses-\d{4}-\d{2}-\d{2}\.csv"',
                        answer.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(r["response_id"]) for r in rows] == [data["formula"]]
    assert rows[0]["comment"].startswith("'=HYPERLINK(") and rows[0]["contact_external_id"] == "'+CUS-3"
    everything = list(csv.DictReader(io.StringIO(client.get("/dashboard/responses.csv").text)))
    assert [int(r["response_id"]) for r in everything] == [data["formula"], data["xss"], data["rude"]]
    assert client.get("/dashboard/responses").text.count('href="/dashboard/responses.csv?') == 1


def test_anonymous_visitor_is_sent_to_login(client):
    for path in ("/dashboard/responses", "/dashboard/responses.csv"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_most_negative_first_is_an_order_the_page_offers_and_keeps(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses", params={"sort": "sentiment"}).text
    assert '<option value="sentiment" selected>Most negative first</option>' in page
    assert "Most negative comment first; responses without a comment last." in page
    order = [int(i) for i in re.findall(r'<li class="response-card" id="response-(\d+)"', page)]
    assert len(order) == 3 and order[0] == data["rude"]
    assert "sort=sentiment" in re.search(r'<a href="([^"]+)" download>', page).group(1)  # the CSV keeps the view


def test_times_are_shown_in_the_workspace_time_zone(client, login, data, monkeypatch):
    monkeypatch.setenv("VOC_TIME_ZONE", "Asia/Kolkata")
    get_settings.cache_clear()
    login("viewer")
    page = client.get("/dashboard/responses").text
    stamp = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(stamp.group(1))
    assert stamp.group(2) == moment.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M") + " Asia/Kolkata"
    assert "whole days in Asia/Kolkata, today included" in page


def test_filtered_by_a_theme_the_sentence_naming_it_is_highlighted(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses", params={"theme": "parcel"})
    marks = re.findall(r'<mark class="hl hl-\w+ tone-\w+">([^<]*)</mark><small class="hl-tag">\[([^\]]*)\]', page.text)
    # Every piece of the sentence naming the parcel is marked with the theme (beside any dimension's mark).
    assert "".join(text for text, tags in marks if "theme: parcel" in tags) == \
        "The driver was rude and the parcel was damaged."
    assert "theme: " not in client.get("/dashboard/responses").text  # no theme filter: no theme highlight


def test_the_csv_of_a_most_negative_first_view_lists_the_rows_in_that_order(client, login, data):
    login("viewer")
    page = client.get("/dashboard/responses", params={"sort": "sentiment"}).text
    shown = [int(i) for i in re.findall(r'<li class="response-card" id="response-(\d+)"', page)]
    href = re.search(r'<a href="([^"]+)" download>', page).group(1).replace("&amp;", "&")
    rows = list(csv.DictReader(io.StringIO(client.get(href).text)))
    assert [int(r["response_id"]) for r in rows] == shown and shown[0] == data["rude"]
    assert shown != [data["formula"], data["xss"], data["rude"]]  # not the newest-first order
