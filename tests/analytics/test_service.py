"""The overview, journey and experience read the rollup level that fits their filter: the figures are the
responses' own, whichever level (daily cells or totals over every survey/touchpoint) holds them."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.analytics.helpers import answer
from voc.analytics.service import overview, resolve_filters
from voc.analytics.touchpoints import experience, journey
from voc.surveys.metrics import nps_metric
from voc.surveys.models import Invitation, Response, Touchpoint

FILTERS = [(None, None), ("survey_order_delivered", None), (None, "ticket_closed"),
           ("survey_ticket_closed", "ticket_closed"), ("survey_order_delivered", "ticket_closed")]


def _load(engine) -> None:
    answer(engine, [(10, "Lovely staff, quick and kind."), (9, None), (3, "Awful, the parcel was late.")], days_ago=2)
    answer(engine, [(6, None), (0, "Broken and rude, I had to call three times.")], days_ago=5,
           touchpoint="ticket_closed", stage="support")
    answer(engine, [(8, None), (10, None)], days_ago=12, touchpoint="ticket_closed", stage="support")
    answer(engine, [(2, None)], days_ago=45)  # the previous period of a 30-day view


def _expected(session: Session, f) -> tuple[list[int], int]:
    """The NPS answers and the invitations behind a filtered 30-day view, straight from the responses."""
    def keep(survey_id: int, touchpoint_id: int | None) -> bool:
        return ((not f.survey_id or survey_id == f.survey_id)
                and (not f.touchpoint_id or touchpoint_id == f.touchpoint_id))

    scores = [r.nps for r in session.scalars(select(Response)) if r.completed_at
              and f.first_day <= r.completed_at.date() <= f.last_day and keep(r.survey_id, r.touchpoint_id)]
    invited = [i for i in session.scalars(select(Invitation))
               if f.first_day <= i.invited_at.date() <= f.last_day and keep(i.survey_id, i.touchpoint_id)]
    return scores, len(invited)


def test_every_filter_shows_the_figures_of_the_responses_behind_it(engine, session, run_jobs):
    _load(engine)
    run_jobs()
    for survey, touchpoint in FILTERS:
        f = resolve_filters(session, survey, touchpoint, "30d")
        figures = overview(session, f)
        scores, invitations = _expected(session, f)
        nps = next(c for c in figures["cards"] if c["name"] == "nps")
        expected = nps_metric({s: scores.count(s) for s in set(scores)})
        assert (nps["metric"].n, nps["metric"].value) == (expected.n, expected.value), (survey, touchpoint)
        assert (figures["responses"], figures["invitations"]) == (len(scores), invitations), (survey, touchpoint)
        assert sum(p.n or 0 for p in figures["chart"].series[0].points) == len(scores)
    everything = overview(session, resolve_filters(session, None, None, "30d"))
    assert everything["responses"] == 7 and everything["sentiment_n"] == 3
    assert next(c for c in everything["cards"] if c["name"] == "nps")["previous"].n == 1


def test_journey_and_experience_count_each_touchpoint_over_every_survey(engine, session, run_jobs):
    _load(engine)
    run_jobs()
    keys = {t.id: t.key for t in session.scalars(select(Touchpoint))}
    for survey, touchpoint in FILTERS:
        f = resolve_filters(session, survey, touchpoint, "30d")
        stops = {s.touchpoint.key: s.responses for s in journey(session, f, link=str)["stops"]}
        rows = {r["touchpoint"].key: r["responses"] for r in experience(session, f)["rows"]}
        expected: dict[str, int] = {}
        for response in session.scalars(select(Response)):
            if (f.first_day <= response.completed_at.date() <= f.last_day
                    and (not f.survey_id or response.survey_id == f.survey_id)
                    and (not f.touchpoint_id or response.touchpoint_id == f.touchpoint_id)):
                key = keys[response.touchpoint_id]
                expected[key] = expected.get(key, 0) + 1
        assert stops == rows == expected, (survey, touchpoint)
    assert expected == {} and len(keys) == 2  # the last filter pairs a survey with a touchpoint it never used
