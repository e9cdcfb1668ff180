"""GET /api/v1/metrics: the figures a CRM or BI tool reads, with n and intervals, filterable."""

from __future__ import annotations

from sqlmodel import Session

from tests import factories as f
from voc.surveys.responses import submit_response


def test_metrics_over_http_with_filters(client, engine, admin_headers, monkeypatch):
    with Session(engine) as session:
        f.touchpoint(session)
        f.touchpoint(session, "ticket_closed", stage="support")
        f.survey(session, recontact_days=0)
        f.survey(session, key="support", touchpoint="ticket_closed", recontact_days=0,
                 questions=[{"id": "ces", "type": "ces", "prompt": "Easy?", "required": True}])
        session.commit()
    from voc.config import get_settings

    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    with Session(engine) as session:
        for n, score in enumerate([10, 9, 9, 7, 3]):
            outcome = f.event(session, f"d{n}", contact=f"c{n}")
            submit_response(session, f.token_of(outcome.invitation.url), [("nps", score)])
        for n, score in enumerate([7, 5]):
            outcome = f.event(session, f"t{n}", touchpoint="ticket_closed", contact=f"c{n}")
            submit_response(session, f.token_of(outcome.invitation.url), [("ces", score)])
        session.commit()
    body = client.get("/api/v1/metrics", headers=admin_headers).json()
    assert body["nps"]["value"] == 40.0 and body["nps"]["n"] == 5 and body["nps"]["small_sample"] is True
    assert body["nps"]["ci_low"] < 40 < body["nps"]["ci_high"]
    assert body["ces"]["value"] == 6.0 and body["ces"]["n"] == 2
    assert body["csat"] == {"value": None, "n": 0, "ci_low": None, "ci_high": None, "small_sample": True,
                            "breakdown": {}}
    only_support = client.get("/api/v1/metrics", params={"touchpoint": "ticket_closed"}, headers=admin_headers).json()
    assert only_support["nps"]["n"] == 0 and only_support["ces"]["n"] == 2
    future = client.get("/api/v1/metrics", params={"from": "2999-01-01T00:00:00Z"}, headers=admin_headers).json()
    assert future["nps"]["n"] == 0


def test_without_bounds_the_metrics_cover_the_dashboards_period(client, engine, admin_headers, monkeypatch):
    """No from/to: the last 90 whole days (or `period`), the same bounds as the dashboard; from/to still win."""
    from datetime import timedelta

    from voc.config import get_settings
    from voc.db import utcnow
    from voc.periods import period_bounds

    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    week = period_bounds("7d")
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, recontact_days=0)
        for n, when in enumerate([utcnow() - timedelta(days=100), week.start - timedelta(seconds=1), week.start]):
            outcome = f.event(session, f"e{n}", contact=f"c{n}", occurred_at=(when - timedelta(minutes=1)).isoformat())
            submit_response(session, f.token_of(outcome.invitation.url), [("nps", 10)], now=when)
        session.commit()

    def n(**params):
        answer = client.get("/api/v1/metrics", params=params, headers=admin_headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["nps"]["n"]

    assert n() == 2 and n(period="90d") == 2 and n(period="365d") == 3
    assert n(period="7d") == 1  # from the first second of the first day: not the second before
    assert n(**{"from": (utcnow() - timedelta(days=200)).isoformat()}) == 3  # explicit bounds as given
    assert n(to=week.start.isoformat(), period="7d") == 2  # explicit bounds win over the period
    refused = client.get("/api/v1/metrics", params={"period": "2d"}, headers=admin_headers)
    assert refused.status_code == 422
