"""The queue: 50 a page by keyset, each sort, each filter, overdue against a fixed clock, counts per status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from tests.followups.helpers import SUPPORT_SLA_HOURS, make_case, make_cases
from voc.auth.models import User
from voc.auth.users import create_user
from voc.cursors import pack_cursor
from voc.errors import Invalid
from voc.followups import queue, service
from voc.followups.models import Followup

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _user(session: Session, role: str = "analyst", email: str | None = None) -> User:
    return create_user(session, email or f"{role}@example.com", role, "correct horse battery")


def _ids(page: queue.QueuePage) -> list[int]:
    return [c.followup.id for c in page.items]


def _list(session: Session, user: User, now: datetime = NOW, **filters: str) -> list[int]:
    return _ids(queue.list_queue(session, queue.parse_filters(**filters), user, now=now))


def test_fifty_a_page_then_the_next_page(engine):
    made = make_cases(engine, 53, opened=NOW - timedelta(hours=1))
    with Session(engine) as session:
        user = _user(session)
        first = queue.list_queue(session, queue.parse_filters(sort="newest"), user, now=NOW)
        assert len(first.items) == 50 and first.start == 0 and first.total == 53 and first.next_cursor
        second = queue.list_queue(session, queue.parse_filters(sort="newest"), user, now=NOW,
                                  cursor=first.next_cursor)
        assert second.start == 50 and len(second.items) == 3 and second.next_cursor is None
        assert _ids(first) + _ids(second) == sorted(made, reverse=True)  # same moment: newest id first


def test_ties_in_priority_page_through_every_case_once(engine):
    made = make_cases(engine, 5, nps=4, opened=NOW)  # identical priority keys: the id breaks the tie
    with Session(engine) as session:
        user, seen, cursor = _user(session), [], None
        while True:
            page = queue.list_queue(session, queue.parse_filters(), user, cursor=cursor, limit=2, now=NOW)
            seen += _ids(page)
            if not (cursor := page.next_cursor):
                break
        assert seen == sorted(made, reverse=True)


def test_sorted_by_priority_score_value_and_age(engine):
    with Session(engine) as session:
        user = _user(session)
        mild = make_case(session, "mild", nps=6, opened=NOW)  # 20 points
        severe = make_case(session, "severe", nps=0, opened=NOW)  # 50
        valued = make_case(session, "valued", nps=5, value=999, opened=NOW)  # 25 + 30
        waiting = make_case(session, "waiting", nps=6, opened=NOW - timedelta(days=20))  # 20 + 40
        session.commit()
        page = queue.list_queue(session, queue.parse_filters(), user, now=NOW)
        assert [(c.contact.external_id, c.priority) for c in page.items] == [
            ("waiting", 60), ("valued", 55), ("severe", 50), ("mild", 20)]
        assert [c.value for c in page.items] == [None, 999, None, None]
        # Ten days on, the order is what the formula says then (everyone aged alike).
        later = queue.list_queue(session, queue.parse_filters(), user, now=NOW + timedelta(days=10))
        assert [c.priority for c in later.items] == [80, 75, 70, 40]
        assert _ids(later) == [waiting.id, valued.id, severe.id, mild.id]


def test_sorted_by_sla_due_time_and_by_age(engine):
    with Session(engine) as session:
        user = _user(session)
        later = make_case(session, "later", opened=NOW)  # due in 48 h (the workspace's SLA)
        soon = make_case(session, "soon", touchpoint="support", opened=NOW)  # due in 4 h (the touchpoint's)
        middle = make_case(session, "middle", opened=NOW - timedelta(days=1))  # due in 24 h
        session.commit()
        assert soon.due_at == NOW + timedelta(hours=SUPPORT_SLA_HOURS)
        assert later.due_at == NOW + timedelta(hours=48)
        assert _list(session, user, sort="due") == [soon.id, middle.id, later.id]
        assert _list(session, user, sort="newest") == [soon.id, later.id, middle.id]  # same moment: higher id first


def test_filters_owner_status_touchpoint_survey_and_overdue(engine):
    with Session(engine) as session:
        me, other = _user(session), _user(session, email="other@example.com")
        mine = make_case(session, "mine", opened=NOW)
        theirs = make_case(session, "theirs", touchpoint="support", opened=NOW - timedelta(hours=5))  # overdue
        nobodys = make_case(session, "nobodys", opened=NOW)
        done = make_case(session, "done", opened=NOW - timedelta(days=5))  # overdue, but resolved
        session.flush()
        service.assign_followups(session, [mine.id], me.id, me)
        service.assign_followups(session, [theirs.id, done.id], other.id, me)
        service.set_followup_status(session, theirs.id, "in_progress")
        service.resolve_followups(session, [done.id], me)
        session.commit()

        def ids(**filters: str) -> set[int]:
            return set(_list(session, me, **filters))

        assert ids() == {mine.id, theirs.id, nobodys.id}  # unresolved by default
        assert ids(status="all") == {mine.id, theirs.id, nobodys.id, done.id}
        assert ids(status="open") == {mine.id, nobodys.id}
        assert ids(status="in_progress") == {theirs.id}
        assert ids(status="resolved") == {done.id}
        assert ids(assignee="me") == {mine.id}
        assert ids(assignee="none") == {nobodys.id}
        assert ids(assignee=str(other.id), status="all") == {theirs.id, done.id}
        assert ids(touchpoint="support") == {theirs.id}
        assert ids(touchpoint="no-such-touchpoint") == set()
        assert ids(survey="support_survey", status="all") == {theirs.id}
        assert ids(overdue="1") == {theirs.id}
        assert ids(overdue="1", status="all") == {theirs.id}  # a resolved case is never overdue
        assert ids(status="bogus", sort="bogus", assignee="x") == ids()  # unknown values are ignored


def test_overdue_is_marked_against_the_clock(engine):
    with Session(engine) as session:
        user = _user(session)
        case = make_case(session, "c1", touchpoint="support", opened=NOW)
        session.commit()

        def shown(now: datetime) -> tuple[bool, int]:
            page = queue.list_queue(session, queue.parse_filters(), user, now=now)
            return page.items[0].overdue, page.counts.overdue

        assert shown(NOW + timedelta(hours=3, minutes=59)) == (False, 0)
        assert shown(NOW + timedelta(hours=4, seconds=1)) == (True, 1)
        service.resolve_followups(session, [case.id], user)
        session.commit()
        page = queue.list_queue(session, queue.parse_filters(status="all"), user, now=NOW + timedelta(days=1))
        assert not page.items[0].overdue and page.counts.overdue == 0


def test_counts_per_status_follow_the_owner_and_touchpoint_filters(engine):
    with Session(engine) as session:
        user = _user(session)
        cases = [make_case(session, f"c{n}", opened=NOW - timedelta(days=n),
                           touchpoint="support" if n < 2 else "order_delivered") for n in range(6)]
        session.flush()
        service.set_followup_status(session, cases[0].id, "in_progress")
        service.resolve_followups(session, [cases[1].id, cases[2].id], user)
        service.assign_followups(session, [cases[3].id], user.id, user)
        session.commit()
        counts = queue.count_cases(session, queue.parse_filters(), user, NOW)
        assert counts.by_status == {"open": 3, "in_progress": 1, "resolved": 2}
        assert (counts.unresolved, counts.all) == (4, 6)
        assert counts.overdue == 3  # c3-c5: open past 48 h (c0 opened just now; c1 and c2 are resolved)
        support = queue.count_cases(session, queue.parse_filters(touchpoint="support"), user, NOW)
        assert support.by_status == {"open": 0, "in_progress": 1, "resolved": 1}
        mine = queue.count_cases(session, queue.parse_filters(assignee="me"), user, NOW)
        assert mine.by_status == {"open": 1, "in_progress": 0, "resolved": 0}


@pytest.mark.parametrize("cursor", ["not-a-cursor", pack_cursor("d", NOW.isoformat(), 1, 0),
                                    pack_cursor("p", "nan", 1, 0), pack_cursor("p", "1.5", 1, "-1"),
                                    pack_cursor("p", "1.5", "2147483648", 0)])
def test_a_forged_cursor_or_one_of_another_sort_is_refused(engine, cursor):
    with Session(engine) as session:
        user = _user(session)
        with pytest.raises(Invalid) as refused:
            queue.list_queue(session, queue.parse_filters(), user, cursor=cursor, now=NOW)
        assert refused.value.code == "invalid_cursor"


def test_a_new_case_gets_its_touchpoint_due_time_and_priority(engine):
    with Session(engine) as session:
        case = make_case(session, "c1", nps=0, value=99, touchpoint="support", opened=NOW)
        session.commit()
        stored = session.get(Followup, case.id)
        assert stored.touchpoint_id is not None and stored.due_at == NOW + timedelta(hours=4)
        assert queue.get_case(session, case.id, NOW).priority == 70  # 50 for NPS 0, 20 for a value of 99
