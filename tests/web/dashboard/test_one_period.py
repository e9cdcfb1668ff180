"""One period everywhere: the overview, journey, experience, themes, the response explorer, its CSV and
GET /api/v1/metrics count the same responses, with answers on the very edges of the period's whole days in
the workspace time zone."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from tests.analytics.helpers import answer_at
from voc.analytics.rollups import rebuild_rollups
from voc.config import get_settings
from voc.periods import period_bounds

LATE = "The delivery was late and the box was crushed."
SECOND = timedelta(seconds=1)


@pytest.fixture(params=["UTC", "Europe/Berlin"])
def zone(request, monkeypatch) -> str:
    """The workspace time zone, and the periods' clock frozen at noon on 30 Nov 2026 there (a rolling window
    ending now would hold other responses than the period's whole days)."""
    monkeypatch.setenv("VOC_TIME_ZONE", request.param)
    get_settings.cache_clear()
    now = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo(request.param))
    monkeypatch.setattr("voc.periods.utcnow", lambda: now)
    monkeypatch.setattr("voc.web.dashboard.responses.utcnow", lambda: now)
    return request.param


INSIDE = ("first second", "last second", "middle")


def load_edges(engine, period: str = "30d") -> dict[str, int]:
    """Answers on the first and last second of the period and one second outside each end, and one inside:
    promoters inside, detractors outside, so a figure over the wrong responses shows in its value too."""
    bounds = period_bounds(period)
    moments = {"first second": bounds.start, "last second": bounds.end - SECOND,
               "middle": bounds.start + timedelta(days=10, hours=5),
               "second before": bounds.start - SECOND, "second after": bounds.end}
    plans = {"first second": "Pro", "last second": "Pro", "middle": "Basic", "second before": "Pro",
             "second after": "Pro"}
    return {name: answer_at(engine, moment, [("nps", 10 if name in INSIDE else 0), ("why", LATE),
                                             ("plan", plans[name]), ("liked", ["Speed", "Staff"])],
                            touchpoint="order_delivered", name="Order delivered")
            for name, moment in moments.items()}


def card(page: str, label: str) -> str:
    return " ".join(page.split(f"<h2>{label}</h2>")[1].split("</article>")[0].split())


def test_every_surface_counts_the_same_responses_on_the_edges(client, engine, login, run_jobs, admin_headers,
                                                              zone):
    ids = load_edges(engine)
    run_jobs()
    login("viewer")
    label = {"UTC": "1 Nov 2026 00:00 – 30 Nov 2026 24:00 UTC",
             "Europe/Berlin": "1 Nov 2026 00:00 – 30 Nov 2026 24:00 Europe/Berlin"}[zone]
    query = "period=30d"

    overview = client.get(f"/dashboard?{query}").text
    assert f"Period: <strong>{label}</strong> (30 whole days in {zone}, today included)" in overview
    assert '<p class="metric-value">+100</p>' in card(overview, "NPS") and "n = 3" in card(overview, "NPS")
    assert "3 responses to" in overview
    read = re.search(r'<a href="([^"]+)">Read these 3 responses</a>', overview).group(1).replace("&amp;", "&")
    assert "3 responses match" in client.get(read).text
    choices = " ".join(overview.split('id="choices-title"')[1].split())
    assert "Which plan?" in choices and "n = 3 respondents who saw the question" in choices

    journey = client.get(f"/dashboard/journey?{query}").text
    assert f"<strong>{label}</strong>" in journey
    row = " ".join(journey.split("Order delivered</a></th>")[1].split("</tr>")[0].split())
    assert '<td class="num">3</td>' in row and "+100" in row and "n = 3" in row

    experience = client.get(f"/dashboard/experience?{query}").text
    assert f"<strong>{label}</strong>" in experience and "n = 3 responses" in experience

    themes = client.get(f"/dashboard/themes?{query}").text
    assert f"<strong>{label}</strong>" in themes and "3 mentions" in themes

    explorer = client.get(f"/dashboard/responses?{query}").text
    assert "3 responses match" in explorer and f"<strong>{label}</strong>" in explorer
    exported = list(csv.reader(io.StringIO(client.get(f"/dashboard/responses.csv?{query}").text)))
    assert sorted(int(r[0]) for r in exported[1:]) == sorted(ids[name] for name in INSIDE)

    api = client.get("/api/v1/metrics", params={"period": "30d"}, headers=admin_headers).json()
    assert (api["nps"]["n"], api["nps"]["value"]) == (3, 100.0)
    bounds = period_bounds("30d")
    explicit = client.get("/api/v1/metrics", params={"from": bounds.start.isoformat(), "to": bounds.end.isoformat()},
                          headers=admin_headers).json()
    assert explicit["nps"]["n"] == 3


def test_the_default_period_is_the_same_on_the_api_and_the_dashboard(client, engine, login, run_jobs,
                                                                     admin_headers, zone):
    load_edges(engine)  # 30-day edges: in the default 90 days, all but "second after" (tomorrow) count
    run_jobs()
    login("viewer")
    nps = card(client.get("/dashboard").text, "NPS")
    assert "n = 4" in nps and '<p class="metric-value">+50</p>' in nps
    assert "4 responses match" in client.get("/dashboard/responses").text
    api = client.get("/api/v1/metrics", headers=admin_headers).json()["nps"]
    assert (api["n"], api["value"]) == (4, 50.0)


def test_a_choice_bar_links_to_exactly_its_responses(client, engine, login, run_jobs, zone):
    load_edges(engine)
    run_jobs()
    login("viewer")
    overview = client.get("/dashboard?period=30d").text
    rows = overview.split('id="choices-title"')[1]
    pro = re.search(r'<th scope="row"><a href="([^"]+)">Pro</a></th>', rows)
    assert pro and "answer=plan%3APro" in pro.group(1) and "period=30d" in pro.group(1)
    counted = " ".join(rows.split(">Pro</a></th>")[1].split("</tr>")[0].split())
    assert '<td class="num">2</td>' in counted and "66.7%" in counted  # 2 of the 3 who saw it
    explorer = client.get(pro.group(1).replace("&amp;", "&")).text
    assert "2 responses match" in explorer and "Answered <strong>Which plan?: Pro</strong>" in explorer


def test_a_rebuild_counts_the_same_days(client, engine, login, run_jobs, zone):
    load_edges(engine)
    run_jobs()
    login("viewer")
    before = client.get("/dashboard?period=30d").text
    with Session(engine) as session:
        rebuild_rollups(session)
        session.commit()
    after = client.get("/dashboard?period=30d").text
    for label in ("NPS", "CSAT"):
        assert card(before, label) == card(after, label)
    funnel = re.compile(r"\d+ responses to \d+ invitations")
    assert funnel.search(before).group(0) == funnel.search(after).group(0)
    assert after.split('id="choices-title"')[1] == before.split('id="choices-title"')[1]
