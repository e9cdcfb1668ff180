"""Dashboard users: addresses checked on creation, and admins disabling and deleting users, whose sessions
end at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.conftest import csrf_of
from voc.auth.models import User
from voc.auth.users import normalise_email
from voc.errors import Invalid

HOSTILE = '"><script>alert(1)</script>@x.test'


@pytest.mark.parametrize("address", ["nina@example.com", " Nina.Berg+voc@Mail.Example.co.uk ", "demo@voc.local",
                                     "o'brien@example.ie", "müller@bücher.example", "a_b-c@x-y.test"])
def test_real_addresses_are_accepted_lower_cased(address):
    assert normalise_email(address) == address.strip().lower()


@pytest.mark.parametrize(("address", "reason"), [
    (HOSTILE, "before the @"), ("no-at-sign", "name@example.com"), ("a@b", "domain"), ("a..b@x.test", "before the @"),
    (".a@x.test", "before the @"), ("a b@x.test", "before the @"), ("a@-x.test", "domain"), ("a@x..test", "domain"),
    ("a@x.test>", "domain"), ("@x.test", "name@example.com"), ("a@", "name@example.com"), ("a@1.2.3.4", "domain"),
    ("x" * 65 + "@x.test", "too long"),
])
def test_other_text_is_refused_saying_why(address, reason):
    with pytest.raises(Invalid, match=reason) as refused:
        normalise_email(address)
    assert refused.value.code == "invalid_email"


def test_an_admin_cannot_create_a_user_with_a_hostile_address(client, login, engine):
    csrf = login("admin")
    answer = client.post("/dashboard/settings/users", data={"email": HOSTILE, "role": "viewer",
                                                            "password": "long enough pass", "csrf_token": csrf})
    assert answer.status_code == 422 and "not an e-mail address" in answer.text
    assert "<script>alert(1)</script>" not in answer.text
    with Session(engine) as session:
        assert not session.exec(select(User).where(User.email.contains("script"))).all()


def _signed_in(app, email: str, password: str) -> TestClient:  # noqa: ANN001
    other = TestClient(app)
    token = csrf_of(other.get("/login").text)
    assert other.post("/login", data={"email": email, "password": password, "csrf_token": token},
                      follow_redirects=False).status_code == 303
    assert other.get("/dashboard").status_code == 200
    return other


def _user(engine, email: str) -> User | None:  # noqa: ANN001
    with Session(engine) as session:
        return session.exec(select(User).where(User.email == email)).first()


def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in_until_enabled(client, app, login, make_user,
                                                                                 engine):
    csrf = login("admin")
    email, password = make_user("viewer")
    viewer = _signed_in(app, email, password)
    user_id = _user(engine, email).id

    disabled = client.post(f"/dashboard/settings/users/{user_id}/disabled", data={"disabled": "true",
                                                                                  "csrf_token": csrf})
    assert disabled.status_code == 200 and "signed out" in disabled.text and "Disabled" in disabled.text
    assert viewer.get("/dashboard", follow_redirects=False).status_code == 303  # the next request, not later
    refused = viewer.post("/login", data={"email": email, "password": password,
                                          "csrf_token": csrf_of(viewer.get("/login").text)})
    assert refused.status_code == 403 and "disabled" in refused.text
    wrong = viewer.post("/login", data={"email": email, "password": "not it at all",
                                        "csrf_token": csrf_of(viewer.get("/login").text)})
    assert wrong.status_code == 401  # the state of an account is told only to who knows its password

    client.post(f"/dashboard/settings/users/{user_id}/disabled", data={"disabled": "false", "csrf_token": csrf})
    assert _user(engine, email).disabled_at is None
    _signed_in(app, email, password)


def test_a_deleted_user_is_signed_out_and_gone(client, app, login, make_user, engine):
    csrf = login("admin")
    email, password = make_user("analyst")
    analyst = _signed_in(app, email, password)
    deleted = client.post(f"/dashboard/settings/users/{_user(engine, email).id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 200 and "The user was deleted." in deleted.text and email not in deleted.text
    assert _user(engine, email) is None
    assert analyst.get("/dashboard", follow_redirects=False).status_code == 303


def test_admins_cannot_lock_themselves_or_everyone_out(client, login, engine):
    csrf = login("admin")
    me = _user(engine, client.get("/dashboard").text.split('class="who">')[1].split(" ")[0])
    for action, data in (("disabled", {"disabled": "true"}), ("delete", {})):
        refused = client.post(f"/dashboard/settings/users/{me.id}/{action}", data={**data, "csrf_token": csrf})
        assert refused.status_code == 422 and "yourself" in refused.text
    assert _user(engine, me.email).disabled_at is None


def test_the_last_enabled_admin_stays(engine, session, make_user):
    from voc.auth import users
    from voc.errors import Conflict

    email, _ = make_user("admin")
    admin = users.find_user(session, email)
    with pytest.raises(Conflict, match="last enabled admin"):
        users.set_disabled(session, admin, True)
    with pytest.raises(Conflict, match="last enabled admin"):
        users.delete_user(session, admin)
    with pytest.raises(Conflict, match="last enabled admin"):
        users.set_role(session, admin.id, "viewer")
    make_user("admin")
    session.commit()  # a new transaction sees the second admin
    users.set_disabled(session, admin, True)
    assert admin.disabled_at is not None


def test_only_admins_disable_or_delete(client, login, make_user, engine):
    csrf = login("analyst")
    email, _ = make_user("viewer")
    user_id = _user(engine, email).id
    assert client.post(f"/dashboard/settings/users/{user_id}/disabled",
                       data={"disabled": "true", "csrf_token": csrf}).status_code == 403
    assert client.post(f"/dashboard/settings/users/{user_id}/delete", data={"csrf_token": csrf}).status_code == 403
    assert client.post(f"/dashboard/settings/users/{user_id}/delete").status_code == 403  # no CSRF token
    assert _user(engine, email).disabled_at is None
