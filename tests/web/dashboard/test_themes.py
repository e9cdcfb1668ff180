"""The themes page: top themes with volume, sentiment and trend, each linking to its responses."""

from __future__ import annotations

from tests.analytics.helpers import XSS, answer

LATE = "The delivery was late and the box was crushed."


def test_themes_show_volume_sentiment_trend_and_link(client, engine, login, run_jobs):
    answer(engine, [(3, LATE)] * 4, days_ago=2)
    answer(engine, [(3, LATE)] * 1, days_ago=40)
    run_jobs()
    login("viewer")
    page = client.get("/dashboard/themes?period=30d")
    assert page.status_code == 200
    text = page.text
    # The link keeps the view's period: the explorer lists exactly the responses counted here.
    assert '/dashboard/responses?period=30d&amp;theme=delivery">delivery</a>' in text and ">packaging</a>" in text
    assert "4 mentions" in text and "▲ up 3" in text and "+300%" in text
    assert "-0.56" in text and "100%" in text and "small sample" in text


def test_htmx_gets_the_results_block_and_empty_says_so(client, login):
    login("viewer")
    fragment = client.get("/dashboard/themes", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="results"') and "No themes in the last 90 days" in fragment


def test_anonymous_is_redirected_and_a_viewer_cannot_post(client, login):
    assert client.get("/dashboard/themes", follow_redirects=False).status_code in (302, 303, 307)
    csrf = login("viewer")
    assert client.post("/dashboard/themes", data={"csrf_token": csrf}).status_code in (403, 405)


def test_customer_text_is_escaped(client, engine, login, run_jobs):
    answer(engine, [(1, LATE + " " + XSS)], title=XSS)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/themes").text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
