"""Hostile input gets a clear 4xx, never a 500: unstorable text (NUL, lone surrogates) anywhere the server
reads it, ids beyond the integer range, oversized bodies and attributes; and nothing refused is stored."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.api.conftest import SURVEY, invite
from tests.web.dashboard.test_followups import _case
from voc.cursors import pack_id_cursor
from voc.web.input_guard import InputGuard

NUL, SURROGATE, LOW_SURROGATE = "\u0000", "\ud800", "\udc00"
BEYOND = ["2147483648", "9223372036854775808", "99999999999999999999999"]  # PostgreSQL, SQLite, both


def _send(client, method, path, body):
    """`body` as JSON text with \\u escapes, as a client would send it (httpx's json= cannot encode a surrogate)."""
    return client.request(method, path, content=json.dumps(body).encode(),
                          headers={"content-type": "application/json"})


def _refused_text(answer, where):
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_text"
    assert error["details"][0]["path"] == where
    assert error["message"].startswith(".".join(str(p) for p in where) + ": ")


def _event(**changes):
    return {"event_id": "e-bad", "touchpoint": "tp", "contact": {"external_id": "c-bad"}, **changes}


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize(("body", "where"), [
    (lambda b: _event(event_id="e" + b), ["event_id"]),
    (lambda b: _event(contact={"external_id": "c" + b}), ["contact", "external_id"]),
    (lambda b: _event(contact={"external_id": "c-bad", "attributes": {"plan": "gold" + b}}),
     ["contact", "attributes", "plan"]),
    (lambda b: _event(attributes={"tags": ["ok", b + "x"]}), ["attributes", "tags", 1]),
], ids=["event_id", "external_id", "contact_attribute", "event_attribute"])
def test_unstorable_text_in_an_event_is_refused_and_nothing_is_stored(api, bad, body, where):
    _refused_text(_send(api, "POST", "/api/v1/events", body(bad)), where)
    gone = api.get("/api/v1/contacts/c-bad/experience")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "contact_not_found"
    # The same event, cleaned, is accepted afterwards: nothing of the refused one was kept.
    assert api.post("/api/v1/events", json=_event()).json()["outcome"] == "invited"


def test_a_bad_attribute_name_is_named_readably(api):
    answer = _send(api, "POST", "/api/v1/events", _event(attributes={"pl" + SURROGATE + "an": 1}))
    _refused_text(answer, ["attributes", "pl\\ud800an"])


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_unstorable_text_in_surveys_and_webhooks_is_refused(api, bad):
    survey = {**SURVEY, "key": "s2", "questions": [{"id": "q", "type": "text", "prompt": "P" + bad}]}
    _refused_text(_send(api, "POST", "/api/v1/surveys", survey), ["questions", 0, "prompt"])
    assert api.get("/api/v1/surveys/s2").status_code == 404
    _refused_text(_send(api, "PATCH", "/api/v1/surveys/s1", {"title": bad}), ["title"])
    assert api.get("/api/v1/surveys/s1").json()["title"] == "T"
    hook = {"url": "https://crm.example.com/hook", "description": "d" + bad}
    _refused_text(_send(api, "POST", "/api/v1/webhooks", hook), ["description"])
    assert api.get("/api/v1/webhooks").json() == []


@pytest.mark.parametrize("bad", [NUL, SURROGATE, LOW_SURROGATE, SURROGATE + "\U0001f600"])
def test_unstorable_answers_are_refused_and_earlier_answers_kept(api, bad):
    kept = invite(api, "e0", "c0")
    assert api.post("/api/v1/responses", json={"token": kept, "answers": [
        {"question_id": "nps", "value": 9}, {"question_id": "why", "value": "fast"}]}).status_code == 201
    token = invite(api)
    body = {"token": token, "answers": [{"question_id": "nps", "value": 3}, {"question_id": "why", "value": bad}]}
    _refused_text(_send(api, "POST", "/api/v1/responses", body), ["answers", 1, "value"])
    items = api.get("/api/v1/responses").json()["items"]
    assert [[(a["question_id"], a["value"]) for a in i["answers"]] for i in items] == [[("nps", 9), ("why", "fast")]]
    # The refused answer stored nothing: the link still works once.
    assert api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": 3}]}
                    ).status_code == 201


