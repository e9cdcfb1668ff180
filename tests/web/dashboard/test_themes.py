"""The themes page: top themes with volume, sentiment and trend, each linking to its responses."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests.analytics.helpers import XSS, answer
from voc.db import utcnow
from voc.surveys.models import Response

LATE = "The delivery was late and the box was crushed."


def test_themes_show_volume_sentiment_trend_and_link(client, engine, login, run_jobs):
    recent = [LATE, "The delivery was late.", "Delivery was slow and the driver was rude.",
              "The delivery took two weeks, awful."]  # four ways to complain, so the mean is of four scores
    answer(engine, [(3, text) for text in recent], days_ago=2)
    answer(engine, [(3, LATE)] * 1, days_ago=40)
    run_jobs()
    login("viewer")
    page = client.get("/dashboard/themes?period=30d")
    assert page.status_code == 200
    text = page.text
    # The link keeps the view's period: the explorer lists exactly the responses counted here.
    assert '/dashboard/responses?period=30d&amp;theme=delivery">delivery</a>' in text and ">packaging</a>" in text
    assert "4 mentions" in text and "▲ up 3" in text and "+300%" in text  # 4 now against 1 before
    # The mean and the negative share of the scores the analyser stored for the four recent comments.
    with Session(engine) as session:
        scores = list(session.scalars(select(Response.sentiment).where(
            Response.completed_at >= utcnow() - timedelta(days=30))))
    assert len(set(scores)) == 4 and all(score <= -0.05 for score in scores)  # VADER's line for negative
    assert f"{sum(scores) / len(scores):+.2f}" in text and "100%" in text and "small sample" in text


def test_htmx_gets_the_results_block_and_empty_says_so(client, login):
    login("viewer")
    fragment = client.get("/dashboard/themes", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="results"') and "No themes in the last 90 days" in fragment


def test_anonymous_is_redirected_to_login(client):
    # The page only reads; tests/web/dashboard/test_roles.py holds every dashboard route that writes to its role.
    answer = client.get("/dashboard/themes", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/dashboard/themes"


def test_customer_text_is_escaped(client, engine, login, run_jobs):
    answer(engine, [(1, LATE + " " + XSS)], title=XSS)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/themes").text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text


def test_what_hurts_most_comes_first_and_its_label_is_the_filter_it_opens(client, engine, login, run_jobs):
    import re

    answer(engine, [(9, "Lovely staff and a great product.")] * 6 + [(2, "I waited an hour in the queue.")] * 3,
           days_ago=2)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/themes?period=30d").text
    labels = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', text)
    assert labels[0] == "wait time" and set(labels[1:]) == {"staff", "product"}  # 3 negative before 6 positive
    assert "3 negative" in text and "100%" in text
    # No comments in the 30 days before: no trend, and no "new" for everything
    assert "no earlier data" in text and "(new)" not in text and "▲" not in text
    link = re.search(r'<a href="([^"]+)">wait time</a>', text).group(1).replace("&amp;", "&")
    assert link.endswith("/dashboard/responses?period=30d&theme=wait+time")
    assert "3 responses match" in client.get(link).text


def test_a_trend_is_called_significant_only_after_the_correction(client, engine, login, run_jobs):
    answer(engine, [(2, "The refund never came.")] * 24 + [(9, "Lovely staff.")] * 6, days_ago=2)
    answer(engine, [(2, "The refund never came.")] * 6 + [(9, "Lovely staff.")] * 24, days_ago=40)
    run_jobs()
    login("viewer")
    text = " ".join(client.get("/dashboard/themes?period=30d").text.split())
    assert "▲ up 18 (+300%) · <strong" in text and "▼ down 18 (-75%) · <strong" in text
    assert text.count(">significant</strong>") == 2 and "Benjamini–Hochberg" in text
    assert "30 comments before, 30 now" in text
