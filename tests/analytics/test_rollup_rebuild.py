"""Each day's counts, worked out by hand from the answers planted, equal what the rollups keep as answers arrive
and what a rebuild recomputes: on the workspace's days (23:59:59 and 00:00:00 local time fall on two days),
per survey and touchpoint, with test responses, unfinished responses and whole batches of responses."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlmodel import Session

from tests import factories as f
from tests.analytics.helpers import answer_at
from voc.analytics.models import ALL, NO_TOUCHPOINT, SEEN, ChoiceRollup, Rollup, RollupTotal
from voc.analytics.rollups import COUNT_COLUMNS, rebuild_rollups, record_response
from voc.config import get_settings
from voc.surveys.models import Contact, Invitation, Response, Survey, Touchpoint
from voc.surveys.partials import save_step
from voc.surveys.responses import load_invitation, mark_opened, submit_response
from voc.surveys.service import current_version
from voc.surveys.trial import create_test_invitation

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "csat", "type": "csat", "prompt": "Satisfied?"},
             {"id": "ces", "type": "ces", "prompt": "Easy?"}]
DAY = date(2026, 11, 20)  # D; D+1 is 21 November
NEXT = DAY + timedelta(days=1)
DELIVERY = ("post_delivery", "order_delivered")  # (survey, touchpoint) of a cell
SUPPORT = ("post_support", "support_closed")


def _set_zone(monkeypatch, zone: str) -> None:
    monkeypatch.setenv("VOC_TIME_ZONE", zone)
    get_settings.cache_clear()


def _local(zone: str, day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the workspace's clock, as the UTC instant it is."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _invite(session: Session, cell: tuple[str, str], at: datetime, name: str) -> str:
    """An invitation of the cell's touchpoint, usable from `at`; returns its token."""
    outcome = f.event(session, f"e-{name}", touchpoint=cell[1], contact=name, occurred_at=at.isoformat())
    return f.token_of(outcome.invitation.url)


def _plant(engine, zone: str) -> None:
    """Two surveys on two touchpoints (survey ids and touchpoint ids differ: post_support is survey 1 on
    touchpoint 2, post_delivery survey 2 on touchpoint 1), answered around local midnight between D and D+1."""
    at = lambda day, *hms: _local(zone, day, *hms)  # noqa: E731
    with Session(engine) as session:
        f.touchpoint(session, "order_delivered", stage="delivery")
        f.touchpoint(session, "support_closed", stage="support")
        f.survey(session, "post_support", touchpoint="support_closed", questions=QUESTIONS, recontact_days=0)
        delivery = f.survey(session, "post_delivery", touchpoint="order_delivered", questions=QUESTIONS,
                            recontact_days=0)
        session.commit()
        # A dashboard user tries the survey first: response 1, counted nowhere (nor its opening).
        trial = create_test_invitation(session, session.get(Survey, delivery.id), "tester@example.com")
        session.commit()
        submit_response(session, _trial_token(trial), [("nps", 0), ("csat", 1), ("ces", 1)])
        session.commit()
        # a: invited and answered in one go on D, the last second of it.
        token = _invite(session, DELIVERY, at(DAY, 23, 50), "a")
        submit_response(session, token, [("nps", 10), ("csat", 5), ("ces", 6)], now=at(DAY, 23, 59, 59))
        # b: invited in the last second of D, answered in one go in the first second of D+1.
        token = _invite(session, DELIVERY, at(DAY, 23, 59, 59), "b")
        submit_response(session, token, [("nps", 7), ("csat", 3), ("ces", 2)], now=at(NEXT, 0, 0, 0))
        session.commit()
        # c: opened and its first step left on D, the rest sent at 00:00:00 on D+1.
        token = _invite(session, DELIVERY, at(DAY, 22), "c")
        opened = load_invitation(session, token, at(DAY, 23, 59))
        mark_opened(session, opened, at(DAY, 23, 59))
        save_step(session, opened, QUESTIONS[0], 0, at(DAY, 23, 59, 59))
        session.commit()
        submit_response(session, token, [("csat", 1)], now=at(NEXT, 0, 0, 0))
        # d: the other survey, answered on D; e: invited on D, never answered.
        token = _invite(session, SUPPORT, at(DAY, 12), "d")
        submit_response(session, token, [("nps", 9), ("csat", 4)], now=at(DAY, 12, 10))
        _invite(session, SUPPORT, at(DAY, 13), "e")
        # f: invited and opened at 00:00:00 on D+1, never answered.
        token = _invite(session, SUPPORT, at(NEXT, 0, 0, 0), "f")
        mark_opened(session, load_invitation(session, token, at(NEXT, 0, 0, 0)), at(NEXT, 0, 0, 0))
        session.commit()


