"""Who receives the weekly digest: every enabled user who chose it on Settings › Users (viewers too: it only
reads). A user chooses for themselves; an admin may choose for anyone."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from voc.auth.models import Role, User
from voc.auth.users import get_user
from voc.errors import Forbidden


def set_weekly_digest(session: Session, user_id: int, wanted: bool, actor: User) -> User:
    """Turn the user's weekly digest on or off; 403 `not_your_choice` for someone else's, unless an admin."""
    if actor.id != user_id and actor.role != Role.admin:
        raise Forbidden("choosing the digest for another user needs the admin role", code="not_your_choice")
    user = get_user(session, user_id)
    user.weekly_digest = wanted
    session.add(user)
    session.flush()
    return user


def digest_recipients(session: Session) -> list[int]:
    """The ids of the users the digest goes to."""
    return list(session.scalars(select(User.id).where(User.weekly_digest.is_(True), User.disabled_at.is_(None))
                                .order_by(User.id)))
