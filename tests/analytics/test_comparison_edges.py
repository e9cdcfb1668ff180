"""Edges of the period comparison and of "Fix first": an NPS change whose interval would pass ±200 points, and
drivers that lower the score by exactly as much as each other."""

from __future__ import annotations

import math

import pytest

from voc.analytics.comparisons import nps_difference
from voc.analytics.drivers import DriverEffect, DriverFit


def test_an_nps_change_interval_stops_at_plus_or_minus_200_points():
    # Now 29 promoters and a passive of 30 (NPS +96.7), before 29 detractors and a passive (−96.7): +193.3 points.
    # Each side's variance 0.9667 − 0.9667² = 0.03222; half = 1.96 · √(2 · 0.03222/30) = 9.08 points: the upper
    # end (202.4) is cut at +200, the lower (184.3) is not.
    up = nps_difference(29, 0, 30, 0, 29, 30)
    half = 100 * 1.959964 * math.sqrt(2 * (29 / 30 - (29 / 30) ** 2) / 30)
    assert up.delta == pytest.approx(193.333, abs=1e-3) and up.significant
    assert up.low == pytest.approx(193.333 - half, abs=1e-3) and up.high == 200.0
    down = nps_difference(0, 29, 30, 29, 0, 30)
    assert down.low == -200.0 and down.high == pytest.approx(-193.333 + half, abs=1e-3)


def test_drivers_that_cost_the_same_are_listed_by_name():
    def hurting(key: str, effect: float) -> DriverEffect:
        return DriverEffect(key, False, 50, 0.5, effect, effect - 5, effect + 5)

    fit = DriverFit(100, 10.0, 200, [hurting("wait time", -20.0), hurting("price", -20.0), hurting("staff", -30.0),
                                     DriverEffect("delivery", False, 50, 0.5, -3.0, -8.0, 2.0)])
    assert [d.key for d in fit.fix_first()] == ["staff", "price", "wait time"]  # "delivery" may not hurt at all