def _trial_token(invitation: Invitation) -> str:
    from voc.surveys.tokens import token_for

    return token_for(invitation.token_nonce, get_settings().secret_key)


# By hand, from _plant: each cell's counts that are not zero.
EXPECTED = {
    (DAY, *DELIVERY): {"invitations": 3,  # a, b (23:59:59), c
                       "opened": 2, "started": 2,  # a (one go), c (opened 23:59, first step 23:59:59)
                       "responses": 1, "nps_10": 1, "nps_promoters": 1, "csat_5": 1, "ces_6": 1},  # a
    (NEXT, *DELIVERY): {"opened": 1, "started": 1,  # b, in one go at 00:00:00
                        "responses": 2,  # b and c
                        "nps_7": 1, "nps_passives": 1, "nps_0": 1, "nps_detractors": 1,
                        "csat_3": 1, "csat_1": 1, "ces_2": 1},
    (DAY, *SUPPORT): {"invitations": 2, "opened": 1, "started": 1,  # d and e; d answered in one go
                      "responses": 1, "nps_9": 1, "nps_promoters": 1, "csat_4": 1},
    (NEXT, *SUPPORT): {"invitations": 1, "opened": 1},  # f
}


def _ids(engine) -> tuple[dict[int, str], dict[int, str]]:
    with Session(engine) as session:
        surveys = dict(session.execute(select(Survey.id, Survey.key)).all())
        touchpoints = dict(session.execute(select(Touchpoint.id, Touchpoint.key)).all())
    return surveys, {**touchpoints, ALL: "ALL", NO_TOUCHPOINT: "none"}


def _nonzero(row) -> dict[str, float]:
    return {c: getattr(row, c) for c in COUNT_COLUMNS if getattr(row, c)}


def _cells(engine) -> dict[tuple, dict[str, float]]:
    """The daily cells as (day, survey key, touchpoint key): their counts that are not zero."""
    surveys, touchpoints = _ids(engine)
    with Session(engine) as session:
        rows = list(session.scalars(select(Rollup)))
    return {(r.day, surveys[r.survey_id], touchpoints[r.touchpoint_id]): _nonzero(r) for r in rows if _nonzero(r)}


def _totals(engine) -> dict[tuple, dict[str, float]]:
    """rollup_total as (day, survey key or ALL, touchpoint key or ALL): its counts that are not zero."""
    surveys, touchpoints = _ids(engine)
    surveys[ALL] = "ALL"
    with Session(engine) as session:
        rows = list(session.scalars(select(RollupTotal)))
    return {(r.day, surveys[r.survey_id], touchpoints[r.touchpoint_id]): _nonzero(r) for r in rows if _nonzero(r)}


def _expected_totals() -> dict[tuple, dict[str, float]]:
    out: dict[tuple, Counter] = defaultdict(Counter)
    for (day, survey, touchpoint), counts in EXPECTED.items():
        for key in ((day, survey, "ALL"), (day, "ALL", touchpoint), (day, "ALL", "ALL")):
            out[key].update(counts)
    return {key: dict(counts) for key, counts in out.items()}


