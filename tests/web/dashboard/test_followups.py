"""The follow-ups page: analysts work the cases, viewers read them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import Session

from tests.followups.test_service import answer
from voc.followups import service as followup_service
from voc.followups.models import Followup, FollowupNote

XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)> it broke"


def _case(engine, run_jobs, text=XSS, contact="c1") -> int:
    answer(engine, 2, text, contact=contact)
    run_jobs()
    with Session(engine) as session:
        return session.scalars(select(Followup).order_by(Followup.id.desc())).first().id


def test_a_viewer_reads_cases_with_the_customers_words_escaped(client, engine, run_jobs, login):
    case_id = _case(engine, run_jobs)
    login("viewer")
    page = client.get("/dashboard/followups")
    assert page.status_code == 200
    assert f'id="case-{case_id}"' in page.text and 'href="/dashboard/contacts/c1"' in page.text
    assert "Recommend?" in page.text and "Detractor" in page.text
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Add note" not in page.text  # viewers get no forms


def test_anonymous_visitors_are_sent_to_login(client):
    answer = client.get("/dashboard/followups", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_an_analyst_assigns_moves_and_annotates_a_case(client, engine, run_jobs, login):
    case_id = _case(engine, run_jobs)
    csrf = login("analyst")
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    assigned = client.post(f"/dashboard/followups/{case_id}/assign", data={"assignee": "me"}, headers=htmx)
    assert assigned.status_code == 200 and assigned.text.lstrip().startswith("<article")
    assert "(me)" in assigned.text and "<html" not in assigned.text
    moved = client.post(f"/dashboard/followups/{case_id}/status", data={"status": "in_progress"}, headers=htmx)
    assert "In progress" in moved.text and "Mark resolved" in moved.text
    noted = client.post(f"/dashboard/followups/{case_id}/notes", data={"text": "Called: <b>refund</b> sent"},
                        headers=htmx)
    assert "Called: &lt;b&gt;refund&lt;/b&gt; sent" in noted.text
    # Without JavaScript: a plain form post, then back to the list.
    plain = client.post(f"/dashboard/followups/{case_id}/status", data={"status": "resolved", "csrf_token": csrf},
                        follow_redirects=False)
    assert plain.status_code == 303
    with Session(engine) as session:
        case = session.get(Followup, case_id)
        assert case.status == "resolved" and case.resolved_at is not None and case.assignee_id is not None
        assert [n.text for n in session.scalars(select(FollowupNote))] == ["Called: <b>refund</b> sent"]
    listed = client.get("/dashboard/followups?status=resolved&assignee=me")
    assert f'id="case-{case_id}"' in listed.text
    assert f'id="case-{case_id}"' not in client.get("/dashboard/followups?status=open").text
    fragment = client.get("/dashboard/followups?status=resolved", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="followup-results"')


def test_a_viewer_cannot_change_a_case_and_csrf_is_required(client, engine, run_jobs, login):
    case_id = _case(engine, run_jobs)
    csrf = login("viewer")
    for path, data in (("assign", {"assignee": "me"}), ("status", {"status": "resolved"}),
                       ("notes", {"text": "hi"})):
        answer_ = client.post(f"/dashboard/followups/{case_id}/{path}", data={**data, "csrf_token": csrf})
        assert answer_.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    login("analyst")
    no_token = client.post(f"/dashboard/followups/{case_id}/status", data={"status": "resolved"})
    assert no_token.status_code == 403
    with Session(engine) as session:
        case = session.get(Followup, case_id)
        assert case.status == "open" and case.assignee_id is None


def _case_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="followup-case[^"]*" id="case-(\d+)"', html)]


def _next_href(html: str) -> str | None:
    found = re.search(r'<p class="load-more"><a href="([^"]+)" hx-get="\1"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_cases_page_through_with_htmx_and_without_javascript(client, engine, run_jobs, login, monkeypatch):
    monkeypatch.setattr(followup_service, "PAGE_SIZE", 2)
    for number in range(5):
        answer(engine, number, f"Bad, number {number}", contact=f"c{number}")
    run_jobs()
    with Session(engine) as session:
        newest_first = list(session.scalars(select(Followup.id).order_by(Followup.created_at.desc(),
                                                                          Followup.id.desc())))
        resolved = session.get(Followup, newest_first[1])
        resolved.status = "resolved"
        session.commit()
    open_cases = [i for i in newest_first if i != newest_first[1]]
    login("viewer")

    first = client.get("/dashboard/followups?status=open")
    assert "4 cases" in first.text and _case_ids(first.text) == open_cases[:2]
    next_href = _next_href(first.text)
    assert next_href and "status=open" in next_href and "cursor=" in next_href  # the filter stays in the link
    # htmx: just the next cases and their own "Load more", to replace the link with.
    more = client.get(next_href, headers={"HX-Request": "true"})
    assert more.status_code == 200 and more.text.lstrip().startswith("<article") and "<html" not in more.text
    assert _case_ids(more.text) == open_cases[2:4] and _next_href(more.text) is None
    # Without JavaScript the same link opens a whole page of those cases, with a way back to the newest.
    plain = client.get(next_href)
    assert "<html" in plain.text and _case_ids(plain.text) == open_cases[2:4]
    assert 'href="/dashboard/followups?status=open">Back to the newest' in plain.text
    assert '<option value="open" selected>' in plain.text

    everything = client.get("/dashboard/followups")
    seen, href = _case_ids(everything.text), _next_href(everything.text)
    while href:
        page = client.get(href, headers={"HX-Request": "true"})
        seen, href = seen + _case_ids(page.text), _next_href(page.text)
    assert seen == newest_first  # every case once, newest first
    assert client.get("/dashboard/followups?cursor=not-a-cursor").status_code == 422
