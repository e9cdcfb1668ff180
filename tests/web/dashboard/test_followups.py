"""The follow-up queue page: analysts work the cases (one or many), viewers read them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.followups.helpers import make_case, make_cases
from tests.followups.test_service import answer
from voc.auth.models import User
from voc.followups import queue
from voc.followups.mail import ASSIGNED_JOB
from voc.followups.models import Followup, FollowupNote
from voc.jobs.models import Job

XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)> it broke"
NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _case(engine, run_jobs, text=XSS, contact="c1") -> int:
    answer(engine, 2, text, contact=contact)
    run_jobs()
    with Session(engine) as session:
        return session.scalars(select(Followup).order_by(Followup.id.desc())).first().id


def _case_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="followup-case[^"]*" id="case-(\d+)"', html)]


def _next_href(html: str) -> str | None:
    found = re.search(r'<a class="next" rel="next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _user_id(engine, email_part: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(User.id).where(User.email.contains(email_part))).one()


@pytest.fixture
def clock(monkeypatch):
    """The queue's clock, fixed at NOW."""
    monkeypatch.setattr(queue, "queue_now", lambda: NOW)
    return NOW


def test_a_viewer_reads_cases_with_the_customers_words_escaped(client, engine, run_jobs, login):
    case_id = _case(engine, run_jobs)
    login("viewer")
    page = client.get("/dashboard/followups")
    assert page.status_code == 200
    assert f'id="case-{case_id}"' in page.text and 'href="/dashboard/contacts/c1"' in page.text
    assert "Recommend?" in page.text and "Detractor" in page.text
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Add note" not in page.text and 'id="bulk-form"' not in page.text  # viewers get no forms
    single = client.get(f"/dashboard/followups/{case_id}")
    assert single.status_code == 200 and _case_ids(single.text) == [case_id]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in single.text


def test_anonymous_visitors_are_sent_to_login(client):
    answer_ = client.get("/dashboard/followups", follow_redirects=False)
    assert answer_.status_code == 303 and answer_.headers["location"].startswith("/login")


