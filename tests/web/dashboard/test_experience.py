"""The experience heatmap: touchpoints × the five dimensions, valence printed, n per cell, cells link on."""

from __future__ import annotations

from tests.analytics.helpers import XSS, answer

SMELLY = "The room smelled of mould and I had to call reception three times."


def test_cells_show_valence_salience_and_n_and_link_to_the_responses(client, engine, login, run_jobs):
    answer(engine, [(2, SMELLY)] * 3, touchpoint="hotel_stay", stage="usage", name="Hotel stay")
    run_jobs()
    login("viewer")
    page = client.get("/dashboard/experience")
    assert page.status_code == 200
    text = page.text
    for heading in ("Sense", "Feel", "Think", "Act", "Relate"):
        assert f'<th scope="col">{heading}</th>' in text
    assert "/dashboard/responses?period=90d&amp;touchpoint=hotel_stay&amp;dimension=sense" in text
    assert "/dashboard/responses?period=90d&amp;touchpoint=hotel_stay&amp;dimension=act" in text
    assert "dimension=relate" not in text  # nobody expressed it: no link, n=0
    assert "-0.54" in text and "n=3*" in text and "small sample" in text
    assert "mean valence -0.54" in text  # the aria label says it in words, not only in colour


def test_htmx_gets_the_results_block(client, engine, login, run_jobs):
    answer(engine, [(2, SMELLY)])
    run_jobs()
    login("viewer")
    fragment = client.get("/dashboard/experience?period=30d", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="results"') and "<html" not in fragment


def test_empty_period_says_so(client, login):
    login("viewer")
    assert "No responses in the last 90 days" in client.get("/dashboard/experience").text


def test_anonymous_is_redirected_and_a_viewer_cannot_post(client, login):
    assert client.get("/dashboard/experience", follow_redirects=False).status_code in (302, 303, 307)
    csrf = login("viewer")
    assert client.post("/dashboard/experience", data={"csrf_token": csrf}).status_code in (403, 405)


def test_names_are_escaped(client, engine, login, run_jobs):
    answer(engine, [(1, SMELLY + XSS)], name=XSS, title=XSS)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/experience").text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_journey_and_experience_name_the_same_worst_touchpoint_and_say_by_which_measure(client, engine, login,
                                                                                      run_jobs):
    """Billing has the lowest NPS but kind words; checkout the angriest comments: "worst" is one measure."""
    import re

    answer(engine, [(2, "Lovely staff, they treated me like family.")] * 30, touchpoint="billing", stage="billing",
           name="Billing")
    answer(engine, [(10, "The delivery was late and the box was crushed.")] * 30, touchpoint="checkout",
           stage="purchase", name="Checkout")
    run_jobs()
    login("viewer")
    experience = client.get("/dashboard/experience").text
    journey = client.get("/dashboard/journey").text
    pain = r"Pain point — lowest mean sentiment of comments:</strong>\s*<a [^>]+>(\w+)</a>"
    assert re.search(pain, experience).group(1) == re.search(pain, journey).group(1) == "Checkout"
    assert "the same measure as the Journey's pain point" in experience
    assert re.search(r"Lowest NPS:</strong> <a [^>]+>Billing</a>", journey)  # named as what it is
