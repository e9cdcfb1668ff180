"""Answer submission throughput on one voc process, next to a bare FastAPI endpoint in the same run."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, free_port, measured_load, post_load, python, server

ANSWERS = [{"question_id": "nps", "value": 8}, {"question_id": "why", "value": "Quick delivery but the box was dented"}]


def prepare(database: Path, count: int) -> list[str]:
    """A database with `count` open invitations, made through the service functions; returns tokens."""
    import os

    os.environ["VOC_DATABASE_URL"] = f"sqlite:///{database}"
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


def main(count: int = 3000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.db"
        tokens = prepare(database, count)
        bodies = [{"token": t, "answers": ANSWERS} for t in tokens]
        bare_port, voc_port = free_port(), free_port()
        uvicorn = [python(), "-m", "uvicorn", "--log-level", "warning", "--no-access-log", "--host", "127.0.0.1"]
        with server([*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], bare_port) as process:
            post_load(bare_port, "/echo", bodies[:200])  # warm up
            bare = measured_load(process, bare_port, "/echo", bodies)
        env = {"VOC_DATABASE_URL": f"sqlite:///{database}", "VOC_LOG_LEVEL": "WARNING"}
        half = len(bodies) // 2
        # Default setup (the in-process worker analyses each answer meanwhile), then the request path alone.
        with server([python(), "-m", "voc.cli", "serve", "--port", str(voc_port)], voc_port, env=env) as process:
            voc = measured_load(process, voc_port, "/api/v1/responses", bodies[:half])
        with server([python(), "-m", "voc.cli", "serve", "--no-worker", "--port", str(voc_port)], voc_port,
                    env=env) as process:
            alone = measured_load(process, voc_port, "/api/v1/responses", bodies[half:])
    for label, figures in (("answer submission (serve)", voc), ("answer submission (--no-worker)", alone),
                           ("bare FastAPI JSON endpoint", bare)):
        print(f"{label:<33}{figures['per_second']:8.0f} req/s  p50 {figures['p50_ms']:6.1f} ms  "
              f"p95 {figures['p95_ms']:6.1f} ms  server CPU {figures['cpu_ms']:5.2f} ms/req  "
              f"failures {figures['failures']:.0f}")
    ratio = voc["per_second"] / bare["per_second"]
    print(f"ratio submission / bare: {ratio:.2f} with the worker, "
          f"{alone['per_second'] / bare['per_second']:.2f} without (aim: at least 0.5); "
          f"by server CPU per request: {bare['cpu_ms'] / alone['cpu_ms']:.2f} without the worker")
    return {"submit_per_second": voc["per_second"], "bare_per_second": bare["per_second"], "ratio": ratio}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
