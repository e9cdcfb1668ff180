"""Who did something: a dashboard user, an API key, the command line, or someone not signed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from voc.auth.models import ApiKey, User


@dataclass(frozen=True)
class Actor:
    """Who acted (kind, id, label) and from which client address, if over HTTP."""

    kind: str
    id: int | None
    label: str
    address: str | None = None


CLI = Actor("cli", None, "cli")


def key_actor(key: ApiKey, address: str | None = None) -> Actor:
    """An API key as the actor: its id and name."""
    return Actor("api_key", key.id, key.name, address)


def user_actor(user: User, address: str | None = None) -> Actor:
    """A dashboard user as the actor: their id and e-mail address."""
    return Actor("user", user.id, user.email, address)


def anonymous_actor(label: str, address: str | None = None) -> Actor:
    """Someone not signed in (a failed sign-in): `label` is what they claimed to be."""
    return Actor("anonymous", None, label[:320], address)


def request_address(request: HTTPConnection) -> str | None:
    """The client's address as uvicorn resolved it (the proxy's X-Forwarded-For when it is trusted)."""
    return request.client.host[:64] if request.client else None


def actor_from_request(request: HTTPConnection, *, key: ApiKey | None = None, user: User | None = None) -> Actor:
    """The actor of a request: the given API key or user, else the dashboard user the request signed in as."""
    address = request_address(request)
    if key is not None:
        return key_actor(key, address)
    user = user or getattr(request.state, "user", None)
    if user is not None:
        return user_actor(user, address)
    return anonymous_actor("anonymous", address)
