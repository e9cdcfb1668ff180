"""The `data` of each webhook event, built from stored rows in the shapes of `samples.py`.

Ids go out as strings, as in the samples: a custom template is validated against the samples, so
real data must have the same types or a template that passed could fail at send time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from voc.surveys.events import invitation_url
from voc.surveys.experience import analysis_data, experience_summary, iso, row_key
from voc.surveys.models import Answer, Contact, Invitation, Response, Survey, Touchpoint
from voc.surveys.responses import contact_ref

__all__ = ["experience_summary", "experience_updated_data", "invitation_created_data", "response_analyzed_data",
           "response_completed_data"]


def invitation_created_data(session: Session, invitation: Invitation) -> dict[str, Any]:
    """invitation.created: the survey link, so the CRM's own mail tool can send it."""
    return {
        "contact": contact_ref(session.get(Contact, invitation.contact_id)),
        "invitation": {
            "id": str(invitation.id),
            "url": invitation_url(invitation),
            "survey": row_key(session, Survey, invitation.survey_id),
            "touchpoint": row_key(session, Touchpoint, invitation.touchpoint_id),
            "expires_at": iso(invitation.expires_at),
            "channel": invitation.channel,
        },
    }


def response_completed_data(session: Session, response: Response) -> dict[str, Any]:
    """response.completed: the answers and scores as the customer gave them."""
    answers = session.scalars(select(Answer).where(Answer.response_id == response.id).order_by(Answer.id))
    return {
        "contact": contact_ref(session.get(Contact, response.contact_id)),
        "response": {
            "id": str(response.id),
            "survey": row_key(session, Survey, response.survey_id),
            "touchpoint": row_key(session, Touchpoint, response.touchpoint_id),
            "completed_at": iso(response.completed_at),
            "answers": [{"question_id": a.question_id, "type": a.type, "value": a.value} for a in answers],
            "scores": {"nps": response.nps, "csat": response.csat, "ces": response.ces},
        },
    }


def response_analyzed_data(session: Session, response: Response) -> dict[str, Any]:
    """response.analyzed: sentiment, the five dimensions, themes and the score/text mismatch flag."""
    return {
        "contact": contact_ref(session.get(Contact, response.contact_id)),
        "response_id": str(response.id),
        "survey": row_key(session, Survey, response.survey_id),
        "touchpoint": row_key(session, Touchpoint, response.touchpoint_id),
        "analysis": analysis_data(response),
    }


def experience_updated_data(session: Session, contact: Contact) -> dict[str, Any]:
    """contact.experience_updated: the rolling summary a CRM stores on the contact."""
    return {"contact": contact_ref(contact), "summary": experience_summary(session, contact)}
