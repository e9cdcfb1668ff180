"""The overview's figures on a planted week: the headline cards, how each measure is written, the response rate,
the sentiment split and the trend's buckets (daily for a week, weekly ending today otherwise)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from voc.analytics.charts import share_bar
from voc.analytics.models import ALL, RollupTotal
from voc.analytics.service import metric_format, overview, resolve_filters
from voc.db import utcnow


def test_each_measure_is_written_in_its_own_units():
    assert metric_format("nps")(12.4) == "+12" and metric_format("nps")(-3.6) == "-4"
    assert metric_format("csat")(58.3) == "58%"
    assert metric_format("ces")(4.214) == "4.21"
    assert metric_format("sentiment")(0.123) == "+0.12"


def test_the_sentiment_split_is_a_stacked_bar_of_shares():
    segments = share_bar([("Negative", "neg", 1), ("Neutral", "neu", 1), ("Positive", "pos", 2)])
    assert [(s.name, s.css, s.count) for s in segments] == [("Negative", "neg", 1), ("Neutral", "neu", 1),
                                                            ("Positive", "pos", 2)]
    assert [s.share for s in segments] == [0.25, 0.25, 0.5]
    assert [(s.x, s.width) for s in segments] == [(0.0, 150.0), (150.0, 150.0), (300.0, 300.0)]
    assert [(s.share, s.width) for s in share_bar([("Negative", "neg", 0)], width=100)] == [(0.0, 0.0)]
    thirds = share_bar([("a", "a", 1), ("b", "b", 1), ("c", "c", 1)], width=100)  # to a hundredth of a pixel
    assert [(s.x, s.width) for s in thirds] == [(0.0, 33.33), (33.33, 33.33), (66.67, 33.33)]


def test_the_cards_response_rate_and_sentiment_of_a_week(engine, session):
    day = utcnow() - timedelta(days=2)
    with Session(engine) as other:
        other.add(RollupTotal(survey_id=ALL, touchpoint_id=ALL, day=day.date(), invitations=10, responses=5,
                              nps_10=3, nps_2=1, csat_5=3, csat_4=1, csat_2=1, ces_7=1, ces_4=1,
                              sentiment_sum=0.9, sentiment_count=4, sentiment_negative=1, sentiment_neutral=1,
                              sentiment_positive=2, mismatch_count=1))
        other.add(RollupTotal(survey_id=ALL, touchpoint_id=ALL, day=(day - timedelta(days=7)).date(), invitations=4,
                              responses=2, nps_0=2))  # the week before
        other.commit()
    f = resolve_filters(session, None, None, "7d")
    figures = overview(session, f, trend="ces")
    cards = {c["name"]: c for c in figures["cards"]}
    assert [c["label"] for c in figures["cards"]] == ["NPS", "CSAT", "CES"]
    assert (cards["nps"]["metric"].value, cards["nps"]["metric"].n) == (50.0, 4)  # (3 − 1)/4
    assert (cards["csat"]["metric"].value, cards["ces"]["metric"].value) == (80.0, 5.5)
    assert (cards["nps"]["previous"].value, cards["nps"]["previous"].n) == (-100.0, 2)
    assert cards["nps"]["change"].delta == pytest.approx(150.0) and cards["nps"]["change"].n_before == 2
    assert (cards["nps"]["fmt"](50.0), cards["csat"]["fmt"](80.0), cards["ces"]["fmt"](5.5)) == ("+50", "80%", "5.50")
    assert (figures["invitations"], figures["responses"], figures["response_rate"]) == (10, 5, 0.5)
    assert figures["sentiment_n"] == 4 and figures["mean_sentiment"] == pytest.approx(0.225)
    assert [(s.name, s.css, s.count) for s in figures["sentiment"]] == [("Negative", "neg", 1), ("Neutral", "neu", 1),
                                                                        ("Positive", "pos", 2)]
    assert figures["mismatches"] == 1 and figures["small_sample"] == 30
    # The trend of the chosen measure (CES), one point a day for a week, the answered day holding both answers.
    assert figures["trend"] == "ces"
    points = figures["chart"].series[0].points
    assert len(figures["chart"].x_ticks) == 7 and [p.n for p in points] == [2]
    assert points[0].value == 5.5 and points[0].label == day.strftime("%-d %b")
    assert overview(session, f, trend="nonsense")["trend"] == "nps"
    # Each measure's trend is named, written and scaled as its own: NPS −100..100, CSAT 0..100%, CES 1..7.
    for trend, name, shown, ticks in (("nps", "NPS", "+50", ["-100", "-50", "+0", "+50", "+100"]),
                                      ("csat", "CSAT", "80%", ["0%", "25%", "50%", "75%", "100%"]),
                                      ("ces", "CES", "5.50", ["1.00", "2.50", "4.00", "5.50", "7.00"])):
        chart = overview(session, f, trend=trend)["chart"]
        assert (chart.series[0].name, chart.series[0].css) == (name, "line-score")
        assert chart.series[0].points[0].shown.startswith(shown + " (95% interval")
        assert [t.text for t in chart.y_ticks] == ticks


def test_an_empty_view_has_no_rate_and_no_mean_and_a_month_trends_by_week(engine, session):
    figures = overview(session, resolve_filters(session, None, None, "30d"))
    assert figures["response_rate"] is None and figures["mean_sentiment"] is None
    assert figures["responses"] == 0 and figures["chart"].empty
    # 30 days in weeks ending today: 2 + 7 + 7 + 7 + 7 days, so five labels, the first one 29 days ago.
    ticks = figures["chart"].x_ticks
    assert len(ticks) == 5
    assert ticks[0].text == (utcnow() - timedelta(days=29)).strftime("%-d %b")
    assert ticks[1].text == (utcnow() - timedelta(days=27)).strftime("%-d %b")
    assert ticks[-1].text == (utcnow() - timedelta(days=6)).strftime("%-d %b")


@pytest.mark.parametrize("period", ["7d", "30d", "90d", "365d"])
def test_the_trend_counts_every_answer_of_the_period_once(engine, session, period):
    """Buckets run back from today; the oldest may be shorter, but the period's first day is always in one."""
    f = resolve_filters(session, None, None, period)
    with Session(engine) as other:
        for day, nps in ((f.first_day, 1), (f.last_day, 2), (f.first_day - timedelta(days=1), 4)):  # the last: before
            other.add(RollupTotal(survey_id=ALL, touchpoint_id=ALL, day=day, responses=nps, nps_10=nps))
        other.commit()
    figures = overview(session, f)
    assert sum(p.n for p in figures["chart"].series[0].points) == 3 == figures["cards"][0]["metric"].n
    assert figures["cards"][0]["previous"].n == 4  # the first day belongs to the view, not to the period before