def test_escapes_that_make_good_text_are_not_refused(api):
    # A surrogate pair spells one character; an escaped backslash before "u0000" is plain text.
    body = _event(attributes={"mood": "\U0001f600", "path": "C:\\u0000"})
    assert "\\ud83d\\ude00" in json.dumps(body) and "C:\\\\u0000" in json.dumps(body)
    assert _send(api, "POST", "/api/v1/events", body).json()["outcome"] == "invited"


def test_awkward_but_good_answers_are_stored_exactly_as_given(api):
    """PostgreSQL stores a batch of answers from one JSON document (voc.surveys.responses._STORE): text that
    JSON or SQL must escape comes back exactly as it was sent."""
    texts = ["\U0001f600 and \u00e9", 'quotes " \' and a \\ backslash', "C:\\u0000 is plain text",
             "line\nbreak\ttab\r", "\u05e2\u05d1\u05e8\u05d9\u05ea, right to left", "</script><b>bold</b>",
             "'; DROP TABLE response; --", "control \x1f\x7f characters", "{\"json\": [1, 2]}"]
    for n, text in enumerate(texts):
        token = invite(api, f"e-ok-{n}", f"c-ok-{n}")
        answer = _send(api, "POST", "/api/v1/responses", {"token": token, "answers": [
            {"question_id": "nps", "value": n}, {"question_id": "why", "value": text}]})
        assert answer.status_code == 201, answer.text
    stored = {i["contact"]["external_id"]: dict((a["question_id"], a["value"]) for a in i["answers"])
              for i in api.get("/api/v1/responses", params={"limit": 50}).json()["items"]}
    assert stored == {f"c-ok-{n}": {"nps": n, "why": text} for n, text in enumerate(texts)}


def test_the_widget_s_text_plain_json_is_checked_too(client):
    answer = client.post("/embed/sites/shop/decision", content=b'{"survey": "s\\u0000"}',
                         headers={"content-type": "text/plain", "origin": "https://shop.example.com"})
    _refused_text(answer, ["survey"])


def test_a_raw_nul_byte_in_json_is_refused(api):
    raw = b'{"event_id": "e\x00", "touchpoint": "tp", "contact": {"external_id": "c"}}'
    answer = api.post("/api/v1/events", content=raw, headers={"content-type": "application/json"})
    _refused_text(answer, ["event_id"])


def test_a_nul_in_the_survey_form_is_refused_and_the_link_still_works(api):
    token = invite(api)
    page = api.post(f"/s/{token}", data={"q_nps": "7", "q_why": "slow" + NUL})
    assert page.status_code == 422 and "q_why" in page.text and "text/html" in page.headers["content-type"]
    assert api.get("/api/v1/responses").json()["items"] == []
    assert api.post(f"/s/{token}", data={"q_nps": "7", "q_why": "slow"}).status_code == 200
    assert [i["scores"]["nps"] for i in api.get("/api/v1/responses").json()["items"]] == [7]


