"""Fixtures for the embed widget: a site made through the API, a survey the widget may show, and a
helper that asks the decision endpoint as a browser on an allowed origin would."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from voc.embed.sites import sign_contact
from voc.surveys.models import Touchpoint

ORIGIN = "https://shop.example.com"
OTHER_ORIGIN = "https://evil.example.net"


@dataclass(frozen=True)
class EmbedSite:
    key: str
    secret: str

    def sign(self, external_id: str) -> str:
        return sign_contact(self.secret, external_id)


@pytest.fixture
def site(client, admin_headers: dict[str, str]) -> EmbedSite:
    answer = client.post("/api/v1/sites", headers=admin_headers,
                         json={"key": "shop", "name": "Shop", "allowed_origins": [ORIGIN, "http://localhost:3000"]})
    assert answer.status_code == 201, answer.text
    return EmbedSite("shop", answer.json()["secret"])


@pytest.fixture
def embed_survey(engine) -> Callable[..., None]:
    """Make a touchpoint and an active survey with an embed trigger (options as for factories.survey)."""

    def make(key: str = "widget", trigger: dict[str, Any] | None = None, **kw: Any) -> None:
        with Session(engine) as session:
            if session.scalar(select(Touchpoint.id).where(Touchpoint.key == "web_visit")) is None:
                f.touchpoint(session, key="web_visit", stage="usage")
            f.survey(session, key=key, touchpoint="web_visit", trigger={"channel": "embed", **(trigger or {})}, **kw)
            session.commit()

    return make


@pytest.fixture
def ask(client, site: EmbedSite) -> Callable[..., Any]:
    """POST a decision question from `origin` as the loader does (a text/plain JSON body)."""

    def post(origin: str | None = ORIGIN, site_key: str | None = None, **question: Any) -> Any:
        headers = {"Content-Type": "text/plain;charset=UTF-8"}
        if origin:
            headers["Origin"] = origin
        return client.post(f"/embed/sites/{site_key or site.key}/decision", content=json.dumps(question),
                           headers=headers)

    return post
