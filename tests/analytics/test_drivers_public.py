"""What GET /api/v1/drivers answers, from the service: the planted drivers in the measure's points, rounded,
the most negative impact first; an unknown survey or touchpoint is refused with its own code."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.analytics.planted import load_planted
from voc.analytics.key_drivers import drivers_public
from voc.errors import NotFound


def test_the_planted_drivers_over_json(engine, run_jobs):
    load_planted(engine, run_jobs)
    with Session(engine) as session:
        found = drivers_public(session, survey=None, touchpoint=None, period=None, measure=None)
    # 40 detractors (−100) and, at Checkout, 32 promoters (+100) and 8 passives: mean (−4000 + 3200)/80 = −10.
    assert (found.measure, found.n, found.mean, found.sample_cut, found.resamples) == ("nps", 80, -10.0, False, 200)
    assert found.unit.startswith("NPS points")
    support = found.drivers[0]  # the largest loss first
    assert (support.kind, support.key, support.label, support.n) == ("touchpoint", "support_ticket", "Support ticket",
                                                                     40)
    # Support's answers all −100 against Checkout's +80: −180 points, reaching half the answers: impact −90.
    assert (support.effect, support.reach, support.impact, support.lowers) == (-180.0, 0.5, -90.0, True)
    assert support.ci_low <= -180.0 <= support.ci_high
    assert [d.impact for d in found.drivers] == sorted(d.impact for d in found.drivers)
    theme = next(d for d in found.drivers if d.kind == "theme")
    assert (theme.key, theme.label, theme.n, theme.reach) == ("wait time", "wait time", 40, 0.5)
    assert theme.effect == pytest.approx(0.0, abs=1e-3) and not theme.lowers
    # Figures to three places (the bootstrap's interval ends have many more).
    assert all(d.ci_low == round(d.ci_low, 3) and d.ci_high == round(d.ci_high, 3) for d in found.drivers)
    assert any(d.ci_low != round(d.ci_low) for d in found.drivers)
    with Session(engine) as session:
        one_survey = drivers_public(session, survey="survey_checkout", touchpoint=None, period="7d", measure="nps")
        one_touchpoint = drivers_public(session, survey=None, touchpoint="support_ticket", period=None, measure=None)
    assert one_survey.n == 40 and one_touchpoint.n == 40
    assert {d.kind for d in one_touchpoint.drivers} == {"theme", "dimension"}  # its own touchpoint is no driver


def test_an_unknown_survey_or_touchpoint_is_refused(engine, session):
    with pytest.raises(NotFound) as refused:
        drivers_public(session, survey="nope", touchpoint=None, period="30d", measure=None)
    assert refused.value.code == "survey_not_found" and "'nope'" in refused.value.message
    with pytest.raises(NotFound) as refused:
        drivers_public(session, survey=None, touchpoint="nope", period="30d", measure="csat")
    assert refused.value.code == "touchpoint_not_found" and "'nope'" in refused.value.message
    empty = drivers_public(session, survey=None, touchpoint=None, period="30d", measure="csat")
    assert (empty.measure, empty.n, empty.mean, empty.drivers) == ("csat", 0, None, [])
