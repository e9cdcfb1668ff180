"""Settings › Sites: the web properties that embed the widget, with the origins allowed to frame it.

Everyone signed in sees the sites and their origins; admins add, change, rotate and delete them (as the
/api/v1/sites routes do). A site's identity secret shows once, on the page creation or rotation redirects
to; voc keeps it sealed to check signatures and never shows it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voc import audit
from voc.api.deps import SessionDep
from voc.auth.models import User
from voc.config import get_settings
from voc.embed import sites
from voc.embed.schemas import SiteCreate, SiteUpdate
from voc.errors import VocError
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.settings.common import acting, done, refused, section_page

router = APIRouter()
TEMPLATE = "dashboard/settings/sites.html"


def _origins(text: str) -> list[str]:
    """One origin per line (or separated by spaces or commas), as typed in the form."""
    return [part for part in text.replace(",", " ").split() if part]


def _sites_page(request: Request, user: User, session: Session, *, status_code: int = 200,
                **extra: Any) -> HTMLResponse:
    context = {"sites": [sites.site_public(s) for s in sites.list_sites(session)],
               "base_url": get_settings().base_url.rstrip("/"), **extra}
    return section_page(request, user, TEMPLATE, context, status_code=status_code)


def _again(request: Request, user: User, session: Session) -> Callable[..., HTMLResponse]:
    """This page again, for `refused`."""
    return lambda **kw: _sites_page(request, user, session, **kw)


@router.get("/dashboard/settings/sites", name="settings_sites")
def sites_page(request: Request, user: Viewer, session: SessionDep) -> HTMLResponse:
    return _sites_page(request, user, session)


@router.post("/dashboard/settings/sites", name="settings_site_create", dependencies=[CsrfChecked])
def create_site(request: Request, user: Admin, session: SessionDep, key: Annotated[str, Form()] = "",
                name: Annotated[str, Form()] = "", origins: Annotated[str, Form()] = "") -> Response:
    """Add a site: its identity secret shows once, on the page this redirects to."""
    try:
        site, secret = sites.create_site(session, SiteCreate(key=key.strip(), name=name.strip(),
                                                             allowed_origins=_origins(origins)))
    except (ValidationError, VocError) as exc:
        return refused(session, exc, _again(request, user, session),
                       form={"site_key": key, "site_name": name, "origins": origins})
    audit.record(session, acting(request, user), "site.created", "site", site.key, after=sites.site_public(site))
    return done(request, "settings_sites", notice="site_created", kind="site_secret", about=site.key, secret=secret)


@router.post("/dashboard/settings/sites/{key}", name="settings_site_update", dependencies=[CsrfChecked])
def update_site(request: Request, key: str, user: Admin, session: SessionDep, name: Annotated[str, Form()] = "",
                origins: Annotated[str, Form()] = "") -> Response:
    """Rename a site and replace its allowed origins (the list given is the whole new list)."""
    try:
        before = audit.state(sites.site_public(sites.get_site(session, key)))
        after = sites.site_public(sites.update_site(session, key, SiteUpdate(
            name=name.strip() or None, allowed_origins=_origins(origins))))
    except (ValidationError, VocError) as exc:
        return refused(session, exc, _again(request, user, session))
    audit.record(session, acting(request, user), "site.updated", "site", key, before=before, after=after)
    return done(request, "settings_sites", notice="site_updated", anchor=f"#site-{key}")


@router.post("/dashboard/settings/sites/{key}/rotate-secret", name="settings_site_rotate",
             dependencies=[CsrfChecked])
def rotate_site_secret(request: Request, key: str, user: Admin, session: SessionDep) -> Response:
    """A new secret, shown once; signatures made with the old one fail from now on."""
    site, secret = sites.rotate_site_secret(session, key)
    audit.record(session, acting(request, user), "site.secret_rotated", "site", key)
    return done(request, "settings_sites", notice="site_secret_rotated", kind="site_secret", about=site.key,
                secret=secret)


@router.post("/dashboard/settings/sites/{key}/delete", name="settings_site_delete", dependencies=[CsrfChecked])
def delete_site(request: Request, key: str, user: Admin, session: SessionDep) -> Response:
    before = audit.state(sites.site_public(sites.get_site(session, key)))
    sites.delete_site(session, key)
    audit.record(session, acting(request, user), "site.deleted", "site", key, before=before)
    return done(request, "settings_sites", notice="site_deleted")