def test_expected_totals_by_hand():
    """The totals the tests below expect, written out for the whole workspace: D has 5 invitations (a, b, c, d,
    e), 3 opened and started, 2 responses (NPS 10 and 9); D+1 has f's invitation, b's and f's opening, b's start
    and the responses of b and c."""
    totals = _expected_totals()
    assert totals[(DAY, "ALL", "ALL")] == {"invitations": 5, "opened": 3, "started": 3, "responses": 2, "nps_10": 1,
                                           "nps_9": 1, "nps_promoters": 2, "csat_5": 1, "csat_4": 1, "ces_6": 1}
    assert totals[(NEXT, "ALL", "ALL")] == {"invitations": 1, "opened": 2, "started": 1, "responses": 2,
                                            "nps_7": 1, "nps_passives": 1, "nps_0": 1, "nps_detractors": 1,
                                            "csat_3": 1, "csat_1": 1, "ces_2": 1}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_each_cell_counts_its_local_day_as_answers_arrive_after_a_rebuild_and_after_jobs_run_again(
        engine, run_jobs, monkeypatch, zone):
    _set_zone(monkeypatch, zone)
    _plant(engine, zone)
    run_jobs()
    assert _cells(engine) == EXPECTED
    assert _totals(engine) == _expected_totals()
    with Session(engine) as session:
        assert rebuild_rollups(session) == len(EXPECTED)
        session.commit()
    assert _cells(engine) == EXPECTED
    assert _totals(engine) == _expected_totals()
    # After a rebuild, each response's job run again (or a re-analysis) finds what the rebuild stored for it
    # and adds nothing.
    with Session(engine) as session:
        for response in session.scalars(select(Response)).all():
            record_response(session, response)
        session.commit()
    assert _cells(engine) == EXPECTED
    assert _totals(engine) == _expected_totals()


def test_a_response_moved_after_a_rebuild_leaves_its_old_cell(engine, run_jobs):
    """d (NPS 9, on D) moved back a day after a rebuild: D has no response of post_support left, D-1 has it."""
    _plant(engine, "UTC")
    run_jobs()
    with Session(engine) as session:
        rebuild_rollups(session)
        session.commit()
        response = session.scalars(select(Response).where(Response.nps == 9)).one()
        response.completed_at -= timedelta(days=1)
        record_response(session, response)
        session.commit()
    cells = _cells(engine)
    assert cells[(DAY, *SUPPORT)] == {"invitations": 2, "opened": 1, "started": 1}
    assert cells[(DAY - timedelta(days=1), *SUPPORT)] == {"responses": 1, "nps_9": 1, "nps_promoters": 1,
                                                          "csat_4": 1}
    assert cells[(DAY, *DELIVERY)] == EXPECTED[(DAY, *DELIVERY)]


