"""Sites over the API (admin scope) and the CLI: the secret is shown once and stored sealed."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tests.embed.conftest import ORIGIN, EmbedSite
from voc.cli import main
from voc.embed.models import Site
from voc.embed.sites import signature_is_valid
from voc.surveys.models import Invitation
from voc.webhooks.sealing import unseal


def test_create_list_update_rotate_delete(client, admin_headers, engine, site: EmbedSite) -> None:
    assert site.secret.startswith("vocsite_") and len(site.secret) > 40
    with Session(engine) as session:
        row = session.scalar(select(Site).where(Site.key == "shop"))
        assert site.secret not in row.secret_sealed and unseal(row.secret_sealed) == site.secret
        assert site.secret not in repr(row)

    listed = client.get("/api/v1/sites", headers=admin_headers).json()
    assert [s["key"] for s in listed] == ["shop"] and "secret" not in listed[0]
    assert listed[0]["allowed_origins"] == [ORIGIN, "http://localhost:3000"]
    assert "secret" not in client.get("/api/v1/sites/shop", headers=admin_headers).json()

    changed = client.patch("/api/v1/sites/shop", headers=admin_headers,
                           json={"allowed_origins": ["https://www.shop.example.com:443/"], "name": "Shop EU"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_origins"] == ["https://www.shop.example.com"] and changed.json()["name"] == "Shop EU"

    rotated = client.post("/api/v1/sites/shop/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != site.secret
    with Session(engine) as session:
        row = session.scalar(select(Site).where(Site.key == "shop"))
        assert signature_is_valid(row, "crm-1", EmbedSite("shop", new_secret).sign("crm-1"))
        assert not signature_is_valid(row, "crm-1", site.sign("crm-1"))  # the old secret stops at once

    assert client.delete("/api/v1/sites/shop", headers=admin_headers).status_code == 204
    assert client.get("/api/v1/sites/shop", headers=admin_headers).status_code == 404
    assert client.get("/api/v1/sites", headers=admin_headers).json() == []


def test_deleting_a_site_keeps_its_invitations(client, admin_headers, engine, site, embed_survey, ask) -> None:
    embed_survey()
    shown = ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()
    assert shown["show"]
    assert client.delete("/api/v1/sites/shop", headers=admin_headers).status_code == 204
    with Session(engine) as session:
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.site_id is None and invitation.channel == "embed"


def test_duplicate_key_unknown_site_and_bad_input(client, admin_headers, site) -> None:
    again = client.post("/api/v1/sites", headers=admin_headers,
                        json={"key": "shop", "name": "Again", "allowed_origins": [ORIGIN]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "site_exists"
    for body in ({"key": "x", "name": "X", "allowed_origins": []},
                 {"key": "x", "name": "X", "allowed_origins": ["https://a.example; script-src *"]},
                 {"key": "x", "name": "X", "allowed_origins": ["https://*.example.com"]},
                 {"key": "Bad Key", "name": "X", "allowed_origins": [ORIGIN]},
                 {"key": "x", "name": "X", "allowed_origins": [ORIGIN], "secret": "mine"}):
        answer = client.post("/api/v1/sites", headers=admin_headers, json=body)
        assert answer.status_code == 422, (body, answer.text)
    bad_patch = client.patch("/api/v1/sites/shop", headers=admin_headers, json={"allowed_origins": ["'self'"]})
    assert bad_patch.status_code == 422 and bad_patch.json()["error"]["code"] == "invalid_origin"
    assert client.patch("/api/v1/sites/nope", headers=admin_headers, json={"name": "N"}).status_code == 404
    assert client.post("/api/v1/sites/nope/rotate-secret", headers=admin_headers).status_code == 404
    assert client.delete("/api/v1/sites/nope", headers=admin_headers).status_code == 404


def test_every_site_route_needs_the_admin_scope(client, make_key, site) -> None:
    routes = [("get", "/api/v1/sites", None), ("get", "/api/v1/sites/shop", None),
              ("post", "/api/v1/sites", {"key": "b", "name": "B", "allowed_origins": [ORIGIN]}),
              ("patch", "/api/v1/sites/shop", {"name": "N"}), ("post", "/api/v1/sites/shop/rotate-secret", None),
              ("delete", "/api/v1/sites/shop", None)]
    narrow = {"Authorization": f"Bearer {make_key('surveys:write', 'surveys:read', 'webhooks:write')}"}
    for method, path, body in routes:
        kwargs = {"json": body} if body is not None else {}
        assert client.request(method, path, **kwargs).status_code == 401, path
        denied = client.request(method, path, headers=narrow, **kwargs)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_scope", path


def test_create_site_command_prints_the_secret_once_on_its_last_line(database_url, engine, capsys) -> None:
    assert main(["create-site", "--key", "blog", "--name", "Blog", "--origin", "https://blog.example.com",
                 "--origin", "http://localhost:4000"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    secret = out[-1]
    with Session(engine) as session:
        row = session.scalar(select(Site).where(Site.key == "blog"))
        assert row.allowed_origins == ["https://blog.example.com", "http://localhost:4000"]
        assert unseal(row.secret_sealed) == secret and secret not in "\n".join(out[:-1])
    assert main(["create-site", "--key", "bad", "--name", "Bad", "--origin", "https://x.example; frame-src *"]) == 2
    assert "is not an origin" in capsys.readouterr().err
