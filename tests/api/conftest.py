"""The API tests' workspace: a client with an admin key, touchpoint `tp` and active survey `s1`."""

from __future__ import annotations

import pytest

from tests.factories import token_of

SURVEY = {"key": "s1", "title": "T", "status": "active", "triggers": [{"touchpoint": "tp"}],
          "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True},
                        {"id": "why", "type": "text", "prompt": "Why?"}]}


@pytest.fixture
def api(client, admin_headers):
    client.headers.update(admin_headers)
    assert client.post("/api/v1/touchpoints", json={"key": "tp", "name": "TP", "stage": "support"}).status_code == 201
    assert client.post("/api/v1/surveys", json=SURVEY).status_code == 201
    return client


def invite(api, event_id="e1", contact="c1") -> str:
    """A fresh invitation for `contact` on `tp`; returns its survey token."""
    body = api.post("/api/v1/events", json={"event_id": event_id, "touchpoint": "tp",
                                             "contact": {"external_id": contact}}).json()
    return token_of(body["invitation"]["url"])
