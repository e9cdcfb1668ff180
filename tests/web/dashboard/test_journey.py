"""The journey page: touchpoints in journey order, score and sentiment on one scale, peaks and pains named."""

from __future__ import annotations

from tests.analytics.helpers import XSS, answer

HAPPY = "Lovely staff, they treated me like family."
ANGRY = "The delivery was late and the box was crushed."


def test_touchpoints_follow_the_journey_and_peaks_and_pains_are_named(client, engine, login, run_jobs):
    answer(engine, [(3, ANGRY)] * 30, touchpoint="support_ticket", stage="support", name="Support ticket")
    answer(engine, [(10, HAPPY)] * 30, touchpoint="checkout", stage="purchase", name="Checkout")
    answer(engine, [(8, None)] * 2, touchpoint="onboarding_call", stage="onboarding", name="Onboarding call")
    run_jobs()
    login("viewer")
    page = client.get("/dashboard/journey")
    assert page.status_code == 200
    text = page.text
    assert text.index("Checkout</th>") < text.index("Onboarding call</th>") < text.index("Support ticket</th>")
    assert "Highest score:</strong> Checkout" in text and "Lowest score:</strong> Support ticket" in text
    assert "Pain point:</strong> Support ticket" in text and "Peak of feeling:</strong> Checkout" in text
    assert "Onboarding call (" not in text  # two answers are too few to be named
    assert "NPS ÷ 100" in text and 'role="img"' in text and "small sample" in text


def test_too_few_answers_name_no_peak(client, engine, login, run_jobs):
    answer(engine, [(10, HAPPY)] * 3)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey?period=30d").text
    assert "too few to name peaks" in text


def test_htmx_gets_the_results_block(client, engine, login, run_jobs):
    answer(engine, [(10, None)])
    run_jobs()
    login("viewer")
    fragment = client.get("/dashboard/journey?period=7d", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="results"') and "<html" not in fragment


def test_anonymous_is_redirected_and_a_viewer_cannot_post(client, login):
    assert client.get("/dashboard/journey", follow_redirects=False).status_code in (302, 303, 307)
    csrf = login("viewer")
    assert client.post("/dashboard/journey", data={"csrf_token": csrf}).status_code in (403, 405)


def test_names_are_escaped(client, engine, login, run_jobs):
    answer(engine, [(1, XSS)], name=XSS, title=XSS)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey").text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
