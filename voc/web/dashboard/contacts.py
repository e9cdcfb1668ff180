"""Dashboard: one customer's experience across touchpoints."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse

from voc import audit
from voc.api.deps import SessionDep
from voc.contacts.privacy import contact_hash, erase_contact, export_contact
from voc.errors import Invalid
from voc.explore.service import find_contacts
from voc.explore.timeline import contact_story
from voc.sentiment.model import DIMENSIONS
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard.common import page

router = APIRouter()


def contact_href(external_id: str, crm: str | None = None) -> str:
    """The contact page's URL; the id is percent-encoded, as a CRM's id may hold any character."""
    query = f"?{urlencode({'crm': crm})}" if crm else ""
    return f"/dashboard/contacts/{quote(external_id, safe='')}{query}"


@router.post("/dashboard/contact-export", name="dashboard_contact_export", dependencies=[CsrfChecked])
def contact_export(request: Request, user: Admin, session: SessionDep, external_id: Annotated[str, Form()],
                   crm: Annotated[str, Form()] = "") -> JSONResponse:
    """Everything voc holds about the customer, as a JSON file (a data subject's access request). A POST
    with the CSRF token: the export is logged, and no other site can make an admin's browser ask for it."""
    document = export_contact(session, external_id, crm or None)
    contact = document["contact"]
    audit.record(session, audit.actor_from_request(request, user=user), "contact.exported", "contact",
                 contact_hash(contact["crm"], contact["external_id"]))
    name = "voc-contact-" + "".join(ch if ch.isalnum() else "-" for ch in external_id)[:60] + ".json"
    return JSONResponse(document, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/dashboard/contact-erase", name="dashboard_contact_erase", dependencies=[CsrfChecked])
def contact_erase(request: Request, user: Admin, session: SessionDep, external_id: Annotated[str, Form()],
                  confirm: Annotated[str, Form()] = "", crm: Annotated[str, Form()] = "") -> HTMLResponse:
    """Erase the customer's personal data (after the admin ticked the confirmation)."""
    if confirm != "yes":
        raise Invalid("tick the confirmation to erase this customer's data", code="confirmation_required")
    erasure = erase_contact(session, external_id, crm or None)
    audit.record(session, audit.actor_from_request(request, user=user), "contact.erased", "contact",
                 erasure.contact, after=erasure.counts)
    return page(request, user, "dashboard/erased.html", {"title": "Customer erased", "erasure": erasure})


@router.get("/dashboard/contacts/{external_id:path}", name="dashboard_contact")
def contact_page(external_id: str, request: Request, user: Viewer, session: SessionDep,
                 crm: str | None = None) -> HTMLResponse:
    """The customer's summary and timeline; a choice when several CRMs share the id; 404 when unknown."""
    contacts = find_contacts(session, external_id, crm or None)
    context = {"title": f"Customer {external_id}", "external_id": external_id, "crm": crm, "contacts": contacts,
               "story": contact_story(session, contacts[0]) if len(contacts) == 1 else None,
               "dimensions": DIMENSIONS, "contact_href": contact_href}
    return page(request, user, "dashboard/contact.html", context, status_code=404 if not contacts else 200)