def test_fifty_cases_a_page_and_the_next_page(client, engine, login, clock):
    made = make_cases(engine, 52, opened=NOW - timedelta(hours=1))
    login("viewer")
    first = client.get("/dashboard/followups?sort=newest")
    assert len(_case_ids(first.text)) == 50 and "Cases 1–50 of 52" in first.text
    next_href = _next_href(first.text)
    assert next_href and "sort=newest" in next_href and "cursor=" in next_href  # the view stays in the link
    second = client.get(next_href)
    assert _case_ids(second.text) == sorted(made, reverse=True)[50:] and "Cases 51–52 of 52" in second.text
    assert _next_href(second.text) is None and ">First page</a>" in second.text
    # htmx: the results alone, to swap in place.
    fragment = client.get(next_href, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="followup-results"') and "<html" not in fragment.text
    assert _case_ids(fragment.text) == _case_ids(second.text)
    assert client.get("/dashboard/followups?cursor=not-a-cursor").status_code == 422
    assert client.get(f"/dashboard/followups?{next_href.split('?')[1]}&sort=due").status_code == 422


def test_the_page_sorts_filters_marks_overdue_and_counts_per_status(client, engine, login, clock):
    csrf = login("analyst")
    with Session(engine, expire_on_commit=False) as session:
        severe = make_case(session, "severe", nps=0, opened=NOW - timedelta(hours=1))
        late = make_case(session, "late", nps=6, touchpoint="support", opened=NOW - timedelta(hours=5))
        valued = make_case(session, "valued", nps=6, value=5000, opened=NOW)
        done = make_case(session, "done", opened=NOW)
        session.commit()
    client.post(f"/dashboard/followups/{done.id}/resolve", data={"csrf_token": csrf})

    # Priority: severe 50 + an hour's age, valued 20 + 30 for its value, late 20 + five hours' age.
    html = client.get("/dashboard/followups").text
    assert _case_ids(html) == [severe.id, valued.id, late.id]
    assert 'href="/dashboard/followups?status=resolved">Resolved <span class="tab-count">1</span>' in html
    assert 'aria-current="page">Unresolved <span class="tab-count">3</span>' in html
    assert 'Overdue <span class="tab-count">1</span>' in html
    articles = dict(re.findall(r'id="case-(\d+)"(.*?)</article>', html, re.S))
    assert "badge-overdue" in articles[str(late.id)] and "(1 h ago)" in articles[str(late.id)]
    assert html.count('class="badge badge-overdue"') == 1 and "(in 47 h)" in articles[str(severe.id)]

    assert _case_ids(client.get("/dashboard/followups?sort=due").text) == [late.id, severe.id, valued.id]
    assert _case_ids(client.get("/dashboard/followups?overdue=1").text) == [late.id]
    assert _case_ids(client.get("/dashboard/followups?touchpoint=support").text) == [late.id]
    assert _case_ids(client.get("/dashboard/followups?status=resolved").text) == [done.id]
    assert _case_ids(client.get("/dashboard/followups?assignee=none&status=all").text) == [
        severe.id, valued.id, done.id, late.id]
    assert _case_ids(client.get("/dashboard/followups?assignee=me").text) == []


def test_an_analyst_assigns_resolves_in_one_click_and_annotates(client, engine, run_jobs, login, make_user):
    case_id = _case(engine, run_jobs)
    colleague, _ = make_user("analyst")
    csrf = login("analyst")
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    assigned = client.post(f"/dashboard/followups/{case_id}/assign", data={"assignee": "me"}, headers=htmx)
    assert assigned.status_code == 200 and assigned.text.lstrip().startswith("<article")
    assert "(me)" in assigned.text and "<html" not in assigned.text
    noted = client.post(f"/dashboard/followups/{case_id}/notes", data={"text": "Called: <b>refund</b> sent"},
                        headers=htmx)
    assert "Called: &lt;b&gt;refund&lt;/b&gt; sent" in noted.text
    # One click from "open", with a note; without JavaScript: a plain post, then back to the view it came from.
    plain = client.post(f"/dashboard/followups/{case_id}/resolve",
                        data={"note": "Refund confirmed", "csrf_token": csrf, "back": "/dashboard/followups?sort=due"},
                        follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/dashboard/followups?sort=due#case-{case_id}"
    with Session(engine) as session:
        case = session.get(Followup, case_id)
        assert case.status == "resolved" and case.resolved_at is not None and case.assignee_id is not None
        assert [n.text for n in session.scalars(select(FollowupNote).order_by(FollowupNote.id))] == [
            "Called: <b>refund</b> sent", "Refund confirmed"]
    reopened = client.post(f"/dashboard/followups/{case_id}/status", data={"status": "open"}, headers=htmx)
    assert "Start working" in reopened.text and ">Resolve</button>" in reopened.text
    # Assigned to a colleague: they get an e-mail (a job, so the page does not wait for the mail server).
    colleague_id = _user_id(engine, colleague)
    client.post(f"/dashboard/followups/{case_id}/assign", data={"assignee": str(colleague_id)}, headers=htmx)
    with Session(engine) as session:
        [job] = session.scalars(select(Job).where(Job.kind == ASSIGNED_JOB)).all()
        assert job.payload["assignee_id"] == colleague_id and job.payload["followup_ids"] == [case_id]


def test_bulk_assign_and_bulk_resolve_need_the_csrf_token(client, engine, login, make_user):
    cases = make_cases(engine, 3)
    colleague, _ = make_user("analyst")
    csrf = login("analyst")
    page = client.get("/dashboard/followups")
    assert 'id="bulk-form"' in page.text and page.text.count('form="bulk-form"') == 3
    back = "/dashboard/followups?sort=due&cursor=abc&notice=resolved_9"
    no_token = client.post("/dashboard/followups/bulk", data={"action": "resolve", "ids": cases})
    assert no_token.status_code == 403

    assigned = client.post("/dashboard/followups/bulk", follow_redirects=False, data={
        "action": "assign", "ids": [str(i) for i in cases[:2]], "assignee": str(_user_id(engine, colleague)),
        "csrf_token": csrf, "back": back})
    assert assigned.status_code == 303
    assert assigned.headers["location"] == "/dashboard/followups?sort=due&cursor=abc&notice=assigned_2"
    assert "2 cases assigned." in client.get("/dashboard/followups?notice=assigned_2").text
    resolved = client.post("/dashboard/followups/bulk", follow_redirects=False, data={
        "action": "resolve", "ids": [str(i) for i in cases], "note": "Courier issue fixed", "csrf_token": csrf,
        "back": "https://evil.example/phish"})
    assert resolved.headers["location"] == "/dashboard/followups?notice=resolved_3"  # never off the queue
    again = client.post("/dashboard/followups/bulk", follow_redirects=False, data={
        "action": "resolve", "ids": [str(cases[0])], "csrf_token": csrf, "back": back})
    # Resolved cases leave the view: back on its first page (the cursor's page has moved), nothing changed.
    assert again.headers["location"] == "/dashboard/followups?sort=due&notice=resolved_0"
    with Session(engine) as session:
        stored = [session.get(Followup, i) for i in cases]
        assert [c.status for c in stored] == ["resolved"] * 3
        assert [c.assignee_id is not None for c in stored] == [True, True, False]
        assert session.scalars(select(Job.payload).where(Job.kind == ASSIGNED_JOB)).one()["followup_ids"] == cases[:2]
        assert len(session.scalars(select(FollowupNote)).all()) == 3


def test_a_viewer_can_change_nothing(client, engine, login):
    [case_id] = make_cases(engine, 1)
    csrf = login("viewer")
    for path, data in (("bulk", {"action": "resolve", "ids": str(case_id)}),
                       ("bulk", {"action": "assign", "ids": str(case_id), "assignee": "me"}),
                       (f"{case_id}/assign", {"assignee": "me"}), (f"{case_id}/resolve", {"note": "x"}),
                       (f"{case_id}/status", {"status": "resolved"}), (f"{case_id}/notes", {"text": "hi"})):
        answer_ = client.post(f"/dashboard/followups/{path}", data={**data, "csrf_token": csrf})
        assert answer_.status_code == 403, (path, answer_.status_code)  # the route exists: not a 405
    with Session(engine) as session:
        case = session.get(Followup, case_id)
        assert case.status == "open" and case.assignee_id is None


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"action": "resolve", "ids": ["999999"]}, 404, "no follow-up 999999"),
    ({"action": "resolve", "ids": ["2147483648"]}, 404, "no follow-up 2147483648"),
    ({"action": "resolve", "ids": ["1; DROP TABLE followup"]}, 422, "not a case number"),
    ({"action": "resolve", "ids": []}, 422, "select at least one case"),
    ({"action": "explode", "ids": ["1"]}, 422, "choose to assign or to resolve"),
    ({"action": "assign", "ids": ["{case}"], "assignee": "424242"}, 422, "no such user"),
    ({"action": "assign", "ids": ["{case}"], "assignee": "admin"}, 422, "no such user"),
    ({"action": "resolve", "ids": ["{case}"], "note": "x" * 5001}, 422, "at most 5000 characters"),
])
def test_hostile_bulk_input_is_refused_and_changes_nothing(client, engine, login, data, status, message):
    [case_id] = make_cases(engine, 1)
    csrf = login("analyst")
    data = {k: [i.format(case=case_id) for i in v] if k == "ids" else v for k, v in data.items()}
    answer_ = client.post("/dashboard/followups/bulk", data={**data, "csrf_token": csrf},
                          headers={"HX-Request": "true"})
    assert answer_.status_code == status and message in answer_.text
    with Session(engine) as session:
        assert session.get(Followup, case_id).status == "open"


def test_a_nul_in_a_note_is_refused_not_a_500(client, engine, login):
    [case_id] = make_cases(engine, 1)
    csrf = login("analyst")
    for path, field in (("resolve", "note"), ("notes", "text")):
        answer_ = client.post(f"/dashboard/followups/{case_id}/{path}", data={field: "ok\x00no", "csrf_token": csrf})
        assert answer_.status_code == 422, answer_.text
    bulk = client.post("/dashboard/followups/bulk", data={"action": "resolve", "ids": str(case_id), "note": "a\x00",
                                                          "csrf_token": csrf})
    assert bulk.status_code == 422
    unknown = client.post("/dashboard/followups/999999/resolve", data={"csrf_token": csrf})
    assert unknown.status_code == 404 and client.get("/dashboard/followups/999999").status_code == 404
    with Session(engine) as session:
        assert session.get(Followup, case_id).status == "open" and not session.scalars(select(FollowupNote)).all()
