"""Dashboard users: scrypt password hashes, roles, and a lockout after repeated failed logins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from voc.auth.models import Role, User
from voc.db import utcnow
from voc.errors import Conflict, Invalid, Unauthorized

# scrypt with n=2**15, r=8: about 32 MiB and tens of milliseconds per check, as OWASP suggests.
_N, _R, _P = 2**15, 8, 1
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10


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


def create_user(session: Session, email: str, role: str, password: str) -> User:
    """A new dashboard user; e-mail addresses are unique, case-insensitively."""
    email = email.strip().lower()
    if "@" not in email:
        raise Invalid("not an e-mail address", code="invalid_email")
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
    """The user with these credentials, or 401; five failures lock the account for 15 minutes."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    now = utcnow()
    if user is None:
        verify_password(password, _DUMMY_HASH)  # the same work, so timing does not reveal who exists
        raise Unauthorized("e-mail or password is wrong", code="invalid_credentials")
    if user.locked_until and user.locked_until > now:
        raise Unauthorized("too many failed attempts; try again in a few minutes", code="account_locked",
                           status_code=429)
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        session.add(user)
        raise Unauthorized("e-mail or password is wrong", code="invalid_credentials")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.add(user)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def set_role(session: Session, user_id: int, role: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Invalid("no such user", code="user_not_found")
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role)}", code="invalid_role")
    user.role = role
    user.session_epoch += 1
    session.add(user)
    return user
