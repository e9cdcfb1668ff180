"""The overview's completion and drop-off panel."""

from __future__ import annotations

import re

from sqlmodel import Session

from tests import factories as f

XSS = "<script>alert(1)</script>"
QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "why", "type": "text", "prompt": f"Why? {XSS}"},
]


def test_the_overview_shows_opened_started_completed_and_where_customers_stopped(client, engine, login, run_jobs):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0, title=f"After delivery {XSS}")
        f.survey(session, key="never_opened", questions=QUESTIONS, title="Nobody opened this")
        links = ["/s/" + f.token_of(f.event(session, f"e{i}", contact=f"c{i}").invitation.url) for i in range(3)]
        session.commit()
    client.get(links[0])
    client.post(links[1], data={"step": "nps", "q_nps": "6", "action": "next"})
    client.post(links[2], data={"step": "nps", "q_nps": "9", "action": "next"})
    client.post(links[2], data={"step": "why", "q_why": "Quick", "action": "next"})
    run_jobs()  # the worker counts the completed response in the rollups
    login("viewer")

    page = client.get("/dashboard").text
    panel = page.split('id="funnel-title"')[1]
    assert "Completion and drop-off" in page and "Nobody opened this" not in panel
    row = re.search(r"After delivery &lt;script&gt;alert\(1\)&lt;/script&gt;</th>(.*?)</tr>", panel, re.S)
    assert row and re.findall(r'<td class="num">([^<]+)</td>', row.group(1)) == ["3", "2", "1", "33%"]
    assert re.search(r"Why\? &lt;script&gt;alert\(1\)&lt;/script&gt;</th><td class=\"num\">1</td>", panel)
    assert XSS not in page

    chosen = client.get("/dashboard?survey=post_delivery", headers={"HX-Request": "true"}).text
    assert "<details open>" in chosen and "(1 started without completing)" in chosen
    empty = client.get("/dashboard?survey=never_opened").text
    assert "Nobody opened this" in empty.split('id="funnel-title"')[1]
