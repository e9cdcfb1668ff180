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


def test_anonymous_is_redirected_to_login(client):
    # The page only reads; tests/web/dashboard/test_roles.py holds every dashboard route that writes to its role.
    answer = client.get("/dashboard/experience", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/dashboard/experience"


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


def test_a_cell_is_marked_only_when_it_stands_out_after_the_correction(client, engine, login, run_jobs):
    import re

    answer(engine, [(2, "The room smelled of mould and the carpet was filthy."), (3, "The bathroom stank of smoke."),
                    (4, "The carpet was stained and smelly.")] * 10, touchpoint="hotel_a", stage="usage",
           name="Hotel A")
    answer(engine, [(9, "The room smelled lovely and looked spotless."), (8, "The room was cosy and smelled fresh."),
                    (10, "The room was bright and clean.")] * 10, touchpoint="hotel_b", stage="usage", name="Hotel B")
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/experience").text
    assert re.search(r'aria-label="Hotel A, sense: [^"]*, n 30, significantly below sense at the other touchpoints '
                     r'\(q = 0\.0', text)
    assert re.search(r'aria-label="Hotel B, sense: [^"]*, significantly above sense at the other touchpoints', text)
    assert text.count('<span class="standout"') == 2 and "Benjamini–Hochberg" in text


def test_small_cells_are_never_marked(client, engine, login, run_jobs):
    answer(engine, [(2, SMELLY)] * 3, touchpoint="hotel_stay", stage="usage", name="Hotel stay")
    answer(engine, [(9, "The room smelled lovely and looked spotless.")] * 3, touchpoint="hotel_b", stage="usage")
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/experience").text
    assert '<span class="standout"' not in text and "(0 cells tested)" in text
