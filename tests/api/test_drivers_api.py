"""GET /api/v1/drivers: the dashboard's "Fix first" over JSON, for a CRM or BI tool."""

from __future__ import annotations

import pytest

from tests.analytics.planted import load_planted


def test_drivers_over_http(client, engine, run_jobs, make_key):
    load_planted(engine, run_jobs)
    headers = {"Authorization": f"Bearer {make_key('responses:read')}"}
    body = client.get("/api/v1/drivers", headers=headers).json()
    assert body["measure"] == "nps" and body["n"] == 80 and body["sample_cut"] is False
    first = body["drivers"][0]
    assert first["kind"] == "touchpoint" and first["key"] == "support_ticket" and first["label"] == "Support ticket"
    assert first["effect"] == pytest.approx(-180) and first["impact"] == pytest.approx(-90) and first["lowers"]
    assert first["ci_low"] <= -180 <= first["ci_high"] and first["n"] == 40 and first["reach"] == 0.5
    assert {(d["kind"], d["key"]) for d in body["drivers"]} == {
        ("touchpoint", "support_ticket"), ("touchpoint", "checkout"), ("theme", "wait time"), ("dimension", "feel")}
    only = client.get("/api/v1/drivers", params={"touchpoint": "support_ticket", "measure": "nps"},
                      headers=headers).json()
    assert only["n"] == 40 and {d["kind"] for d in only["drivers"]} == {"theme", "dimension"}
    # Nothing answered CSAT: too few answers, no figures.
    assert client.get("/api/v1/drivers", params={"measure": "csat"}, headers=headers).json()["n"] == 0


def test_unknown_names_and_missing_scopes_are_refused(client, make_key):
    headers = {"Authorization": f"Bearer {make_key('responses:read')}"}
    unknown = client.get("/api/v1/drivers", params={"survey": "nope"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "survey_not_found"
    unknown = client.get("/api/v1/drivers", params={"touchpoint": "nope"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "touchpoint_not_found"
    bad = client.get("/api/v1/drivers", params={"measure": "mood"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    other = {"Authorization": f"Bearer {make_key('surveys:read')}"}
    assert client.get("/api/v1/drivers", headers=other).json()["error"]["code"] == "insufficient_scope"
    assert client.get("/api/v1/drivers").status_code == 401
    empty = client.get("/api/v1/drivers", headers=headers).json()
    assert empty == {"measure": "nps", "unit": empty["unit"], "n": 0, "mean": None, "sample_cut": False,
                     "resamples": empty["resamples"], "drivers": []}
