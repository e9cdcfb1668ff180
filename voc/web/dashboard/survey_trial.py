"""Dashboard: trying a survey once it is active: a copyable test link and "Send me a test invitation".

Both make a test invitation for the signed-in user (voc.surveys.trial): its response is marked and left out of
every figure, follow-up and webhook. Each form posts, then redirects to the survey's page (no resubmit on
reload), which shows the link or what went wrong."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from voc import audit
from voc.api.deps import SessionDep
from voc.auth.models import User
from voc.errors import VocError
from voc.surveys import service, trial
from voc.surveys.events import invitation_url
from voc.surveys.models import Survey
from voc.web.auth import Admin, CsrfChecked

router = APIRouter()


def test_link(session: SessionDep, survey: Survey, user: User) -> str | None:
    """The signed-in user's open test link to the survey, if there is one."""
    invitation = trial.open_test_invitation(session, survey, user.email)
    return invitation_url(invitation) if invitation else None


def make_test_invitation(request: Request, session: SessionDep, survey: Survey, user: User, channel: str) -> None:
    """A test invitation for the user, recorded in the audit log."""
    invitation = trial.create_test_invitation(session, survey, user.email, channel=channel)
    audit.record(session, audit.actor_from_request(request, user=user), "survey.test_invitation_created",
                 "survey", survey.key, after={"invitation_id": invitation.id, "channel": channel})


def _make_and_go_back(request: Request, session: SessionDep, key: str, user: User, channel: str) -> RedirectResponse:
    """make_test_invitation, then back to the survey's page, which shows the link or the e-mail sent, or why
    nothing was made."""
    survey = service.get_survey(session, key)
    try:
        make_test_invitation(request, session, survey, user, channel)
    except VocError as exc:
        session.rollback()
        return _back(request, key, test_error=exc.code)
    return _back(request, key, test=channel)


def _back(request: Request, key: str, **params: str) -> RedirectResponse:
    target = request.url_for("dashboard_survey", key=key).include_query_params(**params)
    return RedirectResponse(f"{target}#try-it", status_code=303)


@router.post("/dashboard/surveys/{key}/test-link", name="survey_test_link", dependencies=[CsrfChecked])
def new_test_link(request: Request, key: str, user: Admin, session: SessionDep) -> RedirectResponse:
    """A fresh test link for the signed-in user (each link answers once)."""
    return _make_and_go_back(request, session, key, user, "link")


@router.post("/dashboard/surveys/{key}/test-email", name="survey_test_email", dependencies=[CsrfChecked])
def send_test_invitation(request: Request, key: str, user: Admin, session: SessionDep) -> RedirectResponse:
    """E-mail the signed-in user a test invitation, through the worker like a customer's."""
    return _make_and_go_back(request, session, key, user, "email")
