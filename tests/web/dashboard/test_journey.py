"""The journey page: each touchpoint on the measure its survey asks (never two scales on one axis), the
emotion curve of the comments, best and worst named per measure among touchpoints with enough answers, and
every touchpoint linking to its comments."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.analytics.helpers import XSS, answer, answer_at
from voc.db import utcnow

HAPPY = "Lovely staff, they treated me like family."
ANGRY = "The delivery was late and the box was crushed."
CSAT_QUESTIONS = [{"id": "csat", "type": "csat", "prompt": "Satisfied?", "required": True},
                  {"id": "why", "type": "text", "prompt": "Why?"}]


def section(text: str, heading_id: str) -> str:
    """The HTML of one panel, from its heading to the end of its section."""
    return text.split(f'id="{heading_id}"')[1].split("</section>")[0]


def load_journey(engine) -> None:
    answer(engine, [(3, ANGRY)] * 30, touchpoint="support_ticket", stage="support", name="Support ticket")
    answer(engine, [(10, HAPPY)] * 30, touchpoint="checkout", stage="purchase", name="Checkout")
    answer(engine, [(8, None)] * 2, touchpoint="onboarding_call", stage="onboarding", name="Onboarding call")
    # Asked CSAT only: 2 of 5 answers satisfied (40%), never drawn on the NPS axis.
    for number in range(5):
        answer_at(engine, utcnow() - timedelta(days=2, minutes=number), [("csat", 5 if number < 2 else 2)],
                  touchpoint="parcel", stage="delivery", name="Parcel", questions=CSAT_QUESTIONS)


def test_each_touchpoint_is_drawn_on_the_measure_its_survey_asks(client, engine, login, run_jobs):
    load_journey(engine)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey").text
    assert text.index("Checkout</a></th>") < text.index("Parcel</a></th>") < text.index(
        "Onboarding call</a></th>") < text.index("Support ticket</a></th>")  # journey order
    nps, csat = section(text, "panel-nps-title"), section(text, "panel-csat-title")
    assert "NPS at the 3 touchpoints asked it" in nps and "Axis: −100 to +100." in nps
    assert "<title>Checkout: NPS +100" in nps and "<title>Support ticket: NPS -100" in nps
    assert "Parcel: " not in nps.replace("<title>Parcel</title>", "")  # only as an x label, no point
    assert "CSAT at the 1 touchpoint asked it" in csat and "Axis: 0 to 100%" in csat
    assert "<title>Parcel: CSAT 40% (95% interval 12% to 77%), n=5, small sample (n &lt; 30)" in csat
    assert "Checkout: CSAT" not in csat and "NPS" not in csat.replace("not asked NPS", "")
    # No normalised scale any more: NPS and CSAT never share an axis.
    assert "÷ 100" not in text and "2 × share" not in text and "−1 to +1 so touchpoints" not in text


def test_best_and_worst_are_named_per_measure_and_small_samples_are_flagged_not_named(client, engine, login,
                                                                                       run_jobs):
    load_journey(engine)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey").text
    highlights = section(text, "highlights-title")
    assert re.search(r"Highest NPS:</strong> <a [^>]+>Checkout</a>", highlights)
    assert re.search(r"Lowest NPS:</strong> <a [^>]+>Support ticket</a>", highlights)
    assert re.search(r"Pain point — lowest mean sentiment of comments:</strong> <a [^>]+>Support ticket</a>",
                     highlights)
    assert re.search(r"Peak of feeling — highest mean sentiment of comments:</strong> <a [^>]+>Checkout</a>",
                     highlights)
    assert "Onboarding call" not in highlights and "Parcel" not in highlights  # fewer than 30 answers
    assert "CSAT" not in highlights  # one touchpoint is neither best nor worst
    nps = section(text, "panel-nps-title")
    assert '<circle class="dot small"' in nps and "Onboarding call: NPS +0" in nps
    assert "fewer than 30 answers (small sample): Onboarding call." in nps


def test_the_emotion_curve_has_its_own_axis_and_interval(client, engine, login, run_jobs):
    answer(engine, [(9, HAPPY), (9, "Good enough, thanks."), (4, ANGRY)] * 12, touchpoint="checkout",
           stage="purchase", name="Checkout")
    run_jobs()
    login("viewer")
    curve = section(client.get("/dashboard/journey").text, "panel-sentiment-title")
    assert "Emotion curve: mean sentiment of comments along the journey" in curve
    assert "Axis: −1 to +1 (mean compound of the comments)." in curve
    point = re.search(r"<title>Checkout: Mean sentiment ([+-]\d\.\d\d) \(95% interval ([+-]\d\.\d\d) to "
                      r"([+-]\d\.\d\d)\), n=36</title>", curve)
    assert point, curve
    mean, low, high = (float(g) for g in point.groups())
    assert low < mean < high


def test_every_touchpoint_links_to_its_comments_most_negative_first(client, engine, login, run_jobs):
    load_journey(engine)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey?period=30d").text
    link = "/dashboard/responses?period=30d&amp;touchpoint=support_ticket&amp;sort=sentiment"
    table = section(text, "stops-title")
    assert f'{link}">Support ticket</a></th>' in table
    assert f"{link}\">Read Support ticket’s comments, most negative first</a>" in table
    assert f'<a href="{link}">' in section(text, "panel-nps-title")  # the chart's point
    explorer = client.get(link.replace("&amp;", "&")).text
    assert "30 responses match" in explorer and "Most negative first" in explorer


def test_chart_text_is_at_least_12px(client, engine, login, run_jobs):
    load_journey(engine)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey").text
    charts = re.findall(r'<svg class="measure-chart" width="(\d+)" height="\d+" viewBox="0 0 (\d+) ', text)
    assert len(charts) == 3 and all(width == box for width, box in charts)  # drawn at its size, not shrunk
    sizes = re.findall(r'<text class="axis"[^>]*font-size="(\d+)"', text)
    assert sizes and min(int(size) for size in sizes) >= 12


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


def test_anonymous_is_redirected_to_login(client):
    # The page only reads; tests/web/dashboard/test_roles.py holds every dashboard route that writes to its role.
    answer = client.get("/dashboard/journey", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/dashboard/journey"


def test_names_are_escaped(client, engine, login, run_jobs):
    answer(engine, [(1, XSS)], name=XSS, title=XSS)
    run_jobs()
    login("viewer")
    text = client.get("/dashboard/journey").text
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