def test_a_nul_in_the_login_form_is_refused(client, make_user):
    email, password = make_user("admin")
    page = client.post("/login", data={"email": email + NUL, "password": password, "csrf_token": "x"})
    assert page.status_code == 422 and "email" in page.text
    page = client.post("/login", content=b"email=a%00b&password=p", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert page.status_code == 422 and "email" in page.text


@pytest.mark.parametrize("multipart", [False, True])
def test_a_nul_in_a_dashboard_form_is_refused(client, login, multipart):
    csrf = login("admin")
    fields = {"name": "Refused-key-7f3a" + NUL, "scopes": "surveys:read", "csrf_token": csrf}
    if multipart:
        answer = client.post("/dashboard/settings/keys", files={k: (None, v) for k, v in fields.items()})
    else:
        answer = client.post("/dashboard/settings/keys", data=fields)
    assert answer.status_code == 422 and "name" in answer.text
    assert "Refused-key-7f3a" not in client.get("/dashboard/settings").text  # nothing was stored


@pytest.mark.parametrize(("url", "where"), [
    ("/dashboard/responses?q=%00", ["query", "q"]),
    ("/dashboard/responses?survey=%00", ["query", "survey"]),
    ("/dashboard/contacts/%00", ["path", "external_id"]),
    ("/dashboard/surveys/%00/edit", ["path", "key"]),
])
def test_a_nul_in_a_dashboard_url_is_refused(client, login, url, where):
    login("admin")
    page = client.get(url)
    assert page.status_code == 422 and ".".join(where) in page.text
    assert page.headers["x-frame-options"] == "DENY"  # a refusal is a page like any other


@pytest.mark.parametrize(("url", "where"), [
    ("/api/v1/surveys/%00", ["path", "key"]),
    ("/api/v1/surveys/a%00b/funnel", ["path", "key"]),
    ("/api/v1/responses?survey=%00", ["query", "survey"]),
    ("/api/v1/responses?contact=x%00y&limit=5", ["query", "contact"]),
    ("/api/v1/metrics?%00=1", ["query", "\\u0000"]),
])
def test_a_nul_in_an_api_url_is_refused(api, url, where):
    _refused_text(api.get(url), where)


@pytest.mark.parametrize("number", BEYOND)
@pytest.mark.parametrize(("method", "path", "code"), [
    ("GET", "/api/v1/responses/{}", "response_not_found"),
    ("GET", "/api/v1/webhooks/{}", "webhook_not_found"),
    ("PATCH", "/api/v1/webhooks/{}", "webhook_not_found"),
    ("DELETE", "/api/v1/webhooks/{}", "webhook_not_found"),
    ("POST", "/api/v1/webhooks/{}/rotate-secret", "webhook_not_found"),
    ("POST", "/api/v1/webhooks/{}/test", "webhook_not_found"),
    ("GET", "/api/v1/webhooks/{}/deliveries", "webhook_not_found"),
    ("GET", "/api/v1/webhooks/{}/deliveries/msg_1", "webhook_not_found"),
    ("POST", "/api/v1/webhooks/{}/deliveries/msg_1/replay", "webhook_not_found"),
    ("POST", "/api/v1/webhooks/{}/deliveries/replay-dead", "webhook_not_found"),
])
def test_an_id_beyond_the_integer_range_is_not_found(api, method, path, code, number):
    body = {"since": "2026-01-01T00:00:00Z"} if path.endswith("replay-dead") else {}
    answer = api.request(method, path.format(number), json=body if method in ("PATCH", "POST") else None)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("number", BEYOND)
def test_an_id_beyond_the_range_in_a_cursor_is_refused(api, number):
    answer = api.get("/api/v1/responses", params={"cursor": pack_id_cursor("r", int(number))})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("number", BEYOND)
@pytest.mark.parametrize(("path", "form"), [
    ("/dashboard/followups/{}/status", {"status": "resolved"}),
    ("/dashboard/followups/{}/assign", {"assignee": "me"}),
    ("/dashboard/followups/{}/notes", {"text": "hi"}),
    ("/dashboard/settings/keys/{}/revoke", {}),
    ("/dashboard/settings/webhooks/{}/enabled", {"enabled": "true"}),
    ("/dashboard/settings/webhooks/{}/delete", {}),
    ("/dashboard/settings/webhooks/{}/test", {}),
    ("/dashboard/settings/webhooks/{}/deliveries/msg_1/replay", {}),
    ("/dashboard/settings/webhooks/{}/replay-dead", {"since": "2026-01-01T00:00"}),
    ("/dashboard/settings/users/{}/role", {"role": "viewer"}),
])
def test_a_dashboard_id_beyond_the_range_is_not_found(client, login, path, form, number):
    csrf = login("admin")
    page = client.post(path.format(number), data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert page.status_code == 404, page.text
    assert number in page.text and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("number", BEYOND)
def test_dashboard_filters_with_an_id_beyond_the_range_are_ignored(client, login, number):
    login("admin")
    assert client.get("/dashboard/settings", params={"endpoint": number}).status_code == 200
    assert client.get("/dashboard/followups", params={"assignee": number}).status_code == 200
    assert client.get("/dashboard/followups", params={"assignee": "²"}).status_code == 200  # a digit, not a number


def test_a_followup_is_not_given_to_a_user_beyond_the_range(client, engine, run_jobs, login):
    case_id = _case(engine, run_jobs)
    csrf = login("analyst")
    answer = client.post(f"/dashboard/followups/{case_id}/assign", data={"assignee": BEYOND[1], "csrf_token": csrf})
    assert answer.status_code == 422 and "no such user" in answer.text


def _padded_answer(token, size):
    body = {"token": token, "answers": [{"question_id": "nps", "value": 5}], "pad": ""}
    body["pad"] = "x" * (size - len(json.dumps(body)))
    return json.dumps(body).encode()


def test_a_public_body_over_64_kb_is_refused_and_the_link_still_works(api):
    token = invite(api)
    big = api.post("/api/v1/responses", content=_padded_answer(token, 64 * 1024 + 1),
                   headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    # 64 KB exactly is read (and refused for its unknown field, not its size).
    fits = api.post("/api/v1/responses", content=_padded_answer(token, 64 * 1024),
                    headers={"content-type": "application/json"})
    assert fits.status_code == 422 and fits.json()["error"]["code"] == "validation_error"
    page = api.post(f"/s/{token}", data={"q_nps": "5", "q_why": "x" * 70_000})
    assert page.status_code == 413 and "text/html" in page.headers["content-type"]
    assert api.post("/api/v1/responses", json={"token": token, "answers": [{"question_id": "nps", "value": 5}]}
                    ).status_code == 201


@pytest.mark.parametrize("path", ["/login", "/unsubscribe/some-token", "/embed/sites/shop/decision",
                                  "/s/some-token"])
def test_every_public_route_has_the_small_limit(client, path):
    answer = client.post(path, content=b"x" * (64 * 1024 + 1), headers={"content-type": "text/plain"})
    assert answer.status_code == 413


def test_an_api_body_over_1_mb_is_refused(api):
    survey = {**SURVEY, "key": "big", "thank_you": "x" * (1024 * 1024)}
    answer = api.post("/api/v1/surveys", json=survey)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert api.get("/api/v1/surveys/big").status_code == 404
    # 100 KB is far over the public limit, and fine here (refused for its too long text, not its size).
    answer = api.post("/api/v1/surveys", json={**survey, "thank_you": "x" * 100_000})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"


def test_a_streamed_body_is_counted(api):
    def chunks():
        yield b'{"event_id": "e", "touchpoint": "tp", "contact": {"external_id": "c"}, "pad": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    answer = api.post("/api/v1/events", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read():
    read = []

    async def app(scope, receive, send):
        raise AssertionError("the app ran")

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/responses", "query_string": b"",
             "headers": [(b"content-length", b"70000"), (b"content-type", b"application/json")]}
    asyncio.run(InputGuard(app)(scope, receive, send))
    assert sent[0]["status"] == 413 and read == []


def test_attributes_are_bounded(api):
    many = {f"k{n}": n for n in range(101)}
    answer = api.post("/api/v1/events", json=_event(attributes=many))
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["path"] == ["attributes"]
    big = {"external_id": "c-bad", "attributes": {"notes": "x" * 8191}}  # 8193 bytes as JSON, with its quotes
    answer = api.post("/api/v1/events", json=_event(contact=big))
    error = answer.json()["error"]
    assert answer.status_code == 422 and error["code"] == "validation_error"
    assert error["details"][0]["path"] == ["contact", "attributes", "notes"]
    assert api.get("/api/v1/contacts/c-bad/experience").status_code == 404
    at_most = {"external_id": "c-ok", "attributes": {f"k{n}": n for n in range(99)} | {"notes": "x" * 8190}}
    assert api.post("/api/v1/events", json=_event(contact=at_most, attributes=dict(list(many.items())[:100]))
                    ).status_code == 202
