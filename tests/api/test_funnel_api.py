"""GET /api/v1/surveys/{key}/funnel, and the one-shot POST /api/v1/responses over answers saved step by step."""

from __future__ import annotations

from sqlmodel import Session

from tests import factories as f

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True},
    {"id": "why", "type": "text", "prompt": "Why?"},
    {"id": "channel", "type": "single_choice", "prompt": "How?", "options": ["Web", "Phone"]},
]


def _links(engine, n):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, questions=QUESTIONS, recontact_days=0)
        links = [f.event(session, f"e{i}", contact=f"c{i}").invitation.url for i in range(n)]
        session.commit()
    return ["/s/" + f.token_of(url) for url in links]


def test_the_funnel_over_http(client, engine, make_key, run_jobs):
    first, second, third, _unopened = _links(engine, 4)
    client.get(first)  # opened only
    client.post(second, data={"step": "nps", "q_nps": "7", "action": "next"})  # stopped at "why"
    f.one_click(client, third, "nps", 9)  # one click from an e-mail, then finished by the API
    sent = client.post("/api/v1/responses", json={"token": f.token_of(third), "answers": [{"question_id": "channel",
                                                                                        "value": "Web"}]})
    assert sent.status_code == 201 and sent.json()["status"] == "completed"
    run_jobs()  # the worker counts the completed response in the rollups

    def bearer(*scopes):
        return {"Authorization": f"Bearer {make_key(*scopes)}"}

    for scopes in (("surveys:read",), ("responses:read",)):
        answer = client.get("/api/v1/surveys/post_delivery/funnel", headers=bearer(*scopes))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["opened"], body["started"], body["completed"]) == (3, 2, 1)
        assert [(q["question_id"], q["dropped"]) for q in body["questions"]] == [("nps", 0), ("why", 1), ("channel", 0)]
        assert body["dropped_before_sending"] == 0 and body["completion_rate"] == 1 / 3

    admin = bearer("admin")
    later = client.get("/api/v1/surveys/post_delivery/funnel", params={"from": "2999-01-01T00:00:00Z"}, headers=admin)
    assert later.json()["opened"] == 0
    bad_time = client.get("/api/v1/surveys/post_delivery/funnel", params={"to": "yesterday"}, headers=admin)
    assert bad_time.status_code == 422
    wrong = client.get("/api/v1/surveys/post_delivery/funnel", headers=bearer("events:write"))
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "insufficient_scope"
    assert client.get("/api/v1/surveys/post_delivery/funnel").status_code == 401
    assert client.get("/api/v1/surveys/nowhere/funnel", headers=admin).status_code == 404


def test_the_one_shot_submit_keeps_its_contract_with_saved_answers(client, engine):
    (link,) = _links(engine, 1)
    f.one_click(client, link, "nps", 3)
    again = client.post("/api/v1/responses", json={"token": f.token_of(link), "answers": []})
    assert again.status_code == 201  # the saved score is an answer
    twice = client.post("/api/v1/responses", json={"token": f.token_of(link), "answers": [{"question_id": "nps",
                                                                                         "value": 5}]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_answered"
