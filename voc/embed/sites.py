"""Sites: create, change origins, rotate the identity secret, delete; and check identity signatures.

The secret is shown once and stored sealed (Fernet, voc/webhooks/sealing.py): voc must read it back to
recompute signatures, so it cannot be hashed. A signature is `hex(HMAC-SHA256(secret, external_id))`,
the key being the secret string's UTF-8 bytes, as Intercom's identity verification does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlmodel import Session

from voc.db import utcnow
from voc.embed.models import Site
from voc.embed.origins import normalise_origins
from voc.embed.schemas import SiteCreate, SitePublic, SiteUpdate
from voc.errors import Conflict, Invalid, NotFound
from voc.surveys.models import Invitation
from voc.webhooks.sealing import seal, unseal

SECRET_PREFIX = "vocsite_"  # noqa: S105 - a prefix, not a secret


def new_site_secret() -> str:
    """A fresh identity secret: 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign_contact(secret: str, external_id: str) -> str:
    """What the company's backend computes for a contact: hex HMAC-SHA256 of its external id."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def signature_is_valid(site: Site, external_id: str, signature: str) -> bool:
    """Whether `signature` proves `external_id` for this site (constant-time comparison)."""
    expected = sign_contact(unseal(site.secret_sealed), external_id)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def _origins(values: list[str]) -> list[str]:
    try:
        return normalise_origins(values)
    except Invalid as exc:
        exc.details = [{"path": ["allowed_origins"], "message": exc.message}]
        raise


def create_site(session: Session, body: SiteCreate) -> tuple[Site, str]:
    """A new site and its secret's plaintext, which is never shown again."""
    origins = _origins(body.allowed_origins)
    if session.scalar(select(Site.id).where(Site.key == body.key)):
        raise Conflict(f"site {body.key!r} exists already", code="site_exists")
    secret = new_site_secret()
    site = Site(key=body.key, name=body.name, secret_sealed=seal(secret), allowed_origins=origins)
    session.add(site)
    session.flush()
    return site, secret


def get_site(session: Session, key: str) -> Site:
    site = session.scalar(select(Site).where(Site.key == key))
    if site is None:
        raise NotFound(f"no site {key!r}", code="site_not_found")
    return site


def find_site(session: Session, key: str) -> Site | None:
    """The site with this key, or None (the widget's public path: no error shapes to build)."""
    return session.scalar(select(Site).where(Site.key == key))


def list_sites(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.key)))


def update_site(session: Session, key: str, body: SiteUpdate) -> Site:
    """Rename a site or replace its allowed origins (the list given is the whole new list)."""
    site = get_site(session, key)
    if body.allowed_origins is not None:
        site.allowed_origins = _origins(body.allowed_origins)
    if body.name is not None:
        site.name = body.name
    site.updated_at = utcnow()
    session.add(site)
    session.flush()
    return site


def rotate_site_secret(session: Session, key: str) -> tuple[Site, str]:
    """A new secret, shown once; signatures made with the old one stop working at once."""
    site = get_site(session, key)
    secret = new_site_secret()
    site.secret_sealed, site.updated_at = seal(secret), utcnow()
    session.add(site)
    session.flush()
    return site, secret


def delete_site(session: Session, key: str) -> None:
    """Remove a site; its invitations stay (and stay answerable on the hosted page) but no site frames them."""
    site = get_site(session, key)
    session.execute(update(Invitation).where(Invitation.site_id == site.id).values(site_id=None)
                    .execution_options(synchronize_session=False))
    session.delete(site)
    session.flush()


def site_public(site: Site) -> SitePublic:
    return SitePublic(key=site.key, name=site.name, allowed_origins=list(site.allowed_origins),
                      created_at=site.created_at, updated_at=site.updated_at)


def framing_origins(session: Session, *, site_id: int | None = None, token_hash: str | None = None) -> list[str]:
    """The origins that may frame the survey page of a widget invitation (by its site, or by its token's
    hash when the invitation could not be opened); [] for any other invitation."""
    if site_id is None and token_hash is not None:
        site_id = session.scalar(select(Invitation.site_id).where(Invitation.token_hash == token_hash))
    if site_id is None:
        return []
    return session.scalar(select(Site.allowed_origins).where(Site.id == site_id)) or []
