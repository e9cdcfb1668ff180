"""Touchpoints over the API: the follow-up SLA in hours, set at creation or later, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from voc.audit.models import AuditEntry


def test_a_touchpoint_gets_a_followup_sla_and_loses_it_again(api, engine):
    assert api.get("/api/v1/touchpoints").json()[0]["followup_sla_hours"] is None  # the workspace's default
    created = api.post("/api/v1/touchpoints", json={"key": "support", "name": "Support", "stage": "support",
                                                    "followup_sla_hours": 4})
    assert created.status_code == 201 and created.json()["followup_sla_hours"] == 4
    changed = api.patch("/api/v1/touchpoints/tp", json={"followup_sla_hours": 12.5})
    assert changed.status_code == 200 and changed.json()["followup_sla_hours"] == 12.5
    assert changed.json()["name"] == "TP"  # only what was sent changes
    assert api.patch("/api/v1/touchpoints/tp", json={"followup_sla_hours": None}).json()["followup_sla_hours"] is None
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "touchpoint.updated")
                                .order_by(AuditEntry.id)).first()
        assert entry.before["followup_sla_hours"] is None and entry.after["followup_sla_hours"] == 12.5


@pytest.mark.parametrize("body", [{"followup_sla_hours": 0}, {"followup_sla_hours": -1},
                                  {"followup_sla_hours": 24 * 365 + 1}, {"followup_sla_hours": "soon"},
                                  {"name": None}, {"stage": "support"}])
def test_a_bad_sla_or_field_is_refused(api, body):
    answer = api.patch("/api/v1/touchpoints/tp", json=body)
    assert answer.status_code == 422, answer.text


def test_an_unknown_touchpoint_is_not_found(api):
    answer = api.patch("/api/v1/touchpoints/nope", json={"followup_sla_hours": 4})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "touchpoint_not_found"
