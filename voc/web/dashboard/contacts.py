"""Dashboard: one customer's experience across touchpoints."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.api.deps import SessionDep
from voc.explore.service import find_contacts
from voc.explore.timeline import contact_story
from voc.sentiment.model import DIMENSIONS
from voc.web.auth import Viewer
from voc.web.dashboard.common import page

router = APIRouter()


def contact_href(external_id: str, crm: str | None = None) -> str:
    """The contact page's URL; the id is percent-encoded, as a CRM's id may hold any character."""
    query = f"?{urlencode({'crm': crm})}" if crm else ""
    return f"/dashboard/contacts/{quote(external_id, safe='')}{query}"


@router.get("/dashboard/contacts/{external_id:path}", name="dashboard_contact")
def contact_page(external_id: str, request: Request, user: Viewer, session: SessionDep,
                 crm: str | None = None) -> HTMLResponse:
    """The customer's summary and timeline; a choice when several CRMs share the id; 404 when unknown."""
    contacts = find_contacts(session, external_id, crm or None)
    context = {"title": f"Customer {external_id}", "external_id": external_id, "crm": crm, "contacts": contacts,
               "story": contact_story(session, contacts[0]) if len(contacts) == 1 else None,
               "dimensions": DIMENSIONS, "contact_href": contact_href}
    return page(request, user, "dashboard/contact.html", context, status_code=404 if not contacts else 200)
