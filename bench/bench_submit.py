"""Answer submission throughput on one voc process, next to a bare FastAPI endpoint in the same run."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, free_port, measured_load, post_load, python, server

ANSWERS = [{"question_id": "nps", "value": 8}, {"question_id": "why", "value": "Quick delivery but the box was dented"}]


def prepare(database: Path | str, count: int) -> list[str]:
    """A database (an SQLite file, or a database URL) with `count` open invitations, made through the
    service functions; returns their tokens."""
    import os

    os.environ["VOC_DATABASE_URL"] = database if isinstance(database, str) else f"sqlite:///{database}"
    from voc.config import get_settings

    get_settings.cache_clear()
    from voc.db import migrate, session_scope
    from voc.surveys import service
    from voc.surveys.events import report_event
    from voc.surveys.schemas import EventIn, SurveyCreate, TouchpointCreate

    migrate()
    tokens = []
    with session_scope() as session:
        service.create_touchpoint(session, TouchpointCreate(key="delivered", name="Delivered", stage="delivery"))
        service.create_survey(session, SurveyCreate.model_validate({
            "key": "bench", "title": "Bench", "status": "active", "recontact_days": 0,
            "triggers": [{"touchpoint": "delivered"}],
            "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
                          {"id": "why", "type": "text", "prompt": "Why?"}]}))
    os.environ["VOC_CONTACT_COOLDOWN_DAYS"] = "0"
    get_settings.cache_clear()
    with session_scope() as session:
        for n in range(count):
            outcome = report_event(session, EventIn.model_validate(
                {"event_id": f"b{n}", "touchpoint": "delivered", "contact": {"external_id": f"c{n}"}}))
            tokens.append(outcome.invitation.url.rsplit("/", 1)[-1])
    # Invitations are announced long before their answers arrive: settle those jobs now, so the
    # measured worker does the work that follows answers, not a backlog of announcements.
    from voc.jobs.worker import Worker

    Worker().run_until_idle()
    return tokens


def wait_until_no_jobs(database: Path, timeout: float = 300.0) -> None:
    """Until the worker has run every job (the answers' follow-up work) in the database."""
    deadline = time.monotonic() + timeout
    with sqlite3.connect(database) as connection:
        while time.monotonic() < deadline:
            if not connection.execute("SELECT count(*) FROM job WHERE status IN ('queued', 'running')").fetchone()[0]:
                return
            time.sleep(0.05)
    raise RuntimeError("the worker did not finish the answers' jobs")


ROUNDS = 6


def _interleaved(bare: tuple, voc: tuple, chunks: list[list[dict]], after_voc=None) -> tuple[list, list]:
    """Alternate rounds against the bare app and voc, so both see the same machine (on a shared
    machine the neighbours' load moves between runs); returns each one's figures per round."""
    bare_rounds, voc_rounds = [], []
    for chunk in chunks:
        bare_rounds.append(measured_load(bare[0], bare[1], "/echo", chunk))
        voc_rounds.append(measured_load(voc[0], voc[1], "/api/v1/responses", chunk))
        if after_voc:
            after_voc(voc_rounds[-1])
    return bare_rounds, voc_rounds


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _summary(label: str, rounds: list[dict]) -> dict[str, float]:
    figures = {key: _median([r[key] for r in rounds]) for key in ("per_second", "p50_ms", "p95_ms", "cpu_ms")}
    figures["failures"] = sum(r["failures"] for r in rounds)
    print(f"{label:<33}{figures['per_second']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
          f"p95 {figures['p95_ms']:6.1f} ms  server CPU {figures['cpu_ms']:5.2f} ms/req  "
          f"failures {figures['failures']:.0f}")
    return figures


def _ratios(bare_rounds: list[dict], voc_rounds: list[dict]) -> str:
    ratios = [v["per_second"] / b["per_second"] for b, v in zip(bare_rounds, voc_rounds, strict=True)]
    return f"{_median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f})"


def main(count: int = 4800) -> dict[str, float]:
    per_round = count // (2 * ROUNDS)
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        tokens = prepare(database, count)
        bodies = [{"token": t, "answers": ANSWERS} for t in tokens]
        chunks = [bodies[i * per_round:(i + 1) * per_round] for i in range(2 * ROUNDS)]
        bare_port, voc_port = free_port(), free_port()
        uvicorn = [python(), "-m", "uvicorn", "--log-level", "warning", "--no-access-log", "--host", "127.0.0.1"]
        # One client address sends every answer here: lift the per-address limit on public routes.
        env = {"VOC_DATABASE_URL": f"sqlite:///{database}", "VOC_LOG_LEVEL": "WARNING",
               "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}
        voc_serve = [python(), "-m", "voc.cli", "serve", "--port", str(voc_port)]
        with server([*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], bare_port) as bare_process:
            post_load(bare_port, "/echo", bodies[:200])  # warm up
            bare = (bare_process, bare_port)
            # The request path alone (a `voc worker` process, or none, does the rest).
            with server([*voc_serve, "--no-worker"], voc_port, env=env) as process:
                bare_alone, alone = _interleaved(bare, (process, voc_port), chunks[:ROUNDS])
            # The default: a worker in the same process reads, counts and announces every answer. It
            # gives way to requests while they come; each round waits until it has done everything.
            drained: list[float] = []

            def drain(_figures: dict) -> None:
                answered = time.perf_counter()
                wait_until_no_jobs(database)
                drained.append(time.perf_counter() - answered)

            with server(voc_serve, voc_port, env=env) as process:
                bare_serve, serve = _interleaved(bare, (process, voc_port), chunks[ROUNDS:], after_voc=drain)
    print(f"{ROUNDS} interleaved rounds of {per_round} answers each setup; medians:")
    voc = _summary("answer submission (serve)", serve)
    _summary("answer submission (--no-worker)", alone)
    bare_figures = _summary("bare FastAPI JSON endpoint", bare_alone + bare_serve)
    busy = [r["seconds"] + d for r, d in zip(serve, drained, strict=True)]
    print(f"in-process worker: every answer of a round read, counted and announced {_median(drained):.2f} s after "
          f"its last one arrived: {per_round / _median(busy):.0f} answers/s end to end")
    print(f"ratio submission / bare (aim: at least 0.5): {_ratios(bare_serve, serve)} with the worker, "
          f"{_ratios(bare_alone, alone)} without; by server CPU per request: "
          f"{_median([r['cpu_ms'] for r in bare_alone]) / _median([r['cpu_ms'] for r in alone]):.2f} "
          "without the worker")
    return {"submit_per_second": voc["per_second"], "bare_per_second": bare_figures["per_second"],
            "ratio": voc["per_second"] / bare_figures["per_second"]}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4800)
