"""The "Fix first" panel on the overview and the journey: drivers ranked by impact, each with its effect, 95%
interval, reach and impact, and each one click from its answers in the explorer, most negative first, with
the clauses highlighted."""

from __future__ import annotations

import html
import re

from tests.analytics.helpers import answer
from tests.analytics.planted import load_planted


def panel_of(text: str) -> str:
    """The HTML of the drivers panel."""
    return text.split('id="drivers-title"')[1].split("</section>")[0]


def links(panel: str) -> dict[str, str]:
    """Each driver's label → its explorer link (the first one in the panel)."""
    found: dict[str, str] = {}
    for href, label in re.findall(r'<a href="(?:http://testserver)?(/dashboard/responses\?[^"]+)">([^<]+)</a>', panel):
        found.setdefault(label, html.unescape(href))
    return found


def matched(client, href: str) -> tuple[int, str]:
    text = client.get(href).text
    return int(re.search(r"([\d,]+) responses? match", text).group(1).replace(",", "")), text


def test_the_overview_ranks_what_hurts_and_each_row_opens_its_answers(client, engine, login, run_jobs):
    load_planted(engine, run_jobs)
    login("viewer")
    panel = panel_of(client.get("/dashboard").text)
    assert "Fix first: what lowers NPS most" in panel
    fix_first = panel.split("<tbody>")[1].split("</tbody>")[0]
    first_row = fix_first.split("</tr>")[0]
    # Support ticket: all detractors against Checkout's +80: 180 points lower, half the answers, −90 overall.
    assert "Support ticket</a> <small class=\"muted\">touchpoint</small>" in first_row
    assert "−180.0" in first_row.replace("-", "−") and "50%" in first_row and "−90.0" in first_row.replace("-", "−")
    assert "From all 80 answers to NPS in this view" in " ".join(panel.split())
    # Every driver tested, with the answers behind it in the explorer: exactly those, most negative first.
    expected = {"Support ticket": 40, "Checkout": 40, "wait time": 40, "Feel": 35}
    hrefs = links(panel)
    assert set(expected) <= set(hrefs)
    for label, count in expected.items():
        assert "sort=sentiment" in hrefs[label]
        total, text = matched(client, hrefs[label])
        assert total == count, (label, hrefs[label])
        shown = [float(s) for s in re.findall(r"Sentiment: \w+ \(([+-][\d.]+)\)", text)]
        assert shown and shown == sorted(shown), label
    # The feeling's answers show only its clauses highlighted, and say which tone was chosen.
    _, text = matched(client, hrefs["Feel"])
    assert '<mark class="hl hl-feel tone-negative">' in text and "hl-act" not in text.split('id="results"')[1]
    assert "Only where <strong>feel</strong> was felt <strong>negatively</strong>" in text
    # Feel in any tone: also the 10 answers at Checkout that felt it positively.
    assert matched(client, hrefs["Feel"].replace("tone=negative", ""))[0] == 45


def test_the_journey_shows_the_same_panel_for_its_view(client, engine, login, run_jobs):
    load_planted(engine, run_jobs)
    login("viewer")
    panel = panel_of(client.get("/dashboard/journey?period=30d&touchpoint=support_ticket").text)
    assert "Fix first: what lowers NPS most" in panel
    hrefs = links(panel)
    # One touchpoint in view: its themes and feelings are the drivers, and their links keep the touchpoint.
    assert "Support ticket" not in hrefs and {"wait time", "Feel"} <= set(hrefs)
    assert all("touchpoint=support_ticket" in h and "period=30d" in h for h in hrefs.values())
    assert matched(client, hrefs["wait time"])[0] == 30
    everyone = panel_of(client.get("/dashboard/journey").text)
    assert "Support ticket</a> <small class=\"muted\">touchpoint</small>" in everyone.split("</tr>")[1]


def test_too_few_answers_say_so_instead_of_a_number(client, engine, login, run_jobs):
    answer(engine, [(3, "Slow."), (10, "Fine."), (9, None)], touchpoint="support_ticket")
    run_jobs()
    login("viewer")
    panel = " ".join(panel_of(client.get("/dashboard").text).split())
    assert "Too few answers to tell what moves NPS: 3 in this view, at least 30 needed." in panel
    assert "Effect" not in panel
