"""A week of answers whose figures are known, the week before it, and a worker's pass as `voc worker` starts one."""

from __future__ import annotations

import math
from datetime import timedelta
from html.parser import HTMLParser
from itertools import cycle, islice

from scipy import stats
from sqlmodel import Session

from tests.analytics.helpers import answer_at
from voc.auth.users import create_user
from voc.digest.content import DigestWeek
from voc.jobs.worker import Worker

QUESTIONS = [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
             {"id": "csat", "type": "csat", "prompt": "Satisfied?", "required": True},
             {"id": "ces", "type": "ces", "prompt": "Easy?", "required": True}]
SUPPORT = "<b>Support</b> & co"  # a touchpoint name with markup: escaped in the HTML part, as typed in the text
# (nps, csat, ces) answers, cycled: every Support answer a detractor, Checkout four promoters in five.
SUPPORT_ANSWERS = [(1, 2, 2), (2, 1, 3), (3, 2, 2), (6, 3, 3), (5, 2, 2)]
CHECKOUT_ANSWERS = [(10, 5, 6), (9, 4, 7), (10, 5, 5), (8, 3, 6), (9, 5, 7)]
EACH = 32  # answers per touchpoint this week, and at Checkout the week before (drivers need 30 a side)
Z95 = 1.959963984540054


def answers(pattern: list[tuple[int, int, int]], count: int = EACH) -> list[tuple[int, int, int]]:
    return list(islice(cycle(pattern), count))


def load_weeks(engine, week: DigestWeek) -> tuple[list, list]:
    """EACH answers at Support and at Checkout in `week`, EACH at Checkout in the week before (no comments, so
    the touchpoint is the only driver); returns the (nps, csat, ces) answers of each week."""
    now, before = [], []
    for number, given in enumerate(answers(SUPPORT_ANSWERS)):
        answer_one(engine, week.period.start + timedelta(days=1, minutes=10 * number), given, "support", SUPPORT)
        now.append(given)
    for number, given in enumerate(answers(CHECKOUT_ANSWERS)):
        answer_one(engine, week.period.start + timedelta(days=3, minutes=10 * number), given, "checkout", "Checkout")
        now.append(given)
    for number, given in enumerate(answers(CHECKOUT_ANSWERS)):
        answer_one(engine, week.period.previous().start + timedelta(days=2, minutes=10 * number), given, "checkout",
                "Checkout")
        before.append(given)
    return now, before


def answer_one(engine, when, given, touchpoint: str, name: str) -> None:
    nps, csat, ces = given
    answer_at(engine, when, [("nps", nps), ("csat", csat), ("ces", ces)], touchpoint=touchpoint, name=name,
              questions=QUESTIONS, stage="support" if touchpoint == "support" else "purchase")


def add_user(engine, email: str, role: str, *, digest: bool) -> int:
    with Session(engine) as session:
        user = create_user(session, email, role, "correct horse battery")
        user.weekly_digest = digest
        session.add(user)
        session.commit()
        return user.id


def worker_pass(engine) -> int:
    """What a worker does when it starts: housekeeping with its planners, then every due job."""
    worker = Worker(engine)
    worker.housekeep()
    return worker.run_until_idle()


# --- the figures, computed here from the answers (the textbook formulas, not voc's functions) -----------------

def nps(scores: list[int]) -> tuple[float, float, float]:
    n = len(scores)
    p, d = sum(s >= 9 for s in scores) / n, sum(s <= 6 for s in scores) / n
    half = Z95 * math.sqrt((p + d - (p - d) ** 2) / n)
    return 100 * (p - d), 100 * (p - d - half), 100 * (p - d + half)


def nps_change(now: list[int], before: list[int]) -> tuple[float, float, float]:
    def share(scores: list[int]) -> tuple[float, float]:
        p, d = sum(s >= 9 for s in scores) / len(scores), sum(s <= 6 for s in scores) / len(scores)
        return p - d, (p + d - (p - d) ** 2) / len(scores)
    (a, var_a), (b, var_b) = share(now), share(before)
    half = Z95 * math.sqrt(var_a + var_b)
    return 100 * (a - b), 100 * (a - b - half), 100 * (a - b + half)


def csat(scores: list[int]) -> tuple[float, float, float]:
    n, k = len(scores), sum(s >= 4 for s in scores)
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def ces(scores: list[int]) -> tuple[float, float, float]:
    n = len(scores)
    mean = sum(scores) / n
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


class Page(HTMLParser):
    """The HTML part, parsed: its text (whitespace collapsed), its links, and the text of elements by class."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self.by_class: dict[str, list[str]] = {}
        self._open: list[tuple[str, list[str], int]] = []  # (tag, classes, where its text starts)
        self._href: str | None = None
        self._link_start = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("br", "meta", "img", "input"):
            return
        self._open.append((tag, (values.get("class") or "").split(), len(self.chunks)))
        if tag == "a":
            self._href, self._link_start = values.get("href"), len(self.chunks)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, classes, start = self._open.pop()
            for name in classes:
                self.by_class.setdefault(name, []).append(_squash(self.chunks[start:]))
            if opened == "a" and self._href is not None:
                self.links.append((self._href, _squash(self.chunks[self._link_start:])))
                self._href = None
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return _squash(self.chunks)


def _squash(chunks: list[str]) -> str:
    return " ".join("".join(chunks).split())
