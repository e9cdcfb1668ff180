"""What one response adds to the rollups the dashboard reads: the NPS groups at their edges, the ends of the
CES scale, a mismatch, the choice questions a show_if condition hid, and nothing at all for a test response.
Every expected count is written out from the NPS, CES and show_if rules, not from the code's output."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.analytics.models import Rollup
from voc.analytics.rollups import (
    COUNT_COLUMNS,
    SEEN,
    choice_contribution,
    has_choice_questions,
    record_response,
    response_contribution,
)
from voc.surveys.models import Response
from voc.surveys.responses import submit_response


def _response(**scores):
    values = {"status": "completed", "nps": None, "csat": None, "ces": None, "analysis": None, "mismatch": None}
    return SimpleNamespace(**{**values, **scores})


def _sum(contributions: list[dict[str, float]], column: str) -> float:
    return sum(c.get(column, 0) for c in contributions)


def test_nps_groups_split_at_6_7_and_8_9():
    # NPS: 0-6 detractors, 7-8 passives, 9-10 promoters. One answer of each of 6, 7, 8, 9.
    added = [response_contribution(_response(nps=score)) for score in (6, 7, 8, 9)]
    assert [_sum(added, f"nps_{group}") for group in ("detractors", "passives", "promoters")] == [1, 2, 1]
    assert [_sum(added, f"nps_{score}") for score in range(11)] == [0] * 6 + [1, 1, 1, 1, 0]
    assert _sum(added, "responses") == 4


def test_both_ends_of_the_ces_scale_count_once_each():
    # CES runs 1 (very difficult) to 7 (very easy): an answer at each end, and one in the middle.
    added = [response_contribution(_response(ces=score)) for score in (1, 4, 7)]
    assert [_sum(added, f"ces_{score}") for score in range(1, 8)] == [1, 0, 0, 1, 0, 0, 1]


def test_a_score_that_disagrees_with_its_comment_counts_one_mismatch():
    added = [response_contribution(_response(nps=10, mismatch="positive_score_negative_text")),
             response_contribution(_response(nps=2))]
    assert _sum(added, "mismatch_count") == 1


def test_an_unfinished_response_adds_nothing():
    assert response_contribution(_response(status="started", nps=9)) == {}


def _answer(question_id, type_, *, choices=None, number=None, text=None, source="customer"):
    return SimpleNamespace(question_id=question_id, type=type_, choices=choices, number=number, text=text,
                           source=source)


CHOICES = [
    {"id": "ordered_before", "type": "single_choice", "prompt": "Ordered before?", "options": ["Yes", "No"]},
    {"id": "what_changed", "type": "multi_choice", "prompt": "What changed?", "options": ["Price", "Speed"],
     "show_if": {"question_id": "ordered_before", "op": "eq", "value": "Yes"}},
    {"id": "liked", "type": "multi_choice", "prompt": "What did you like?", "options": ["Fast", "Friendly"]},
    {"id": "staff", "type": "single_choice", "prompt": "Who helped?", "options": ["Driver", "Phone"],
     "show_if": {"question_id": "liked", "op": "contains", "value": "Friendly"}},
]


def test_a_choice_question_counts_as_seen_only_where_its_show_if_held():
    # A returning customer (single choice "Yes") is shown what_changed; a first-time one is not. Whoever ticked
    # "Friendly" among several options is asked who helped; whoever ticked only "Fast" is not.
    returning = choice_contribution(CHOICES, [
        _answer("ordered_before", "single_choice", choices=["Yes"]),
        _answer("what_changed", "multi_choice", choices=["Price"]),
        _answer("liked", "multi_choice", choices=["Fast", "Friendly"]),
        _answer("staff", "single_choice", choices=["Driver"])])
    assert returning == [("ordered_before", SEEN), ("ordered_before", "Yes"), ("what_changed", SEEN),
                         ("what_changed", "Price"), ("liked", SEEN), ("liked", "Fast"), ("liked", "Friendly"),
                         ("staff", SEEN), ("staff", "Driver")]
    first_time = choice_contribution(CHOICES, [
        _answer("ordered_before", "single_choice", choices=["No"]),
        _answer("liked", "multi_choice", choices=["Fast"])])
    assert first_time == [("ordered_before", SEEN), ("ordered_before", "No"), ("liked", SEEN), ("liked", "Fast")]


def test_a_survey_of_choice_questions_only_has_choice_questions():
    assert has_choice_questions(CHOICES[:1]) and has_choice_questions(CHOICES)
    assert not has_choice_questions([{"id": "nps", "type": "nps", "prompt": "Recommend?"}])
    assert not has_choice_questions(None)


def test_a_test_response_changes_no_rollup(engine):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=[{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}],
                 recontact_days=0)
        outcome = f.event(session, "e-1", contact="c1")
        submit_response(session, f.token_of(outcome.invitation.url), [("nps", 3)])
        session.commit()
        response = session.scalars(select(Response)).one()
        record_response(session, response)
        session.commit()
        before = {c: sum(getattr(r, c) for r in session.scalars(select(Rollup))) for c in COUNT_COLUMNS}
        assert before["responses"] == 1 and before["nps_detractors"] == 1
        # The same answer marked as a test (what a test invitation's response is): counted nowhere, not even
        # when its rollups are brought in line again.
        response.is_test, response.nps = True, 10
        session.add(response)
        session.flush()
        record_response(session, response)
        session.commit()
        after = {c: sum(getattr(r, c) for r in session.scalars(select(Rollup))) for c in COUNT_COLUMNS}
    assert after == before


def test_a_job_run_twice_counts_its_response_once_whatever_its_id(engine):
    # The first stored response is a test one (it gets no rollup entry), so the real one's id (2) is not the
    # number of entries before it: the entry that makes a second run harmless must be the real one's own.
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=[{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}],
                 recontact_days=0)
        for number in (1, 2):
            outcome = f.event(session, f"e-{number}", contact=f"c{number}")
            submit_response(session, f.token_of(outcome.invitation.url), [("nps", 9)])
        session.commit()
        tester, customer = session.scalars(select(Response).order_by(Response.id)).all()
        tester.is_test = True
        session.add(tester)
        session.flush()
        for response in (tester, customer, customer):  # the customer's job retried after it had counted
            record_response(session, response)
        session.commit()
        counted = {c: sum(getattr(r, c) for r in session.scalars(select(Rollup))) for c in ("responses",
                                                                                          "nps_promoters")}
    assert counted == {"responses": 1, "nps_promoters": 1}
