"""Settings › Users: admins see everyone and add, change, disable and delete users; everyone else sees only
themselves (others' e-mail addresses are for admins) and how long customers' free text is kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from voc import audit
from voc.api.deps import SessionDep
from voc.auth import users
from voc.auth.models import Role, User
from voc.config import get_settings
from voc.digest.recipients import set_weekly_digest
from voc.errors import Invalid, VocError
from voc.ids import UserId
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.settings.common import acting, done, refused, section_page

router = APIRouter()
TEMPLATE = "dashboard/settings/users.html"


def _users_page(request: Request, user: User, session: Session, *, status_code: int = 200,
                **extra: Any) -> HTMLResponse:
    admin = user.role == Role.admin
    everyone = users.list_users(session)
    context = {"users": everyone if admin else [u for u in everyone if u.id == user.id],
               "other_users": 0 if admin else len(everyone) - 1, "roles": list(Role),
               "text_retention_days": get_settings().text_retention_days, **extra}
    return section_page(request, user, TEMPLATE, context, status_code=status_code)


def _again(request: Request, user: User, session: Session) -> Callable[..., HTMLResponse]:
    """This page again, for `refused`."""
    return lambda **kw: _users_page(request, user, session, **kw)


@router.get("/dashboard/settings/users", name="settings_users")
def users_page(request: Request, user: Viewer, session: SessionDep) -> HTMLResponse:
    return _users_page(request, user, session)


@router.post("/dashboard/settings/users", name="settings_user_create", dependencies=[CsrfChecked])
def create_user(request: Request, user: Admin, session: SessionDep, email: Annotated[str, Form()] = "",
                role: Annotated[str, Form()] = "viewer", password: Annotated[str, Form()] = "") -> Response:
    try:
        created = users.create_user(session, email, role, password)
    except VocError as exc:
        return refused(session, exc, _again(request, user, session), form={"email": email, "role": role})
    audit.record(session, acting(request, user), "user.created", "user", created.id or 0,
                 after=audit.user_state(created))
    return done(request, "settings_users", notice="user_created")


@router.post("/dashboard/settings/users/{user_id}/role", name="settings_user_role", dependencies=[CsrfChecked])
def change_role(request: Request, user_id: UserId, user: Admin, session: SessionDep,
                role: Annotated[str, Form()] = "") -> Response:
    if user_id == user.id and role != Role.admin:
        return refused(session, Invalid("you cannot take the admin role from yourself; ask another admin"),
                       _again(request, user, session))
    try:
        before = audit.user_state(users.get_user(session, user_id))
        changed = users.set_role(session, user_id, role)
    except VocError as exc:
        return refused(session, exc, _again(request, user, session))
    audit.record(session, acting(request, user), "user.role_changed", "user", user_id, before=before,
                 after=audit.user_state(changed))
    return done(request, "settings_users", notice="role_changed")


@router.post("/dashboard/settings/users/{user_id}/disabled", name="settings_user_disabled",
             dependencies=[CsrfChecked])
def set_user_disabled(request: Request, user_id: UserId, user: Admin, session: SessionDep,
                      disabled: Annotated[str, Form()] = "") -> Response:
    """Disable a user (their sessions end at once) or enable them again."""
    try:
        target = users.get_user(session, user_id)
        before = audit.user_state(target)
        users.set_disabled(session, target, disabled == "true", actor=user)
    except VocError as exc:
        return refused(session, exc, _again(request, user, session))
    audit.record(session, acting(request, user), "user.disabled" if disabled == "true" else "user.enabled", "user",
                 user_id, before=before, after=audit.user_state(target))
    return done(request, "settings_users", notice="user_disabled" if disabled == "true" else "user_enabled")


@router.post("/dashboard/settings/users/{user_id}/delete", name="settings_user_delete", dependencies=[CsrfChecked])
def delete_user(request: Request, user_id: UserId, user: Admin, session: SessionDep) -> Response:
    """Delete a user: their sessions end; follow-ups assigned to them become unassigned."""
    try:
        target = users.get_user(session, user_id)
        before = audit.user_state(target)
        users.delete_user(session, target, actor=user)
    except VocError as exc:
        return refused(session, exc, _again(request, user, session))
    audit.record(session, acting(request, user), "user.deleted", "user", user_id, before=before)
    return done(request, "settings_users", notice="user_deleted")


@router.post("/dashboard/settings/users/{user_id}/digest", name="settings_user_digest", dependencies=[CsrfChecked])
def set_user_digest(request: Request, user_id: UserId, user: Viewer, session: SessionDep,
                    weekly_digest: Annotated[str, Form()] = "") -> Response:
    """Choose the weekly digest e-mail: anyone for themselves, an admin for anyone."""
    try:
        target = set_weekly_digest(session, user_id, weekly_digest == "true", actor=user)
    except VocError as exc:
        return refused(session, exc, _again(request, user, session))
    action = "user.digest_chosen" if target.weekly_digest else "user.digest_dropped"
    audit.record(session, acting(request, user), action, "user", user_id,
                 after={"id": target.id, "email": target.email, "weekly_digest": target.weekly_digest})
    return done(request, "settings_users", notice="digest_on" if weekly_digest == "true" else "digest_off",
                anchor=f"#user-{user_id}")
