"""The weekly digest as its recipients get it: sent by the worker to a real SMTP server on loopback, once per
chosen user and week, with the week's figures, intervals, drivers and follow-ups in both parts."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.digest.helpers import (
    CHECKOUT_ANSWERS,
    EACH,
    SUPPORT,
    Page,
    add_user,
    answer_one,
    ces,
    csat,
    load_weeks,
    nps,
    nps_change,
    worker_pass,
)
from tests.email.conftest import make_due, smtp, smtp_down  # noqa: F401 - the loopback SMTP server fixtures
from voc.auth.models import User
from voc.db import utcnow
from voc.digest import tasks
from voc.digest.content import last_whole_week
from voc.digest.models import DigestSend
from voc.digest.tasks import DIGEST_JOB
from voc.followups.models import Followup
from voc.jobs.models import Job
from voc.jobs.queue import run_planners
from voc.jobs.worker import Worker

BASE = "http://testserver"


def parts(message) -> tuple[str, str]:  # noqa: ANN001
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def by_recipient(smtp_server) -> dict[str, object]:  # noqa: ANN001
    received = smtp_server.handler.received
    return {r.recipients[0]: r.message for r in received}


def test_each_chosen_user_gets_the_weeks_figures_drivers_and_links_once(engine, smtp):  # noqa: F811
    week = last_whole_week()
    now, before = load_weeks(engine, week)
    worker_pass(engine)  # the answers' rollups and follow-up cases; nobody has chosen the digest yet
    assert smtp.handler.received == []
    ada = add_user(engine, "ada@example.com", "viewer", digest=True)  # a viewer may receive it: it only reads
    add_user(engine, "bob@example.com", "admin", digest=True)
    cy = add_user(engine, "cy@example.com", "analyst", digest=False)
    dee = add_user(engine, "dee@example.com", "viewer", digest=True)
    with Session(engine) as session:
        session.get(User, dee).disabled_at = utcnow()
        cases = list(session.scalars(select(Followup.id).order_by(Followup.id)))
        for case in cases[:2]:
            session.get(Followup, case).assignee_id = ada
        for case in cases[-3:]:
            session.get(Followup, case).due_at = utcnow() - timedelta(hours=1)
        session.commit()

    worker_pass(engine)
    mail = by_recipient(smtp)
    assert sorted(mail) == ["ada@example.com", "bob@example.com"]  # not cy (did not choose it), not dee (disabled)
    message = mail["ada@example.com"]
    assert message["Subject"] == f"Weekly digest: {week.title}" and message["Auto-Submitted"] == "auto-generated"
    text, html = parts(message)
    page = Page(html)

    # The headline figures, each with its interval, as the overview computes them (here: from the answers).
    value, low, high = nps([a[0] for a in now])
    satisfied, s_low, s_high = csat([a[1] for a in now])
    effort, e_low, e_high = ces([a[2] for a in now])
    assert page.by_class["digest-value"] == [f"{value:+.0f}", f"{satisfied:.0f}%", f"{effort:.2f}"]
    intervals = [f"95% interval {low:+.0f} to {high:+.0f}", f"95% interval {s_low:.0f}% to {s_high:.0f}%",
                 f"95% interval {e_low:.2f} to {e_high:.2f}"]
    assert page.by_class["digest-interval"] == intervals
    delta, d_low, d_high = nps_change([a[0] for a in now], [a[0] for a in before])
    nps_line = (f"vs the week before: {delta:+.1f} points (95% interval {d_low:+.1f} to {d_high:+.1f}), "
                "significant (the interval excludes 0)")
    changes = page.by_class["digest-change"]
    assert changes[0] == nps_line
    assert all(c.endswith("significant (the interval excludes 0)") for c in changes)  # CSAT and CES fell too
    assert f"{2 * EACH} responses this week ({EACH} the week before)" in page.text
    previous = f"the week before: {nps([a[0] for a in before])[0]:+.0f}"
    assert previous in page.by_class["digest-figure"][0] and previous in text
    assert "nan" not in page.text.lower()

    # The top driver: Support, every answer a detractor (−100) against Checkout's mean, with a link to its answers.
    [driver] = [link for link in page.links if link[1] == SUPPORT]
    assert driver[0] == f"{BASE}/dashboard/responses?period=7d&touchpoint=support&sort=sentiment"
    assert "&lt;b&gt;Support&lt;/b&gt; &amp; co" in html and "<b>Support</b>" not in html  # autoescaped
    checkout = [100 if s >= 9 else -100 if s <= 6 else 0 for s, _, _ in CHECKOUT_ANSWERS * 7][:EACH]
    effect = -100 - sum(checkout) / EACH
    [row] = page.by_class["digest-driver"]
    shown, shown_low, shown_high, impact = (float(x) for x in re.findall(r"[-+]\d+\.\d", row))
    assert shown == pytest.approx(effect, abs=0.051) and shown_low <= shown <= shown_high
    assert " 50% " in row and impact == pytest.approx(effect / 2, abs=0.051)  # impact = reach × effect

    # Follow-ups now: the workspace's open and overdue cases, and the recipient's own.
    with Session(engine) as session:
        unresolved = session.scalar(select(func.count(Followup.id)).where(Followup.status != "resolved"))
    assert unresolved == EACH  # every Support answer opened a case
    assert page.by_class["digest-followups"][0].endswith(f"{unresolved} open, 3 overdue, 2 assigned to you.")
    bob_page = Page(parts(mail["bob@example.com"])[1])
    assert bob_page.by_class["digest-followups"][0].endswith("0 assigned to you.")

    # Every link is absolute, from VOC_BASE_URL, into the dashboard.
    hrefs = {href for href, _ in page.links}
    assert {f"{BASE}/dashboard?period=7d", f"{BASE}/dashboard/followups",
            f"{BASE}/dashboard/followups?overdue=1&sort=due", f"{BASE}/dashboard/followups?assignee=me",
            f"{BASE}/dashboard/settings/users"} <= hrefs
    assert all(href.startswith(f"{BASE}/dashboard") for href in hrefs)

    # The plain-text part says the same.
    assert f"NPS: {value:+.0f}, {intervals[0]}, n = {2 * EACH}" in text
    assert f"CSAT: {satisfied:.0f}%, {intervals[1]}" in text and f"CES: {effort:.2f}, {intervals[2]}" in text
    assert nps_line in text
    assert f"1. {SUPPORT} (touchpoint): effect " in text  # plain text: nothing escaped
    assert f"{BASE}/dashboard/responses?period=7d&touchpoint=support&sort=sentiment" in text
    assert f"Follow-ups: {unresolved} open, 3 overdue, 2 assigned to you." in text
    assert f"{BASE}/dashboard/settings/users" in text

    # A second run in the same week, by this worker or another one, sends nothing.
    worker_pass(engine)
    Worker(engine).housekeep()
    worker_pass(engine)
    assert len(smtp.handler.received) == 2
    # A user who chooses the digest later in the week gets it at the next run, once.
    with Session(engine) as session:
        session.get(User, cy).weekly_digest = True
        session.commit()
    worker_pass(engine)
    worker_pass(engine)
    assert [r.recipients for r in smtp.handler.received[2:]] == [["cy@example.com"]]
    with Session(engine) as session:
        rows = session.scalars(select(DigestSend).where(DigestSend.week == week.key)).all()
    assert len(rows) == 3 and all(row.sent_at is not None for row in rows)


def test_an_empty_week_says_so_plainly(engine, smtp):  # noqa: F811
    add_user(engine, "ada@example.com", "viewer", digest=True)
    worker_pass(engine)
    [message] = smtp.messages
    text, html = parts(message)
    page = Page(html)
    sentence = "No responses were completed this week, so there are no figures to show."
    assert sentence in page.text and sentence in text
    for part in (page.text, text):
        assert "nan" not in part.lower() and "0%" not in part and "NPS" not in part
        assert "0 open, 0 overdue, 0 assigned to you." in part
    assert "digest-figures" not in html


def test_several_workers_plan_one_digest_per_user_and_a_job_run_twice_sends_once(engine, smtp,  # noqa: F811
                                                                                 monkeypatch):
    for n in range(3):
        add_user(engine, f"user{n}@example.com", "viewer", digest=True)
    start = threading.Barrier(3)
    planned: list[int] = []

    def plan() -> None:
        start.wait()
        planned.append(run_planners(engine)["weekly_digest"])

    threads = [threading.Thread(target=plan) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(planned) == [0, 0, 3]
    with Session(engine) as session:
        jobs = session.scalars(select(Job).where(Job.kind == DIGEST_JOB).order_by(Job.id)).all()
    assert len(jobs) == 3

    # One job run twice at once (a worker that lost its lease and the one that took it over): both have read
    # the digest as not sent yet when they go to send it; the claim lets one through.
    both_read = threading.Barrier(2)
    prepare = tasks._prepare

    def prepare_then_wait(*args):  # noqa: ANN002, ANN202
        found = prepare(*args)
        both_read.wait(timeout=30)
        return found

    monkeypatch.setattr(tasks, "_prepare", prepare_then_wait)
    runs = [threading.Thread(target=lambda: tasks.send_weekly_digest(Session(engine), dict(jobs[0].payload)))
            for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(smtp.handler.received) == 1
    monkeypatch.undo()
    Worker(engine).run_until_idle()  # the three jobs: the one already sent sends nothing more
    assert sorted(r.recipients[0] for r in smtp.handler.received) == [f"user{n}@example.com" for n in range(3)]


def test_a_digest_not_wanted_any_more_is_not_sent_and_a_server_down_is_tried_again(engine, smtp_down,  # noqa: F811
                                                                                     make_due):  # noqa: F811
    keeps = add_user(engine, "keeps@example.com", "viewer", digest=True)
    leaves = add_user(engine, "leaves@example.com", "viewer", digest=True)
    run_planners(engine)
    with Session(engine) as session:
        session.get(User, leaves).weekly_digest = False
        session.commit()
    Worker(engine).run_until_idle()
    with Session(engine) as session:
        sent = dict(session.execute(select(DigestSend.user_id, DigestSend.sent_at)).all())
        statuses = sorted(session.scalars(select(Job.status).where(Job.kind == DIGEST_JOB)))
    assert sent == {keeps: None, leaves: None}  # the failed send gave its claim back
    assert statuses == ["done", "queued"]  # the one who left: done, nothing to send; the other: retried later
    smtp_down.start()
    assert make_due(DIGEST_JOB) == 1
    Worker(engine).run_until_idle()
    assert [r.recipients for r in smtp_down.handler.received] == [["keeps@example.com"]]


def test_without_smtp_the_digest_job_gives_up(engine):
    add_user(engine, "ada@example.com", "viewer", digest=True)
    worker_pass(engine)
    with Session(engine) as session:
        assert session.scalars(select(Job.status).where(Job.kind == DIGEST_JOB)).one() == "dead"


def test_a_small_week_is_flagged_and_its_drivers_and_change_are_not_guessed(engine, smtp):  # noqa: F811
    week = last_whole_week()
    for number, score in enumerate((10, 3, 9)):
        answer_one(engine, week.period.start + timedelta(days=2, hours=number), (score, 4, 5), "checkout", "Checkout")
    worker_pass(engine)
    add_user(engine, "ada@example.com", "viewer", digest=True)
    worker_pass(engine)
    [message] = smtp.messages
    text, html = parts(message)
    page = Page(html)
    [figure, *_] = page.by_class["digest-figure"]
    assert figure.startswith("NPS +33 95% interval") and "n = 3 · small sample (n < 30)" in figure
    assert "vs the week before: no answers to compare with" in figure
    note = "Too few answers to tell what moves NPS: 3 this week, at least 30 needed."
    assert page.by_class["digest-drivers-note"] == [note] and note in text
    assert "small sample (n < 30)" in text and "nan" not in (text + page.text).lower()
