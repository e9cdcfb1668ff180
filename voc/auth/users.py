"""Dashboard users: scrypt password hashes, roles, checked e-mail addresses, disabling and deleting.

Repeated wrong passwords are slowed down by voc.auth.throttle (per account and address), never by a
lock on the account: a lock would let anyone keep the team out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy import func, select
from sqlmodel import Session

from voc.auth.models import Role, User
from voc.db import utcnow
from voc.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

# scrypt with n=2**15, r=8: about 32 MiB and tens of milliseconds per check, as OWASP suggests.
_N, _R, _P = 2**15, 8, 1
MIN_PASSWORD = 10
# RFC 5322 dot-atom text (what real addresses use; quoted local parts are not accepted), plus letters of
# any script (RFC 6531).
_ATOM = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def hash_password(password: str) -> str:
    """A salted scrypt hash, with its parameters, for storage."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored hash (constant-time comparison)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                   maxmem=64 * 1024 * 1024, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalise_email(text: str) -> str:
    """The address lower-cased, or Invalid saying what is wrong with its syntax."""
    email = text.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        raise Invalid("not an e-mail address: it needs the form name@example.com", code="invalid_email")
    if len(local) > 64 or len(email) > 254:
        raise Invalid("not an e-mail address: it is too long", code="invalid_email")
    if not all(_ATOM.fullmatch(atom) for atom in local.split(".")):
        raise Invalid("not an e-mail address: before the @ only letters, digits, single dots and "
                      "!#$%&'*+/=?^_`{|}~- may appear", code="invalid_email")
    try:
        labels = domain.encode("idna").decode("ascii").split(".")
    except UnicodeError:
        labels = []
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise Invalid("not an e-mail address: after the @ it needs a domain such as example.com",
                      code="invalid_email")
    return email


def create_user(session: Session, email: str, role: str, password: str) -> User:
    """A new dashboard user; e-mail addresses are checked and unique, case-insensitively."""
    email = normalise_email(email)
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role)}", code="invalid_role")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password needs at least {MIN_PASSWORD} characters", code="weak_password")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(f"a user {email} exists already", code="user_exists")
    user = User(email=email, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> User:
    """The user with these credentials, or 401 (403 for a disabled user who gave the right password).

    Callers slow repeated failures down first (voc.auth.throttle); nothing is written for a failure."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        verify_password(password, _DUMMY_HASH)  # the same work, so timing does not reveal who exists
        raise Unauthorized("e-mail or password is wrong", code="invalid_credentials")
    if not verify_password(password, user.password_hash):
        raise Unauthorized("e-mail or password is wrong", code="invalid_credentials")
    if user.disabled_at is not None:
        raise Forbidden("this account is disabled; ask an admin to enable it", code="account_disabled")
    user.last_login_at = utcnow()
    session.add(user)
    return user


def list_users(session: Session) -> list[User]:
    """Every dashboard user, by e-mail address."""
    return list(session.scalars(select(User).order_by(User.email)))


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or 404 `user_not_found`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    return user


def find_user(session: Session, email: str) -> User:
    """The user with this e-mail address (any case), or 404 `user_not_found`."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email.strip()}", code="user_not_found")
    return user


def set_role(session: Session, user_id: int, role: str) -> User:
    """Give the user another role; their sessions end (they sign in again with the new one)."""
    user = get_user(session, user_id)
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role)}", code="invalid_role")
    if user.role == Role.admin and role != Role.admin:
        _keep_an_admin(session, user)
    user.role = role
    user.session_epoch += 1
    session.add(user)
    return user


def set_disabled(session: Session, user: User, disabled: bool, *, actor: User | None = None) -> User:
    """Disable a user (they cannot sign in and their sessions end at once) or enable them again."""
    if disabled and user.disabled_at is None:
        _not_yourself(user, actor, "disable")
        _keep_an_admin(session, user)
        user.disabled_at = utcnow()
        user.session_epoch += 1
    elif not disabled:
        user.disabled_at = None
    session.add(user)
    session.flush()
    return user


def delete_user(session: Session, user: User, *, actor: User | None = None) -> None:
    """Delete a user; follow-ups assigned to them become unassigned, their notes keep no author."""
    _not_yourself(user, actor, "delete")
    _keep_an_admin(session, user)
    session.delete(user)
    session.flush()


def _not_yourself(user: User, actor: User | None, verb: str) -> None:
    if actor is not None and actor.id == user.id:
        raise Invalid(f"you cannot {verb} yourself; ask another admin", code="own_account")


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take the last enabled admin away: nobody could manage users any more."""
    if user.role != Role.admin or user.disabled_at is not None:
        return
    others = session.scalar(select(func.count(User.id)).where(
        User.role == Role.admin, User.disabled_at.is_(None), User.id != user.id))
    if not others:
        raise Conflict("this is the last enabled admin; make another user admin first", code="last_admin")
