"""Reading a completed response's free text, in the worker, and re-reading old analyses."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voc.analytics.rollups import record_response
from voc.db import session_scope, utcnow
from voc.followups.service import open_followup_if_needed
from voc.jobs.queue import job_handler
from voc.sentiment.analyser import ANALYSER_VERSION, analyse, analyse_batch
from voc.sentiment.mismatch import score_text_mismatch
from voc.sentiment.model import DIMENSIONS, Analysis
from voc.surveys.models import Response
from voc.telemetry import ANALYSER_SECONDS
from voc.webhooks.outbox import publish_analysis_events

NO_TEXT = {"sentiment": None, "dimensions": dict.fromkeys(DIMENSIONS), "themes": [], "spans": [], "mismatch": False}


def apply_analysis(response: Response, result: Analysis | None) -> None:
    """Store an analysis on its response (None: the customer wrote nothing to read)."""
    if result is None:
        response.analysis, response.sentiment, response.mismatch = dict(NO_TEXT), None, False
    else:
        stored: dict[str, Any] = result.to_dict()
        score_type, score = next(((name, getattr(response, name)) for name in ("nps", "csat", "ces")
                                  if getattr(response, name) is not None), (None, None))
        mismatch = score_type is not None and score_text_mismatch(score_type, score, result.compound)
        stored["mismatch"] = mismatch
        response.analysis, response.sentiment, response.mismatch = stored, result.compound, mismatch
    response.analyser_version = ANALYSER_VERSION
    response.analyzed_at = utcnow()


def _has_text(response: Response) -> bool:
    return bool(response.comment and response.comment.strip())


def read_response(response: Response) -> None:
    """Analyse the response's text and set the analysis on it (the caller's transaction stores it)."""
    if not _has_text(response):
        apply_analysis(response, None)
        return
    started = time.perf_counter()
    result = analyse(response.comment)
    ANALYSER_SECONDS.observe(time.perf_counter() - started)
    apply_analysis(response, result)


def act_on_analysis(session: Session, response: Response) -> None:
    """What an analysed response sets off: the CRM hears of it (response.analyzed,
    contact.experience_updated) and an unhappy customer gets a follow-up case."""
    publish_analysis_events(session, response)
    open_followup_if_needed(session, response)


@job_handler("response.analyse")
def analyse_response(session: Session, payload: dict[str, Any]) -> None:
    """Analyse one response's text on its own (the response.completed job does this in passing;
    this job retries when that could not), store it, count it and act on it."""
    response = session.get(Response, payload["response_id"])
    if response is None:
        return
    read_response(response)
    session.add(response)
    session.flush()
    record_response(session, response)
    if not response.is_test:  # a test response tells no CRM and opens no case
        act_on_analysis(session, response)


def reanalyse(engine: Engine, *, everything: bool = False, batch: int = 500) -> int:
    """Re-read responses analysed by another analyser version (or all); returns how many.

    Quiet: no webhooks are sent, as the customers said nothing new."""
    done, last_id = 0, 0
    while True:
        with session_scope(engine) as session:
            query = select(Response).where(Response.id > last_id).order_by(Response.id).limit(batch)
            if not everything:
                query = query.where(or_(Response.analyser_version.is_(None),
                                        Response.analyser_version != ANALYSER_VERSION))
            rows = list(session.scalars(query))
            if not rows:
                return done
            with_text = [r for r in rows if _has_text(r)]
            results = dict(zip((r.id for r in with_text), analyse_batch(r.comment for r in with_text), strict=True))
            for response in rows:
                apply_analysis(response, results.get(response.id))
                session.add(response)
                record_response(session, response)
            done, last_id = done + len(rows), rows[-1].id