def test_a_rebuild_over_more_responses_than_one_batch_counts_each_once(engine):
    """5,500 answers imported straight into the tables over 420 days (more than one batch of responses, more
    than 1,000 rows of totals), every 13th a test answer: the rebuild counts each real one once, on its day."""
    days, planted = 420, 5500
    with Session(engine) as session:
        f.touchpoint(session)
        survey = f.survey(session, questions=QUESTIONS, recontact_days=0)
        touchpoint_id = session.scalar(select(Touchpoint.id))
        version_id = current_version(session, survey).id
        contact_id = session.execute(insert(Contact).values(crm="import", external_id="many")).inserted_primary_key[0]
        invitations, responses = [], []
        for i in range(planted):
            completed = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC) - timedelta(days=i % days)
            common = {"id": i + 1, "survey_id": survey.id, "survey_version_id": version_id,
                      "touchpoint_id": touchpoint_id, "contact_id": contact_id, "is_test": i % 13 == 0}
            invitations.append({**common, "token_hash": f"imported-{i}", "token_nonce": f"n-{i}", "channel": "link",
                                "status": "completed", "invited_at": completed - timedelta(hours=1),
                                "expires_at": completed + timedelta(days=7), "opened_at": completed,
                                "completed_at": completed, "created_at": completed})
            responses.append({**common, "invitation_id": i + 1, "status": "completed", "nps": i % 11,
                              "csat": i % 5 + 1, "ces": i % 7 + 1, "started_at": completed,
                              "completed_at": completed, "created_at": completed})
        session.execute(insert(Invitation), invitations)
        session.execute(insert(Response), responses[::-1])  # stored newest first: the rebuild reads them by id
        session.commit()
        assert rebuild_rollups(session) == days
        session.commit()
    # By hand from the rules above: per day, the real answers and what they gave.
    expected: dict[date, Counter] = defaultdict(Counter)
    for i in range(planted):
        if i % 13 == 0:
            continue
        nps = i % 11
        group = "promoters" if nps >= 9 else "passives" if nps >= 7 else "detractors"
        expected[DAY - timedelta(days=i % days)].update({
            "invitations": 1, "opened": 1, "started": 1, "responses": 1, f"nps_{nps}": 1, f"nps_{group}": 1,
            f"csat_{i % 5 + 1}": 1, f"ces_{i % 7 + 1}": 1})
    assert sum(c["responses"] for c in expected.values()) == 5500 - 424  # 424 test answers: i = 0, 13, …, 5499
    totals = _totals(engine)
    assert len(totals) == 3 * days  # per day: the survey's, the touchpoint's, the workspace's
    for day, counts in expected.items():
        for key in ((day, "post_delivery", "ALL"), (day, "ALL", "order_delivered"), (day, "ALL", "ALL")):
            assert totals[key] == dict(counts), key
    assert _cells(engine) == {(day, "post_delivery", "order_delivered"): dict(c) for day, c in expected.items()}
    # Every real answer has its entry: its job run again adds nothing (the last ones came in the second batch).
    with Session(engine) as session:
        for response in session.scalars(select(Response).where(Response.id > planted - 30)).all():
            record_response(session, response)
        session.commit()
    assert _totals(engine)[(DAY - timedelta(days=(planted - 1) % days), "ALL", "ALL")] == dict(
        expected[DAY - timedelta(days=(planted - 1) % days)])


def test_an_unfinished_response_counts_no_score_and_no_choice_incrementally_or_in_a_rebuild(engine, run_jobs):
    """Of two answers on D (the survey asks a plan and what was liked), one is marked unfinished before its job
    runs: only the finished one is a response, and only it saw and picked choices, before and after a rebuild."""
    noon = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
    answer_at(engine, noon, [("nps", 9), ("plan", "Pro"), ("liked", ["Speed", "Staff"])])
    unfinished = answer_at(engine, noon + timedelta(hours=1), [("nps", 2), ("plan", "Basic"), ("liked", ["Price"])])
    with Session(engine) as session:
        session.execute(update(Response).where(Response.id == unfinished).values(status="partial"))
        session.commit()
    run_jobs()

    def figures() -> tuple[dict[str, float], dict[tuple[int, str, str], int]]:
        with Session(engine) as session:
            choices = {(r.touchpoint_id == ALL, r.question_id, r.option): r.answers
                       for r in session.scalars(select(ChoiceRollup).where(ChoiceRollup.day == DAY)) if r.answers}
        return _totals(engine)[(DAY, "ALL", "ALL")], choices

    # The finished one only: NPS 9, who saw each question (SEEN) and each option picked, per touchpoint and
    # over every touchpoint.
    picked = {("plan", SEEN): 1, ("plan", "Pro"): 1, ("liked", SEEN): 1, ("liked", "Speed"): 1, ("liked", "Staff"): 1}
    expected_choices = {(every, q, o): n for every in (False, True) for (q, o), n in picked.items()}
    before, choices = figures()
    assert (before["responses"], before["nps_9"], before.get("nps_2", 0), before["invitations"]) == (1, 1, 0, 2)
    assert choices == expected_choices
    with Session(engine) as session:
        rebuild_rollups(session)
        session.commit()
    assert figures() == (before, expected_choices)
