"""Embed sites over JSON (admin scope): the secret is in the answer to create and rotate, and only there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from voc import audit
from voc.api.deps import AdminActor, SessionDep, api_key
from voc.api.errors import BODY_ERRORS, KEYED_ERRORS, WRITE_ERRORS, error_responses
from voc.auth.models import ApiKey
from voc.embed import sites
from voc.embed.schemas import SiteCreate, SiteCreated, SitePublic, SiteSecretRotated, SiteUpdate

router = APIRouter(prefix="/sites", tags=["embed sites"], responses=error_responses(KEYED_ERRORS))
_NO_SITE = {404: ("site_not_found",)}
_ORIGIN_ERRORS = {422: ("invalid_origin",)}
SitesAdmin = Annotated[ApiKey, Depends(api_key("admin"))]


@router.post("", status_code=201, response_model=SiteCreated,
             responses=error_responses(KEYED_ERRORS, BODY_ERRORS, {409: ("site_exists",)}, _ORIGIN_ERRORS))
def create_site(body: SiteCreate, session: SessionDep, actor: AdminActor) -> SiteCreated:
    """Add a site; the answer carries its identity-verification secret, shown this once."""
    site, secret = sites.create_site(session, body)
    audit.record(session, actor, "site.created", "site", site.key, after=sites.site_public(site))
    return SiteCreated(**sites.site_public(site).model_dump(), secret=secret)


@router.get("", response_model=list[SitePublic])
def list_sites(session: SessionDep, _key: SitesAdmin) -> list[SitePublic]:
    return [sites.site_public(s) for s in sites.list_sites(session)]


@router.get("/{key}", response_model=SitePublic, responses=error_responses(KEYED_ERRORS, _NO_SITE))
def get_site(key: str, session: SessionDep, _key: SitesAdmin) -> SitePublic:
    return sites.site_public(sites.get_site(session, key))


@router.patch("/{key}", response_model=SitePublic,
              responses=error_responses(KEYED_ERRORS, BODY_ERRORS, _NO_SITE, _ORIGIN_ERRORS))
def update_site(key: str, body: SiteUpdate, session: SessionDep, actor: AdminActor) -> SitePublic:
    """Rename a site or replace its allowed origins."""
    before = audit.state(sites.site_public(sites.get_site(session, key)))
    after = sites.site_public(sites.update_site(session, key, body))
    audit.record(session, actor, "site.updated", "site", key, before=before, after=after)
    return after


@router.post("/{key}/rotate-secret", response_model=SiteSecretRotated,
             responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, _NO_SITE))
def rotate_site_secret(key: str, session: SessionDep, actor: AdminActor) -> SiteSecretRotated:
    """A new secret, shown once; signatures made with the old one fail from now on."""
    site, secret = sites.rotate_site_secret(session, key)
    audit.record(session, actor, "site.secret_rotated", "site", key)
    return SiteSecretRotated(key=site.key, secret=secret)


@router.delete("/{key}", status_code=204, responses=error_responses(KEYED_ERRORS, WRITE_ERRORS, _NO_SITE))
def delete_site(key: str, session: SessionDep, actor: AdminActor) -> Response:
    before = audit.state(sites.site_public(sites.get_site(session, key)))
    sites.delete_site(session, key)
    audit.record(session, actor, "site.deleted", "site", key, before=before)
    return Response(status_code=204)
