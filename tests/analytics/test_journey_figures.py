"""The journey and the experience heatmap on planted answers: which touchpoint is named best and worst (only
among touchpoints with at least SMALL_SAMPLE answers), what each panel and heatmap cell shows, and which
comments a cell's figures are read from. Expected figures are worked out by hand from the planted answers."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.analytics.helpers import answer_at
from voc.analytics.rollups import record_response
from voc.analytics.service import filter_options, resolve_filters
from voc.analytics.touchpoints import Stop, dimension_sums, experience, extremes, journey
from voc.db import utcnow
from voc.surveys.metrics import Metric
from voc.surveys.models import Response, Survey

NPS_ONLY = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}]


def _stop(name: str, value: float | None, n: int) -> Stop:
    metric = Metric(value=value, n=n, ci_low=None, ci_high=None, small_sample=n < 30)
    return Stop(SimpleNamespace(key=name, name=name), n, {"nps": metric}, {})  # type: ignore[arg-type]


def test_best_and_worst_are_named_only_among_touchpoints_with_thirty_answers():
    stops = [_stop("tiny", 100.0, 29), _stop("zero", 0.0, 30), _stop("high", 40.0, 30), _stop("low", -20.0, 31)]
    best, worst = extremes(stops, "nps")
    assert (best.touchpoint.key, worst.touchpoint.key) == ("high", "low")  # "tiny" scores best but has 29 answers
    # An NPS of exactly 0 is a figure like any other: above −20, below +40.
    best, worst = extremes(stops[:2] + [_stop("low", -20.0, 31)], "nps")
    assert (best.touchpoint.key, worst.touchpoint.key) == ("zero", "low")
    best, worst = extremes([_stop("zero", 0.0, 30), _stop("high", 40.0, 30)], "nps")
    assert (best.touchpoint.key, worst.touchpoint.key) == ("high", "zero")
    # One touchpoint cannot be both best and worst; a touchpoint without a figure is never named.
    assert extremes([_stop("high", 40.0, 30), _stop("tiny", 90.0, 29)], "nps") == (None, None)
    assert extremes([_stop("high", 40.0, 30), _stop("none", None, 30)], "nps") == (None, None)
    best, worst = extremes([_stop("zero", 0.0, 30), _stop("half", 0.5, 30)], "nps")
    assert (best.touchpoint.key, worst.touchpoint.key) == ("half", "zero")


def test_one_answer_is_enough_for_a_touchpoint_to_ask_a_measure():
    assert _stop("one", 10.0, 1).asks("nps") and not _stop("none", None, 0).asks("nps")


def _plant(engine, touchpoint: str, stage: str, scores: list[int], compound: float, act: tuple[float, float] | None,
           *, days_ago: float = 2) -> None:
    """Answers whose analysis is set here (not read by the analyser), so every figure is known in advance."""
    when = utcnow() - timedelta(days=days_ago)
    for index, score in enumerate(scores):
        response_id = answer_at(engine, when + timedelta(seconds=index), [("nps", score)], touchpoint=touchpoint,
                                stage=stage, questions=NPS_ONLY)
        with Session(engine) as session:
            response = session.get(Response, response_id)
            label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
            dimensions = {"act": {"salience": act[0], "valence": act[1]}} if act else {}
            response.analysis = {"sentiment": {"compound": compound + 0.02 * (index % 2), "label": label},
                                 "dimensions": dimensions, "themes": []}
            session.add(response)
            record_response(session, response)
            session.commit()


@pytest.fixture
def planted(engine):
    # Delivery: 20 promoters, 10 detractors (NPS +33.33); compound 0.5 / 0.52; "act" felt at salience 0.5, −0.6.
    _plant(engine, "order_delivered", "delivery", [10] * 20 + [0] * 10, 0.5, (0.5, -0.6))
    # Support: 10 promoters, 20 detractors (NPS −33.33); compound −0.4 / −0.38; "act" at salience 1.0, +0.2.
    _plant(engine, "ticket_closed", "support", [10] * 10 + [3] * 20, -0.4, (1.0, 0.2))
    # Three answers at the website: the best NPS of all, too few to be named; "act" found but with no salience.
    _plant(engine, "website_visit", "awareness", [10, 10, 10], 0.9, (0.0, 0.5))
    # Before the 30-day view: never counted.
    _plant(engine, "ticket_closed", "support", [0] * 4, -0.9, (1.0, -1.0), days_ago=45)
    return engine


def test_the_journey_names_best_and_worst_and_flags_the_small_touchpoint(planted, session):
    f = resolve_filters(session, None, None, "30d")
    view = journey(session, f, link=lambda params: "/explore?" + "&".join(f"{k}={v}" for k, v in params.items()))
    assert [s.touchpoint.key for s in view["stops"]] == ["website_visit", "order_delivered", "ticket_closed"]
    assert [s.responses for s in view["stops"]] == [3, 30, 30]
    panels = {p["measure"].key: p for p in view["panels"]}
    assert list(panels) == ["nps", "sentiment"]  # CSAT and CES were never asked
    nps = panels["nps"]
    assert nps["asked"] == 3 and nps["best"].touchpoint.key == "order_delivered"
    assert nps["worst"].touchpoint.key == "ticket_closed"
    assert [s.touchpoint.key for s in nps["small"]] == ["website_visit"]
    assert [p.value for p in nps["chart"].series[0].points] == [100.0, 33.33, -33.33]
    assert [p.small for p in nps["chart"].series[0].points] == [True, False, False]
    assert not nps["chart"].series[0].joined and panels["sentiment"]["chart"].series[0].joined
    # Each point opens its touchpoint's answers, most negative first.
    assert nps["chart"].series[0].points[2].href == "/explore?period=30d&touchpoint=ticket_closed&sort=sentiment"
    # Mean sentiment: delivery (15 × 0.5 + 15 × 0.52)/30 = 0.51; support (15 × −0.4 + 15 × −0.38)/30 = −0.39.
    assert view["peak"].touchpoint.key == "order_delivered" and view["pain"].touchpoint.key == "ticket_closed"
    assert view["stops"][2].measures["sentiment"].value == pytest.approx(-0.39)
    assert view["stops"][1].measures["sentiment"].value == pytest.approx(0.51)
    assert view["worst_words"] == "lowest mean sentiment of comments" and view["small_sample"] == 30
    assert view["measures"]["ces"].scale == "1 to 7 (higher is easier)" and view["fmt"]("nps")(33.3) == "+33"
    # The emotion curve is written in sentiment's units, its axis from −1 to +1.
    curve = panels["sentiment"]["chart"]
    assert curve.series[0].points[1].shown.startswith("+0.51 (95% interval +0.")
    assert [t.text for t in curve.y_ticks] == ["-1.0", "-0.5", "+0.0", "+0.5", "+1.0"]
    assert [t.text for t in nps["chart"].y_ticks] == ["-100", "-50", "+0", "+50", "+100"]


def test_a_measure_nobody_answered_has_no_panel_and_its_stops_ask_nothing(planted, session):
    f = resolve_filters(session, None, "website_visit", "30d")
    view = journey(session, f, link=str)
    assert [s.touchpoint.key for s in view["stops"]] == ["website_visit"]
    assert view["stops"][0].asks("nps") and not view["stops"][0].asks("csat")
    # A single touchpoint is neither best nor worst.
    assert all(p["best"] is None and p["worst"] is None for p in view["panels"])
    assert view["pain"] is None and view["peak"] is None


def test_the_heatmap_cells_show_valence_salience_and_n_of_their_comments(planted, session):
    f = resolve_filters(session, None, None, "30d")
    view = experience(session, f)
    rows = {r["touchpoint"].key: r for r in view["rows"]}
    assert list(rows) == ["website_visit", "order_delivered", "ticket_closed"]
    act = {key: next(c for c in row["cells"] if c["dimension"] == "act") for key, row in rows.items()}
    delivery, support, website = act["order_delivered"], act["ticket_closed"], act["website_visit"]
    # Valence is salience-weighted: Σ(0.5 · −0.6)/Σ0.5 = −0.6; salience the mean, 0.5; 30 comments.
    assert (delivery["n"], delivery["valence"], delivery["salience"]) == (30, pytest.approx(-0.6), pytest.approx(0.5))
    assert (support["n"], support["valence"], support["salience"]) == (30, pytest.approx(0.2), pytest.approx(1.0))
    # The website's three comments touch "act" with salience 0: no weight, so no valence (and no division by 0).
    assert (website["n"], website["valence"], website["salience"]) == (3, None, 0.0)
    # The fill fades with salience: strength 0.3 + 0.7 · salience, at most 1.
    assert (delivery["strength"], support["strength"], website["strength"]) == (0.65, 1.0, 0.3)
    assert not delivery["small"] and website["small"]
    # Delivery's fill: PuOr's orange end (179, 88, 6) 60% of the way from grey (247, 247, 247) = (206.2, 151.6,
    # 102.4), faded to strength 0.65 towards white: 255 + (c − 255) · 0.65 = (223.3, 187.8, 155.8) → #dfbc9c.
    assert delivery["fill"] == "#dfbc9c" and delivery["ink"] in ("#000000", "#1a1a1a", "#ffffff")
    assert website["fill"] == "#ffffff" and rows["ticket_closed"]["stop"].touchpoint.key == "ticket_closed"
    assert delivery["sums"].n == 30 and delivery["sums"].mean == pytest.approx(-0.6)
    # Delivery's act (−0.6) against the rest of the column (+0.2): no spread on either side, so no test.
    assert view["tested"] == 0 and delivery["standout"] is None
    assert view["pain"].touchpoint.key == "ticket_closed"
    # The legend runs from full orange at −1 through grey to full purple at +1 (ColorBrewer PuOr's ends).
    assert [v for v, _, _ in view["legend"]] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert (view["legend"][0][1], view["legend"][2][1], view["legend"][4][1]) == ("#b35806", "#f7f7f7", "#542788")
    # What the page prints beside the heatmap.
    assert view["dimensions"] == ("sense", "feel", "think", "act", "relate") and view["rate"] == 0.05
    assert view["worst_words"] == "lowest mean sentiment of comments" and view["small_sample"] == 30
    assert view["fmt"]("sentiment")(-0.39) == "-0.39"


def test_a_cell_reads_only_the_views_comments(planted, session):
    everything = dimension_sums(session, resolve_filters(session, None, None, "30d"))
    by_key = {(touchpoint_id, name): sums for (touchpoint_id, name), sums in everything.items()}
    # The four answers 45 days ago are outside the view; the website's weigh nothing, so have no mean.
    assert sorted(s.n for s in by_key.values()) == [3, 30, 30]
    assert sorted((s.mean is None, s.n) for s in by_key.values())[-1] == (True, 3)
    support = resolve_filters(session, None, "ticket_closed", "30d")
    only = dimension_sums(session, support)
    assert list(only) == [(support.touchpoint_id, "act")] and only[(support.touchpoint_id, "act")].n == 30
    assert only[(support.touchpoint_id, "act")].mean == pytest.approx(0.2)
    survey = resolve_filters(session, "survey_order_delivered", None, "30d")
    assert [s.mean for s in dimension_sums(session, survey).values()] == [pytest.approx(-0.6)]


def test_the_filters_offer_every_survey_and_touchpoint_in_journey_order(planted, session):
    titles = {"survey_order_delivered": "Your delivery", "survey_ticket_closed": "About your ticket",
              "survey_website_visit": "Our website"}
    for survey in session.scalars(select(Survey)):
        survey.title = titles[survey.key]
    session.commit()
    options = filter_options(session)
    assert [tuple(row) for row in options["surveys"]] == sorted(titles.items(), key=lambda item: item[1])
    assert [t for t, _ in options["touchpoints"]] == ["website_visit", "order_delivered", "ticket_closed"]
    assert options["touchpoints"][0] == ("website_visit", "Website Visit")
    assert options["periods"] == ["7d", "30d", "90d", "365d"]
