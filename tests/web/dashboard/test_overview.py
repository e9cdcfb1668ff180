"""The overview: headline figures with n, interval and change, from rollups; filters in the URL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from tests.analytics.helpers import XSS, answer, rolled_up
from voc.analytics.service import compare, resolve_filters


def load(engine, answers, **kw) -> None:
    answer(engine, answers, touchpoint="order_delivered", **kw)


def test_a_viewer_sees_nps_with_n_interval_and_small_sample_flag(client, engine, login, run_jobs):
    load(engine, [(10, "Great service, lovely staff."), (9, None), (3, "Terrible, the parcel was late.")])
    run_jobs()
    login("viewer")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "<h2>NPS</h2>" in page.text
    assert "+33" in page.text  # 2 promoters, 1 detractor of 3
    assert "n = 3" in page.text and "small sample" in page.text
    assert "95% interval" in page.text
    assert "3 responses to 3 invitations" in page.text and "100.0%" in page.text
    assert 'role="img"' in page.text and "<title>" in page.text
    assert "Negative: 1" in page.text and "Positive: 1" in page.text


def card(page: str, label: str) -> str:
    """The text of one headline card."""
    return page.split(f"<h2>{label}</h2>")[1].split("</article>")[0]


def test_the_change_shows_its_interval_and_both_n(client, engine, login, run_jobs):
    load(engine, [(10, None)] * 25 + [(8, None)] * 10 + [(3, None)] * 5, days_ago=2)  # NPS +50
    load(engine, [(10, None)] * 10 + [(8, None)] * 10 + [(3, None)] * 20, days_ago=40)  # NPS −25
    run_jobs()
    login("viewer")
    nps = " ".join(card(client.get("/dashboard?period=30d").text, "NPS").split())
    # Var now = (0.625 + 0.125 − 0.5²)/40 = 0.0125; before (0.25 + 0.5 − 0.25²)/40 = 0.0171875;
    # 1.96 · √0.0296875 = 0.3377 → 75 ± 33.8 points.
    assert "+75.0 points (95% interval +41.2 to +108.8)" in nps
    assert '<strong class="significant">significant</strong> (the interval excludes 0)' in nps
    assert "n = 40 now, 40 before" in nps and "z =" not in nps


def test_four_satisfied_answers_are_too_few_to_compare_with_3230(client, engine, login):
    """The issue: CSAT moved "−41.7 points, significant (z = −48.0)" against a period of 4 answers."""
    rolled_up(engine, days_ago=2, csat_5=1200, csat_4=683, csat_3=600, csat_2=400, csat_1=347)
    rolled_up(engine, days_ago=40, csat_5=4)
    login("viewer")
    csat = " ".join(card(client.get("/dashboard?period=30d").text, "CSAT").split())
    assert '<p class="metric-value">58%</p>' in csat and "n = 3,230" in csat
    assert '<span class="flag">too few answers to compare</span>' in csat
    assert "n = 3,230 now, 4 before" in csat
    assert "significant" not in csat and "z =" not in csat and "points" not in csat


def test_compare_is_not_significant_for_a_small_difference():
    class Row:
        def __init__(self, dist):
            for score in range(11):
                setattr(self, f"nps_{score}", dist.get(score, 0))
    now, before = Row({10: 20, 3: 10}), Row({10: 18, 3: 12})
    change = compare("nps", now, before)
    assert change.reason is None and change.significant is False
    assert (change.n_now, change.n_before) == (30, 30)
    # NPS +33.3 against +20.0. Var now = (2/3 + 1/3 − (1/3)²)/30 = 0.0296296; before (0.6 + 0.4 − 0.2²)/30 = 0.032;
    # 1.96 · √0.0616296 = 0.48658 → 13.33 ± 48.66 points.
    assert change.delta == pytest.approx(13.33, abs=0.01)
    assert (change.low, change.high) == (pytest.approx(-35.32, abs=0.01), pytest.approx(61.99, abs=0.01))


def test_filters_live_in_the_url_and_htmx_gets_the_results_block(client, engine, login, run_jobs):
    load(engine, [(10, None)], days_ago=20)
    run_jobs()
    login("viewer")
    week = client.get("/dashboard?period=7d&survey=survey_order_delivered&touchpoint=order_delivered")
    assert week.status_code == 200 and "No answers in the last 7 days" in week.text
    assert '<option value="7d" selected>' in week.text
    fragment = client.get("/dashboard?period=30d", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="results"')
    assert "<html" not in fragment.text and "n = 1" in fragment.text


def test_figures_come_from_rollups_not_responses(client, engine, login, run_jobs):
    load(engine, [(10, None)])
    run_jobs()
    with Session(engine) as session:
        from sqlalchemy import text
        # The daily cells and the totals over every survey/touchpoint: each filter reads one of them.
        session.execute(text("UPDATE rollup SET nps_10 = 0, nps_0 = 5"))
        session.execute(text("UPDATE rollup_total SET nps_10 = 0, nps_0 = 5"))
        session.commit()
    login("viewer")
    for query in ("", "?survey=survey_order_delivered", "?touchpoint=order_delivered",
                  "?survey=survey_order_delivered&touchpoint=order_delivered"):
        card = client.get(f"/dashboard{query}").text.split("<h2>NPS</h2>")[1].split("</article>")[0]
        assert '<p class="metric-value">-100</p>' in card and "n = 5" in card, query


def test_anonymous_is_redirected_to_login(client):
    # The page only reads; tests/web/dashboard/test_roles.py holds every dashboard route that writes to its role.
    answer = client.get("/dashboard", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/dashboard"


def test_customer_and_survey_text_is_escaped(client, engine, login, run_jobs):
    load(engine, [(1, XSS)], title=XSS)
    run_jobs()
    login("viewer")
    page = client.get("/dashboard").text
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the survey title in the filter


def test_resolve_filters_ignores_unknown_keys(session):
    filters = resolve_filters(session, "nope", "nope", "bogus")
    assert filters.survey is None and filters.touchpoint is None and filters.period == "90d"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_are_served_while_answers_hold_the_write_lock(client, engine, login, run_jobs):
    """Dashboard pages only read: on SQLite they neither take nor wait for the write lock."""
    load(engine, [(10, "Great service, lovely staff.")])
    run_jobs()
    login("viewer")
    writer = create_engine(engine.url, connect_args={"timeout": 0})
    try:
        with writer.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # a write in progress elsewhere
            page = client.get("/dashboard")
            connection.exec_driver_sql("ROLLBACK")
    finally:
        writer.dispose()
    assert page.status_code == 200 and "n = 1" in page.text


def test_choice_questions_show_their_distribution_with_n_and_links(client, engine, login, run_jobs):
    from datetime import timedelta

    from tests.analytics.helpers import answer_at
    from voc.db import utcnow

    when = utcnow() - timedelta(days=1)
    for given in ([("nps", 9), ("liked", ["Speed", "Staff"]), ("plan", "Pro")], [("nps", 6), ("liked", ["Speed"])],
                  [("nps", 10)]):
        answer_at(engine, when, given, touchpoint="renewal", stage="renewal", title="Renewal survey")
    load(engine, [(10, None)])  # a survey without choice questions: no chart
    run_jobs()
    login("viewer")
    page = client.get("/dashboard").text
    panel = " ".join(page.split('id="choices-title"')[1].split("</section>")[0].split())
    assert panel.count("<figure") == 2 and "How did we do?" not in panel
    liked = panel.split("What did you like?")[1]
    assert "(Renewal survey · multiple choice)" in liked
    assert "n = 3 respondents who saw the question" in liked and "small sample (n &lt; 30)" in liked
    assert "shares are of respondents and add up to more than 100%" in liked
    speed = liked.split(">Speed</a></th>")[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in speed and "66.7% <span class=\"muted\">(20.8% to 93.9%)" in speed
    assert "<title>Speed: 2 of 3 (66.7%, 95% interval 20.8% to 93.9%)</title>" in speed
    assert "/dashboard/responses?period=90d&amp;survey=survey_renewal&amp;answer=liked%3ASpeed" in liked
    # One survey chosen: only its choice questions.
    assert 'id="choices-title"' not in client.get("/dashboard?survey=survey_order_delivered").text
