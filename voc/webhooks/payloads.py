"""The `data` of each webhook event, built from stored rows in the shapes of `samples.py`.

Ids go out as strings, as in the samples: a custom template is validated against the samples, so
real data must have the same types or a template that passed could fail at send time.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from voc.db import Prepared
from voc.surveys.events import invitation_url
from voc.surveys.experience import analysis_data, experience_summary, iso, row_key
from voc.surveys.models import Answer, Contact, Invitation, Response, Survey, Touchpoint, answer_value
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


_A, _C, _S, _T = Answer.__table__, Contact.__table__, Survey.__table__, Touchpoint.__table__
# Every answer's job runs these (voc.db.Prepared: no ORM objects to build and throw away).
_NAMES = Prepared(select(_C.c.external_id, _C.c.crm, _S.c.key, _T.c.key)
                  .select_from(_C.join(_S, _S.c.id == bindparam("survey"))
                               .outerjoin(_T, _T.c.id == bindparam("touchpoint")))
                  .where(_C.c.id == bindparam("contact")))
_ANSWERS = Prepared(select(_A.c.question_id, _A.c.type, _A.c.number, _A.c.text, _A.c.choices)
                    .where(_A.c.response_id == bindparam("response")).order_by(_A.c.id))


def response_completed_data(session: Session, response: Response) -> dict[str, Any]:
    """response.completed: the answers and scores as the customer gave them."""
    connection = session.connection()
    external_id, crm, survey, touchpoint = _NAMES.first(connection, {
        "contact": response.contact_id, "survey": response.survey_id, "touchpoint": response.touchpoint_id})
    answers = _ANSWERS.all(connection, {"response": response.id})
    return {
        "contact": contact_ref(SimpleNamespace(external_id=external_id, crm=crm)),
        "response": {
            "id": str(response.id),
            "survey": survey,
            "touchpoint": touchpoint,
            "completed_at": iso(response.completed_at),
            "answers": [{"question_id": question_id, "type": kind, "value": answer_value(number, text, choices)}
                        for question_id, kind, number, text, choices in answers],
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
