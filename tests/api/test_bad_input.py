"""Bad input gets a 4xx with a stable code, never a 500, and nothing accepted before is lost."""

from __future__ import annotations

import pytest

from tests.api.conftest import SURVEY, invite


def test_malformed_json_is_400_invalid_json(api):
    r = api.post("/api/v1/events", content=b'{"event_id": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/api/v1/events", {"event_id": 5, "touchpoint": "tp", "contact": {"external_id": "c"}}, ["event_id"]),
    ("/api/v1/events", {"event_id": "e", "touchpoint": "tp"}, ["contact"]),
    ("/api/v1/events", {"event_id": "e", "touchpoint": "tp", "contact": {"external_id": "c"},
                        "occurred_at": "2026-01-01T10:00:00"}, ["occurred_at"]),
    ("/api/v1/surveys", {**SURVEY, "key": "s2", "questions": [{"id": "q", "type": "nps", "prompt": ""}]},
     ["questions", 0, "prompt"]),
    ("/api/v1/surveys", {**SURVEY, "key": "s2", "questions": [{"id": "q", "type": "single_choice",
                                                               "prompt": "P"}]}, ["questions", 0]),
    ("/api/v1/surveys", {**SURVEY, "key": "s2", "triggers": [{"touchpoint": "tp", "sample_rate": 2}]},
     ["triggers", 0, "sample_rate"]),
    ("/api/v1/surveys", {**SURVEY, "key": "Bad Key!"}, ["key"]),
    ("/api/v1/touchpoints", {"key": "x", "name": "X", "stage": "nowhere"}, ["stage"]),
])
def test_wrong_types_are_422_with_the_field_path(api, path, body, where):
    r = api.post(path, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["path"][: len(where)] == where


def test_unknown_touchpoint_in_event_and_in_survey_trigger(api):
    r = api.post("/api/v1/events", json={"event_id": "e", "touchpoint": "nope", "contact": {"external_id": "c"}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "touchpoint_not_found"
    r = api.post("/api/v1/surveys", json={**SURVEY, "key": "s2", "triggers": [{"touchpoint": "nope"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "touchpoint_not_found"


@pytest.mark.parametrize(("answers", "code"), [
    ([{"question_id": "nps", "value": 11}], "answer_out_of_range"),
    ([{"question_id": "nps", "value": "ten"}], "answer_invalid"),
    ([{"question_id": "why", "value": "ok"}], "answer_required"),
    ([{"question_id": "nps", "value": 5}, {"question_id": "zzz", "value": 1}], "unknown_question"),
    ([{"question_id": "nps", "value": 5}, {"question_id": "why", "value": "x" * 10_001}], "answer_too_long"),
])
def test_bad_answers_leave_the_link_usable(api, answers, code):
    token = invite(api)
    r = api.post("/api/v1/responses", json={"token": token, "answers": answers})
    assert r.status_code == 422 and r.json()["error"]["code"] == code
    ok = api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": 10}]})
    assert ok.status_code == 201


def test_refusals_never_lose_what_was_accepted(api):
    token = invite(api)
    assert api.post("/api/v1/responses", json={"token": token, "answers": [
        {"question_id": "nps", "value": 3}, {"question_id": "why", "value": "slow"}]}).status_code == 201
    again = api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": 10}]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_answered"
    dup = api.post("/api/v1/surveys", json={**SURVEY, "title": "Other"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "survey_exists"
    items = api.get("/api/v1/responses").json()["items"]
    assert [(a["question_id"], a["value"]) for a in items[0]["answers"]] == [("nps", 3), ("why", "slow")]
    assert api.get("/api/v1/surveys/s1").json()["title"] == "T"


def test_inactive_survey_is_refused(api):
    token = invite(api)
    assert api.patch("/api/v1/surveys/s1", json={"status": "paused"}).status_code == 200
    r = api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": 9}]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_inactive"
    event = api.post("/api/v1/events", json={"event_id": "e9", "touchpoint": "tp", "contact": {"external_id": "z"}})
    assert event.json()["reason"] == "no_active_survey"


def test_unknown_token_and_unknown_survey(api):
    r = api.post("/api/v1/responses", json={"token": "forged", "answers": [{"question_id": "nps", "value": 9}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "token_invalid"
    r = api.get("/api/v1/surveys/none")
    assert r.status_code == 404 and r.json()["error"]["code"] == "survey_not_found"
    r = api.get("/api/v1/responses/999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "response_not_found"
    r = api.get("/api/v1/responses", params={"cursor": "garbage!"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"


def test_keys_are_required_and_scoped(client, make_key):
    assert client.get("/api/v1/surveys").json()["error"]["code"] == "unauthorized"
    bad = client.get("/api/v1/surveys", headers={"Authorization": "Bearer voc_abc_def"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    events_only = {"Authorization": f"Bearer {make_key('events:write')}"}
    r = client.post("/api/v1/surveys", json=SURVEY, headers=events_only)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"


def test_an_event_needs_a_live_key_with_events_write(client, make_key, engine):
    """The events route checks its key in the transaction that records the event: a key without the scope, or
    one revoked, records nothing."""
    from sqlmodel import Session, func, select

    from tests import factories
    from voc.auth.models import ApiKey
    from voc.auth.service import revoke_api_key
    from voc.surveys.models import Event

    with Session(engine) as session:
        factories.touchpoint(session)
        factories.survey(session)
        session.commit()
    event = {"event_id": "e-scope", "touchpoint": "order_delivered", "contact": {"external_id": "c"}}
    readers = {"Authorization": f"Bearer {make_key('surveys:read', 'responses:read')}"}
    r = client.post("/api/v1/events", json=event, headers=readers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
    crm = make_key("events:write", name="crm")
    with Session(engine) as session:
        revoke_api_key(session, session.exec(select(ApiKey).where(ApiKey.name == "crm")).one().id)
        session.commit()
    r = client.post("/api/v1/events", json=event, headers={"Authorization": f"Bearer {crm}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == 0
    assert client.post("/api/v1/events", json=event, headers={"Authorization": f"Bearer {make_key('events:write')}"}
                       ).json()["outcome"] == "invited"  # the same event, with a key that may: recorded


def test_cursor_pagination_walks_every_response_once(api):
    for n in range(7):
        token = invite(api, f"e{n}", f"c{n}")
        api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": n}]})
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/responses", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["scores"]["nps"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    only = api.get("/api/v1/responses", params={"contact": "c2"}).json()["items"]
    assert [item["contact"]["external_id"] for item in only] == ["c2"]


@pytest.mark.parametrize("path", ["/api/v1/responses", "/api/v1/metrics", "/api/v1/themes"])
def test_a_time_without_timezone_is_a_422_not_a_500(api, path):
    r = api.get(path, params={"from": "2025-01-01T00:00:00"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert api.get(path, params={"from": "2025-01-01T00:00:00Z"}).status_code == 200
