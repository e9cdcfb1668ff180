"""Signing in to the dashboard: a signed HttpOnly session cookie, roles, CSRF tokens, and sign-in throttling.

Every state-changing dashboard request carries the session's CSRF token, in the `X-CSRF-Token`
header (htmx sends it, see templates/dashboard/base.html) or a `csrf_token` form field. Repeated wrong
passwords slow that account down from that address (voc.auth.throttle), answered 429 with Retry-After
before the password is checked; nobody is ever locked out."""

from __future__ import annotations

import hmac
import secrets
import threading
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from voc import audit
from voc.api.deps import SessionDep
from voc.auth.models import Role, User
from voc.auth.throttle import LoginThrottle, SharedLoginThrottle
from voc.auth.users import authenticate_user
from voc.config import get_settings
from voc.errors import Forbidden, Unauthorized, VocError
from voc.limits import limits_for, retry_after
from voc.telemetry import RATE_LIMITED
from voc.web.security import client_address
from voc.web.templating import render

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "voc_session"
SESSION_HOURS = 12
# The addresses that have a signed-in user's session: the dashboard and signing in and out.
SESSION_PREFIXES = ("/dashboard", "/login", "/logout")


class DashboardSessions:
    """Starlette's SessionMiddleware on the addresses with sessions only: the answer path, the survey pages
    and the API never read the cookie, so they skip its parsing and its wrapper around every answer."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        self.app = app
        self.sessions = SessionMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SESSION_PREFIXES):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_throttle_lock = threading.Lock()


class LoginRequired(Exception):  # noqa: N818 - control flow: answered with a redirect to /login
    """No signed-in user: pages redirect to /login, htmx requests are told to."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the session's CSRF token (403)."""
    if request.method not in _UNSAFE:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf_token")
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form has expired or did not come from voc; reload the page", code="csrf_failed")


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user, or LoginRequired."""
    user_id, epoch = request.session.get("uid"), request.session.get("epoch")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.session_epoch != epoch or user.disabled_at is not None:
        request.session.pop("uid", None)
        raise LoginRequired
    request.state.user = user
    return user


def require_role(role: Role):  # noqa: ANN201
    """A dependency: the signed-in user, who must hold at least `role` (else 403)."""

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if Role(user.role).rank < role.rank:
            raise Forbidden(f"this needs the {role.value} role", code="insufficient_role")
        return user

    return dependency


Viewer = Annotated[User, Depends(require_role(Role.viewer))]
Analyst = Annotated[User, Depends(require_role(Role.analyst))]
Admin = Annotated[User, Depends(require_role(Role.admin))]
CsrfChecked = Depends(check_csrf)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect to somewhere else.
    if not target or urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
        return "/dashboard"
    return target


def login_redirect(request: Request) -> Response:
    """Where an anonymous visitor is sent: /login, then back to where they were going."""
    target = "/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/login", name="login")
def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    return render(request, "dashboard/login.html", {"next": _safe_next(next), "csrf": csrf_token(request),
                                                    "error": None})


def login_throttle(request: Request) -> LoginThrottle | SharedLoginThrottle:
    """This app's sign-in throttle (made on first use, from the settings): shared by every process when
    the limits are (voc.limits), else this process's own."""
    state = request.app.state
    with _throttle_lock:
        throttle = getattr(state, "login_throttle", None)
        if throttle is None:
            settings = get_settings()
            limits = limits_for(state.engine)
            rules = (settings.login_failures_before_delay, settings.login_max_delay_seconds)
            throttle = state.login_throttle = (SharedLoginThrottle(limits, *rules) if limits.store is not None
                                               else LoginThrottle(*rules))
    return throttle


@router.post("/login", dependencies=[CsrfChecked])
def login(request: Request, session: SessionDep, email: Annotated[str, Form()], password: Annotated[str, Form()],
          next: Annotated[str | None, Form()] = None) -> Response:  # noqa: A002
    """Check the credentials, unless this account failed too often from this address lately (429)."""
    throttle, address = login_throttle(request), client_address(request.scope)

    def form_again(message: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        page = render(request, "dashboard/login.html", {"next": _safe_next(next), "csrf": csrf_token(request),
                                                        "error": message, "email": email}, status_code=status_code)
        page.headers.update(headers or {})
        return page

    wait = throttle.admit(email, address)
    if wait:
        RATE_LIMITED.inc("login_throttle")
        seconds = retry_after(wait)
        unit = "second" if seconds == "1" else "seconds"
        return form_again(f"Too many failed sign-ins for this account from your network: try again in {seconds} "
                          f"{unit}.", 429, {"Retry-After": seconds})
    try:
        user = authenticate_user(session, email, password)
    except VocError as exc:  # a wrong e-mail address or password (Unauthorized), or a disabled account
        if isinstance(exc, Unauthorized):
            throttle.failed(email, address)
        _record_failed_sign_in(request, session, email, exc.code)
        return form_again(exc.message, exc.status_code)
    throttle.succeeded(email, address)
    audit.record(session, audit.actor_from_request(request, user=user), "user.signed_in", "user", user.id or 0)
    request.session.clear()  # a fresh session at sign-in: no fixation of an earlier one
    request.session.update(uid=user.id, epoch=user.session_epoch, csrf=secrets.token_urlsafe(32))
    return RedirectResponse(_safe_next(next), status_code=303)


def _record_failed_sign_in(request: Request, session: SessionDep, email: str, reason: str) -> None:
    """The e-mail address tried and why it failed; never the password."""
    tried = email.strip()[:320]
    audit.record(session, audit.anonymous_actor(tried, audit.request_address(request)), "user.sign_in_failed",
                 "user", tried, after={"email": tried, "reason": reason})


@router.post("/logout", name="logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep) -> Response:
    """Sign out here and everywhere: older cookies of this user stop working."""
    user_id = request.session.get("uid")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is not None:
        user.session_epoch += 1
        session.add(user)
        audit.record(session, audit.actor_from_request(request, user=user), "user.signed_out", "user", user.id or 0)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
