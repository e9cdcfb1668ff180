"""Which score the "Fix first" panel explains, and from which answers: the measure asked for, else the chosen
survey's first score question, else the view's most answered; the view's survey, touchpoint and period bounds;
the most recent answers when the sample is cut; the ten most mentioned themes, each under the label most
written; "felt negatively" at valence −0.05 itself; rows with a figure before rows without; the API's period.

Each survey is planted so that the right answer is clear by construction (counts worked out in comments)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.analytics.helpers import answer, answer_at
from voc.analytics import key_drivers as kd
from voc.analytics.service import resolve_filters
from voc.db import utcnow
from voc.surveys.models import Response, Touchpoint

NPS_ONLY = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}]
CSAT_THEN_NPS = [{"id": "csat", "type": "csat", "prompt": "Satisfied?", "required": True},
                 {"id": "nps", "type": "nps", "prompt": "Recommend?"}]
# A text question first, then CES (seldom answered) and NPS (always answered): the survey's first score is CES.
TEXT_CES_NPS = [{"id": "why", "type": "text", "prompt": "Why?"},
                {"id": "ces", "type": "ces", "prompt": "Easy?"},
                {"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}]


def panel(engine, measure=None, **filters):
    with Session(engine) as session:
        f = resolve_filters(session, filters.get("survey"), filters.get("touchpoint"), filters.get("period"))
        return kd.key_drivers(session, f, measure)


def _two_touchpoints(engine, run_jobs):
    """Checkout: 20 NPS answers (survey_checkout, NPS only). Support ticket: 30 answers to a CSAT-then-NPS
    survey, 20 of them also giving NPS. NPS: 20 + 20 = 40 answers, CSAT 30."""
    when = utcnow() - timedelta(days=2)
    for i in range(20):
        answer_at(engine, when + timedelta(minutes=i), [("nps", 9)], touchpoint="checkout", stage="purchase",
                  name="Checkout", questions=NPS_ONLY)
    for i in range(30):
        given = [("csat", 2 if i % 2 else 5)] + ([("nps", 3)] if i < 20 else [])
        answer_at(engine, when + timedelta(hours=1, minutes=i), given, touchpoint="support_ticket", stage="support",
                  name="Support ticket", questions=CSAT_THEN_NPS)
    run_jobs()


def test_the_view_explains_its_most_answered_measure_summed_over_touchpoints(engine, run_jobs):
    _two_touchpoints(engine, run_jobs)
    found = panel(engine)
    # NPS: 20 at Checkout + 20 at Support = 40 > CSAT's 30, though each touchpoint alone has fewer NPS answers.
    assert (found.measure.key, found.choices, found.n) == ("nps", ["nps", "csat"], 40)
    # 20 promoters (+100) and 20 detractors (−100): NPS 0.
    assert found.mean == pytest.approx(0.0)
    # At Support ticket alone CSAT (30) outnumbers NPS (20): its drivers explain CSAT; 15 of 30 gave 5: 50%.
    support = panel(engine, touchpoint="support_ticket")
    assert (support.measure.key, support.choices, support.n) == ("csat", ["csat", "nps"], 30)
    assert support.mean == pytest.approx(50.0)
    # One survey: only its own answers (20 at Checkout, 30 at Support), whatever the measure.
    assert panel(engine, "nps", survey="survey_checkout").n == 20
    assert panel(engine, "csat", survey="survey_support_ticket").n == 30
    assert panel(engine, "nps", touchpoint="checkout").n == 20


def test_a_chosen_survey_explains_its_first_score_question_even_if_less_answered(engine, run_jobs):
    _two_touchpoints(engine, run_jobs)  # another survey, whose first score question is NPS
    when = utcnow() - timedelta(days=1)
    for i in range(30):
        given = [("nps", 10)] + ([("ces", 7 if i % 2 else 4)] if i < 6 else [])
        answer_at(engine, when + timedelta(minutes=i), given, touchpoint="billing", stage="support", name="Billing",
                  questions=TEXT_CES_NPS)
    run_jobs()
    found = panel(engine, survey="survey_billing")
    # CES is asked before NPS: chosen though only 6 answered it (NPS: 30); the mean of 4, 7, 4, 7, 4, 7 is 5.5.
    assert (found.measure.key, found.n) == ("ces", 6)
    assert found.mean == pytest.approx(5.5)
    assert found.choices == ["nps", "ces"]
    # Asked for by name, the measure wins over the survey's order.
    assert panel(engine, "nps", survey="survey_billing").n == 30
    # The other survey asks CSAT first.
    assert panel(engine, survey="survey_support_ticket").measure.key == "csat"


def test_a_view_with_no_answers_explains_nps_by_default(engine):
    found = panel(engine)
    assert (found.measure.key, found.n, found.mean, found.choices, found.rows) == ("nps", 0, None, [], [])


def test_the_sample_holds_the_periods_answers_from_its_first_instant_to_its_end_excluded(engine, run_jobs):
    with Session(engine) as session:
        f = resolve_filters(session, None, None, "7d")
    second = timedelta(seconds=1)
    # NPS 10, 9, 8 and 0 at the period's first instant, just before it, at its end and just before its end.
    for when, score in ((f.start, 10), (f.start - second, 9), (f.end, 8), (f.end - second, 0)):
        answer_at(engine, when, [("nps", score)], questions=NPS_ONLY)
    run_jobs()
    found = panel(engine, period="7d")
    # Kept: the 10 at the start (+100) and the 0 before the end (−100): n 2, NPS 0.
    assert (found.n, found.mean) == (2, pytest.approx(0.0))
    with Session(engine) as session:
        week = kd.drivers_public(session, survey=None, touchpoint=None, period="7d", measure=None)
        default = kd.drivers_public(session, survey=None, touchpoint=None, period=None, measure=None)
    assert (week.n, week.mean) == (2, 0.0)
    # The default 90 days also hold the 9 just before the week (a promoter): (100 − 100 + 100) / 3.
    assert (default.n, default.mean) == (3, pytest.approx(33.333))


def test_a_cut_sample_keeps_the_most_recently_completed_answers_of_a_survey(engine, run_jobs, monkeypatch):
    # Entered out of order (as a backfill would): first a promoter completed yesterday, then four detractors
    # completed 8, 7, 6 and 5 days ago. The three most recent: the promoter and the detractors of 6 and 5 days.
    now = utcnow()
    answer_at(engine, now - timedelta(days=1), [("nps", 10)], questions=NPS_ONLY)
    for days in (8, 7, 6, 5):
        answer_at(engine, now - timedelta(days=days), [("nps", 0)], questions=NPS_ONLY)
    run_jobs()
    monkeypatch.setattr(kd, "MAX_SAMPLE", 3)
    cut = panel(engine, survey="survey_order_delivered")
    assert (cut.n, cut.cut) == (3, True)
    assert cut.mean == pytest.approx((100 - 100 - 100) / 3)
    # Exactly MAX_SAMPLE answers: the whole view, not cut.
    monkeypatch.setattr(kd, "MAX_SAMPLE", 5)
    whole = panel(engine, survey="survey_order_delivered", period="30d")  # another view: not the panel kept
    assert (whole.n, whole.cut) == (5, False)
    assert whole.mean == pytest.approx((100 - 4 * 100) / 5)


def test_an_answer_not_yet_analysed_or_rolled_up_is_in_the_next_panel(engine, run_jobs):
    answer(engine, [(10, "Great.")] * 3, touchpoint="checkout")
    run_jobs()
    first = panel(engine)
    assert (first.n, first.mean) == (3, 100.0)
    # Submitted, but its jobs (analysis, rollups) have not run: the panel reads responses, so it counts it.
    answer(engine, [(0, "Awful.")], touchpoint="checkout", days_ago=0.5)
    again = panel(engine)
    assert (again.n, again.mean) == (4, pytest.approx((300 - 100) / 4))


# Themes planted by hand. "queue" is a way of writing "wait time": answers 0–31 write "wait time" and the 3
# newest (67–69) "queue", so the theme (35 answers) is shown as "wait time". Ten rarer themes, 55 mentions,
# are added one by one to answers 10, 11, … (wrapping after 66); "account", the least mentioned of the 11
# themes and the first by name, is left out: only the ten most mentioned are drivers.
RARE = [("agent", 10), ("app", 9), ("battery", 8), ("delivery", 7), ("discount", 6), ("packaging", 5),
        ("parcel", 4), ("price", 3), ("refund", 2), ("account", 1)]


def _analysis(themes: list[str], feel: float | None) -> dict:
    return {"sentiment": {"compound": -0.5, "label": "negative"},
            "dimensions": {"sense": None, "feel": {"salience": 0.6, "valence": feel} if feel is not None else None,
                           "think": None, "act": None, "relate": None},
            "themes": themes, "spans": [], "mismatch": False}


def _planted_themes(engine, run_jobs) -> None:
    """70 answers: 35 detractors (2) at Support ticket, 35 promoters (10) at Checkout, the last 5 of which lose
    their touchpoint. Themes as above; feel valence −0.05 (exactly
    the threshold) on answers 0–9, −0.6 on 10–14, −0.049 on 15–19."""
    answer(engine, [(2, "Slow.")] * 35, touchpoint="support_ticket", stage="support", name="Support ticket")
    answer(engine, [(10, "Fine.")] * 35, touchpoint="checkout", stage="purchase", name="Checkout")
    run_jobs()
    themes = [["wait time"] if number < 32 else ["queue"] if number >= 67 else [] for number in range(70)]
    for k, label in enumerate(label for label, count in RARE for _ in range(count)):
        themes[(k + 10) % 67].append(label)
    with Session(engine) as session:
        checkout = session.exec(select(Touchpoint).where(Touchpoint.key == "checkout")).one()
        responses = list(session.exec(select(Response).order_by(Response.id)))
        assert len(responses) == 70 and sum(r.touchpoint_id == checkout.id for r in responses[35:]) == 35
        for number, response in enumerate(responses):
            feel = -0.05 if number < 10 else -0.6 if number < 15 else -0.049 if number < 20 else None
            response.analysis = _analysis(themes[number], feel)
            if number >= 65:
                response.touchpoint_id = None
            session.add(response)
        session.commit()


def test_the_panels_rows_themes_feelings_and_order(engine, run_jobs):
    _planted_themes(engine, run_jobs)
    found = panel(engine)
    assert found.n == 70
    themes = {r.key: r for r in found.rows if r.kind == "theme"}
    # The ten most mentioned; "account" (1 answer) is left out.
    assert set(themes) == {"wait time", "agent", "app", "battery", "delivery", "discount", "packaging", "parcel",
                           "price", "refund"}
    # "wait time" in 35 answers, shown as written most (32 times), not as "queue" (3).
    assert (themes["wait time"].label, themes["wait time"].estimate.n) == ("wait time", 35)
    assert themes["wait time"].params["theme"] == "wait time"
    # Felt negatively: valence ≤ −0.05, so the 10 at −0.05 and the 5 at −0.6, not the 5 at −0.049.
    feel = next(r for r in found.rows if r.kind == "dimension")
    assert (feel.label, feel.estimate.n) == ("Feel", 15)
    # The answers without a touchpoint are no touchpoint's: 35 at Support, 30 left at Checkout.
    touchpoints = {r.label: r.estimate for r in found.rows if r.kind == "touchpoint"}
    assert {k: (d.n, d.estimated) for k, d in touchpoints.items()} == {"Support ticket": (35, True),
                                                                        "Checkout": (30, True)}
    # Rows with a figure first, the largest loss first; then the rows too small for a figure.
    estimated = [r.estimate.estimated for r in found.rows]
    assert estimated == sorted(estimated, reverse=True) and estimated.count(True) == 3
    impacts = [r.estimate.impact for r in found.rows if r.estimate.estimated]
    assert impacts == sorted(impacts) and found.rows[0].label == "Support ticket"
    # Over the API: Checkout reaches 30 of 70 answers, 0.428571…, to four places.
    with Session(engine) as session:
        public = kd.drivers_public(session, survey=None, touchpoint=None, period=None, measure=None)
    assert next(d.reach for d in public.drivers if d.key == "checkout") == 0.4286
