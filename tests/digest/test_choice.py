"""Choosing the weekly digest on Settings › Users: anyone for themselves (viewers too), an admin for anyone."""

from __future__ import annotations

from sqlmodel import Session, select

from voc.audit.models import AuditEntry
from voc.auth.models import User


def _digest_of(engine, email: str) -> bool:  # noqa: ANN001
    with Session(engine) as session:
        return session.exec(select(User.weekly_digest).where(User.email == email)).one()


def _me(engine) -> User:  # noqa: ANN001
    with Session(engine) as session:  # the one user signed in (login makes it)
        return session.exec(select(User).order_by(User.id.desc())).first()


def test_a_viewer_turns_their_own_digest_on_and_off(client, login, engine):
    csrf = login("viewer")
    me = _me(engine)
    page = client.get("/dashboard/settings/users")
    assert page.status_code == 200 and "Weekly digest" in page.text and "Turn on" in page.text
    answer = client.post(f"/dashboard/settings/users/{me.id}/digest", data={"weekly_digest": "true",
                                                                           "csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith(f"/dashboard/settings/users#user-{me.id}")
    assert _digest_of(engine, me.email) is True
    after = client.get("/dashboard/settings/users")
    assert "The weekly digest is on" in after.text and "Turn off" in after.text
    client.post(f"/dashboard/settings/users/{me.id}/digest", data={"weekly_digest": "false", "csrf_token": csrf})
    assert _digest_of(engine, me.email) is False


def test_only_an_admin_chooses_for_someone_else_and_never_without_the_csrf_token(client, login, engine, make_user):
    other, _ = make_user("analyst")
    csrf = login("viewer")
    with Session(engine) as session:
        other_id = session.exec(select(User.id).where(User.email == other)).one()
    refused = client.post(f"/dashboard/settings/users/{other_id}/digest",
                          data={"weekly_digest": "true", "csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 403 and "needs the admin role" in refused.text
    assert _digest_of(engine, other) is False
    client.post("/logout", data={"csrf_token": csrf})

    csrf = login("admin")
    forged = client.post(f"/dashboard/settings/users/{other_id}/digest", data={"weekly_digest": "true"},
                         follow_redirects=False)
    assert forged.status_code == 403 and _digest_of(engine, other) is False
    chosen = client.post(f"/dashboard/settings/users/{other_id}/digest",
                         data={"weekly_digest": "true", "csrf_token": csrf}, follow_redirects=False)
    assert chosen.status_code == 303 and _digest_of(engine, other) is True
    with Session(engine) as session:  # a change to another user's e-mail is in the audit log
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.digest_chosen")).one()
        assert entry.object_key == str(other_id) and entry.after["weekly_digest"] is True
    missing = client.post("/dashboard/settings/users/999999/digest", data={"weekly_digest": "true",
                                                                          "csrf_token": csrf})
    assert missing.status_code == 404
