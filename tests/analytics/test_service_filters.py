"""The view's filters: a survey or touchpoint key picks its own figures (an unknown one is ignored), the period
holds its first and last day and nothing beyond, and the touchpoints come in journey order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from tests import factories as f
from voc.analytics.models import ALL, Rollup, RollupTotal
from voc.analytics.service import by_touchpoint, journey_touchpoints, resolve_filters

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)  # a 7-day view: 14 to 20 November (UTC)
FIRST, LAST = date(2026, 11, 14), date(2026, 11, 20)


def _plant(engine) -> dict[str, int]:
    """Four touchpoints made out of journey order (their names in neither order), one survey; responses straight
    into the rollups, on the view's first and last days and on the day on either side of it."""
    with Session(engine) as session:
        ids = {key: f.touchpoint(session, key, stage=stage, name=name).id
               for key, stage, name in (("support_closed", "support", "Support closed"),
                                        ("order_delivered", "delivery", "Order delivered"),
                                        ("parcel_tracked", "delivery", "Delivery tracked"),
                                        ("checkout", "purchase", "Payment"))}
        ids["post_delivery"] = f.survey(session, "post_delivery", touchpoint="order_delivered").id
        survey = ids["post_delivery"]
        for touchpoint, responses in (("order_delivered", 1), ("support_closed", 10), ("checkout", 100)):
            for day, times in ((FIRST - timedelta(days=1), 1000), (FIRST, 1), (LAST, 2),
                               (LAST + timedelta(days=1), 1000)):
                # Every survey's figures (rollup_total) and this survey's own daily cells (rollup), half of them.
                session.add(RollupTotal(survey_id=ALL, touchpoint_id=ids[touchpoint], day=day,
                                        responses=2 * responses * times, nps_10=2 * responses * times))
                session.add(Rollup(survey_id=survey, touchpoint_id=ids[touchpoint], day=day,
                                   responses=responses * times, nps_10=responses * times))
        session.commit()
    return ids


def _responses(session, survey=None, touchpoint=None) -> list[tuple[str, int]]:
    view = resolve_filters(session, survey, touchpoint, "7d", now=NOW)
    return [(t.key, int(row.responses)) for t, row in by_touchpoint(session, view)]


def test_known_keys_become_filters_and_unknown_ones_are_ignored(engine):
    ids = _plant(engine)
    with Session(engine) as session:
        view = resolve_filters(session, "post_delivery", "support_closed", "7d", now=NOW)
        assert (view.survey, view.survey_id, view.touchpoint, view.touchpoint_id) == (
            "post_delivery", ids["post_delivery"], "support_closed", ids["support_closed"])
        assert (view.days, view.first_day, view.last_day) == (7, FIRST, LAST)
        assert view.query() == {"survey": "post_delivery", "touchpoint": "support_closed", "period": "7d"}
        unknown = resolve_filters(session, "no_such_survey", "no_such_touchpoint", "30d", now=NOW)
        assert (unknown.survey, unknown.survey_id, unknown.touchpoint, unknown.touchpoint_id) == (None,) * 4
        assert (unknown.days, unknown.first_day, unknown.last_day) == (30, date(2026, 10, 22), LAST)
        assert resolve_filters(session, None, None, None, now=NOW).days == 90  # the default period


def test_touchpoints_in_journey_order_then_by_name(engine):
    _plant(engine)
    with Session(engine) as session:
        assert [t.key for t in journey_touchpoints(session)] == ["checkout", "parcel_tracked", "order_delivered",
                                                                  "support_closed"]


def test_each_touchpoint_sums_the_view_s_days_of_the_chosen_survey(engine):
    """Per touchpoint: 1 response on the first day and 2 on the last (times 1, 10, 100), the days either side
    not counted; every survey's figures are twice the survey's own."""
    _plant(engine)
    with Session(engine) as session:
        assert _responses(session) == [("checkout", 600), ("order_delivered", 6), ("support_closed", 60)]
        assert _responses(session, "post_delivery") == [("checkout", 300), ("order_delivered", 3),
                                                        ("support_closed", 30)]
        assert _responses(session, touchpoint="support_closed") == [("support_closed", 60)]
        assert _responses(session, "post_delivery", "support_closed") == [("support_closed", 30)]
