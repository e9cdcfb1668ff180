"""Rollups follow every change in its transaction, never count twice, and equal a rebuild from scratch;
the totals over every survey and touchpoint always equal the sums of the daily cells."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import MetaData, Table, insert, select, text
from sqlmodel import Session

from tests import factories as f
from voc.analytics.models import ALL, Rollup, RollupTotal
from voc.analytics.rollups import COUNT_COLUMNS, rebuild_rollups, record_response
from voc.db import alembic_config, migrate
from voc.sentiment.tasks import analyse_response, reanalyse
from voc.surveys.models import Response
from voc.surveys.responses import submit_response

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "csat", "type": "csat", "prompt": "Satisfied?"},
             {"id": "why", "type": "text", "prompt": "Why?"}]
ANSWERS = [(10, 5, "Lovely staff, they treated me like family."),
           (3, 1, "The room smelled of mould and I had to call reception three times."),
           (8, 4, None), (9, 2, "Fast delivery but the box was crushed.")]


def _load(engine, answers=ANSWERS) -> None:
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0)
        f.event(session, "unanswered", contact="nobody")
        for number, (nps, csat, text) in enumerate(answers):
            outcome = f.event(session, f"e-{number}", contact=f"c{number}")
            submit_response(session, f.token_of(outcome.invitation.url),
                            [("nps", nps), ("csat", csat)] + ([("why", text)] if text else []))
        session.commit()


def _totals(engine) -> dict[str, float]:
    """Every column summed over the daily cells (and, checked on the way, the totals equal those cells)."""
    _assert_totals_match_cells(engine)
    with Session(engine) as session:
        rows = list(session.scalars(select(Rollup)))
    return {c: round(sum(getattr(r, c) for r in rows), 6) for c in COUNT_COLUMNS}


def _expected_totals(cells: list[Rollup]) -> dict[tuple, dict[str, float]]:
    """What rollup_total must hold: each level summed from the daily cells, zero rows left out."""
    out: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    for cell in cells:
        for key in ((cell.survey_id, ALL, cell.day), (ALL, cell.touchpoint_id, cell.day), (ALL, ALL, cell.day)):
            for column in COUNT_COLUMNS:
                out[key][column] += getattr(cell, column)
    return {key: values for key, values in out.items() if any(values.values())}


def _assert_totals_match_cells(engine) -> None:
    with Session(engine) as session:
        expected = _expected_totals(list(session.scalars(select(Rollup))))
        stored = {(t.survey_id, t.touchpoint_id, t.day): {c: getattr(t, c) for c in COUNT_COLUMNS}
                  for t in session.scalars(select(RollupTotal))}
    stored = {key: values for key, values in stored.items() if any(values.values())}
    assert set(stored) == set(expected)
    for key, values in expected.items():
        assert stored[key] == pytest.approx(values, abs=1e-9), key


def test_the_worker_fills_the_rollups_as_responses_arrive_and_are_read(engine, run_jobs):
    _load(engine)
    run_jobs()
    totals = _totals(engine)
    assert totals["invitations"] == 5 and totals["responses"] == 4
    assert totals["nps_10"] == totals["nps_3"] == totals["nps_8"] == totals["nps_9"] == 1
    assert (totals["nps_promoters"], totals["nps_passives"], totals["nps_detractors"]) == (2, 1, 1)
    assert totals["csat_5"] == totals["csat_1"] == totals["csat_4"] == totals["csat_2"] == 1
    assert totals["sentiment_count"] == 3  # the response without text has no sentiment
    assert totals["sentiment_negative"] >= 1 and totals["sentiment_positive"] >= 1
    assert totals["mismatch_count"] >= 1
    assert totals["sense_count"] >= 1 and totals["sense_valence_sum"] < 0


def test_running_a_job_twice_or_reanalysing_does_not_count_twice(engine, run_jobs):
    _load(engine)
    run_jobs()
    before = _totals(engine)
    with Session(engine) as session:
        for response_id in session.scalars(select(Response.id)):
            analyse_response(session, {"response_id": response_id})
            record_response(session, session.get(Response, response_id))
        session.commit()
    assert _totals(engine) == before
    assert reanalyse(engine, everything=True) == 4
    assert _totals(engine) == before


def test_a_changed_analysis_moves_its_contribution(engine, run_jobs):
    _load(engine)
    run_jobs()
    before = _totals(engine)
    with Session(engine) as session:
        response = session.scalars(select(Response).where(Response.nps == 8)).one()
        response.analysis = {"sentiment": {"compound": -0.5, "label": "negative"},
                             "dimensions": {"act": {"salience": 0.5, "valence": -0.8}}, "themes": []}
        record_response(session, response)
        session.commit()
    after = _totals(engine)
    assert after["sentiment_count"] == before["sentiment_count"] + 1
    assert after["sentiment_negative"] == before["sentiment_negative"] + 1
    assert after["act_valence_sum"] == pytest.approx(before["act_valence_sum"] - 0.4)


def test_incremental_rollups_equal_a_rebuild(engine, run_jobs):
    _load(engine)
    run_jobs()
    incremental = _totals(engine)
    with Session(engine) as session:
        cells_before = {(r.day, r.survey_id, r.touchpoint_id) for r in session.scalars(select(Rollup))}
        assert rebuild_rollups(session) == len(cells_before)
        session.commit()
    assert _totals(engine) == pytest.approx(incremental)
    # and the rebuild leaves entries behind, so later changes still subtract correctly
    assert reanalyse(engine, everything=True) == 4
    assert _totals(engine) == pytest.approx(incremental)


def test_the_demo_leaves_rollups_filled_and_equal_to_a_rebuild(engine):
    from sqlalchemy import func

    from voc.demo.loader import load_demo

    summary = load_demo(contacts=60, responses=120, days=30, engine=engine)
    incremental = _totals(engine)
    with Session(engine) as session:
        assert incremental["responses"] == session.scalar(select(func.count(Response.id))) == summary.responses
        rebuild_rollups(session)
        session.commit()
    assert incremental["invitations"] == summary.invitations
    assert _totals(engine) == pytest.approx(incremental)


def test_a_response_that_moves_to_another_day_moves_in_the_totals_too(engine, run_jobs):
    _load(engine)
    run_jobs()
    before = _totals(engine)
    with Session(engine) as session:
        response = session.scalars(select(Response).where(Response.nps == 3)).one()
        old_day = response.completed_at.date()
        response.completed_at -= timedelta(days=3)
        record_response(session, response)
        session.commit()
        new_day = old_day - timedelta(days=3)
        everything = {t.day: t.nps_3 for t in session.scalars(
            select(RollupTotal).where(RollupTotal.survey_id == ALL, RollupTotal.touchpoint_id == ALL))}
    assert _totals(engine) == pytest.approx(before)  # nothing counted twice, the totals still equal the cells
    assert everything.get(old_day, 0) == 0 and everything[new_day] == 1


def test_the_migration_fills_the_totals_from_existing_rollups(database_url):
    """Upgrading a database that already has rollups gives it the totals they imply."""
    from alembic import command

    from voc.db import make_engine

    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(database_url), "0006")
        day = date(2026, 3, 1)
        with engine.begin() as connection:
            rows = [{"day": day - timedelta(days=d), "survey_id": s, "touchpoint_id": t,
                     **{c: 0 for c in COUNT_COLUMNS}, "responses": s * 10 + t + d, "nps_10": 1,
                     "sentiment_sum": 0.25 * t, "sentiment_count": 1}
                    for d in (0, 1) for s in (1, 2) for t in (0, 1, 2)]
            # The table as it was at 0006 (later revisions add columns the model already has).
            old = Table("rollup", MetaData(), autoload_with=connection)
            connection.execute(insert(old), [{k: v for k, v in row.items() if k in old.c} for row in rows])
    finally:
        migrate(database_url)
    _assert_totals_match_cells(engine)
    with Session(engine) as session:
        everything = session.scalars(select(RollupTotal).where(RollupTotal.survey_id == ALL,
                                                               RollupTotal.touchpoint_id == ALL)).all()
        assert sorted(t.responses for t in everything) == [sum(s * 10 + t for s in (1, 2) for t in (0, 1, 2)) + 6 * d
                                                            for d in (0, 1)]
        session.execute(text("DELETE FROM rollup"))
        session.execute(text("DELETE FROM rollup_total"))
        session.commit()
    engine.dispose()


def test_voc_rebuild_rollups_restores_what_the_worker_counted(database_url, engine, run_jobs, capsys):
    from voc.cli import main

    _load(engine)
    run_jobs()
    counted = _totals(engine)
    assert counted["opened"] == counted["started"] == counted["responses"] == len(ANSWERS)  # one-shot submits
    with Session(engine) as session:
        session.execute(text("DELETE FROM rollup"))
        session.execute(text("DELETE FROM rollup_total"))
        session.commit()
    assert main(["rebuild-rollups"]) == 0
    assert "rebuilt the rollups" in capsys.readouterr().out
    assert _totals(engine) == counted


def test_the_spread_of_sentiment_is_rolled_up(engine, run_jobs):
    _load(engine)
    run_jobs()
    with Session(engine) as session:
        compounds = [r.analysis["sentiment"]["compound"] for r in session.scalars(select(Response))
                     if (r.analysis or {}).get("sentiment")]
    totals = _totals(engine)
    assert totals["sentiment_square_sum"] == pytest.approx(sum(c * c for c in compounds), abs=1e-6)
    assert totals["sentiment_sum"] == pytest.approx(sum(compounds), abs=1e-6) and len(compounds) == 3


@pytest.mark.parametrize(("zone", "day"), [("UTC", date(2026, 11, 30)), ("Europe/Berlin", date(2026, 12, 1)),
                                           ("America/New_York", date(2026, 11, 30))])
def test_a_response_counts_on_its_day_in_the_workspace_time_zone(engine, run_jobs, monkeypatch, zone, day):
    """23:30 UTC on 30 Nov is already 1 Dec in Berlin: the rollup's day is the workspace's, incrementally and
    in a rebuild (SQLite has no zone database: the rebuild reads those days in Python)."""
    from datetime import UTC, datetime

    from voc.config import get_settings

    monkeypatch.setenv("VOC_TIME_ZONE", zone)
    get_settings.cache_clear()
    when = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0)
        outcome = f.event(session, "late-evening", contact="c1", occurred_at=(when - timedelta(minutes=1)).isoformat())
        submit_response(session, f.token_of(outcome.invitation.url), [("nps", 9)], now=when)
        session.commit()
    run_jobs()

    def days() -> dict[str, set[date]]:
        with Session(engine) as session:
            cells = list(session.scalars(select(Rollup)))
        return {c: {r.day for r in cells if getattr(r, c)} for c in ("invitations", "responses")}

    assert days() == {"invitations": {day}, "responses": {day}}
    with Session(engine) as session:
        rebuild_rollups(session)
        session.commit()
    assert days() == {"invitations": {day}, "responses": {day}}
