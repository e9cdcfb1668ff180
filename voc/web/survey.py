"""The hosted survey page: works as a plain form without JavaScript, htmx makes it smoother."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from voc.api.deps import SessionDep
from voc.errors import Invalid, VocError
from voc.surveys import responses
from voc.surveys.answers import is_shown, scale_bounds
from voc.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
PAGE = "survey/page.html"
ANCHORS = {"nps": ("0 · Not at all likely", "10 · Extremely likely"),
           "csat": ("1 · Very unsatisfied", "5 · Very satisfied"),
           "ces": ("1 · Very difficult", "7 · Very easy"), "rating": ("Lowest", "Highest")}
_HEADINGS = {"token_invalid": "Link not found", "already_answered": "Already answered",
             "token_expired": "This survey has closed", "invitation_not_open": "Not open yet",
             "survey_inactive": "This survey has closed"}


# The API's messages name question ids; a customer reads these instead.
_CUSTOMER_MESSAGES = {"answer_required": "Please answer this question.",
                      "answer_out_of_range": "Please choose one of the points on the scale.",
                      "answer_too_long": "Please keep your answer under 10,000 characters."}


def _for_customer(error: dict[str, Any], opened: responses.OpenInvitation) -> dict[str, Any]:
    prompts = {q["id"]: q["prompt"] for q in opened.questions}
    message = _CUSTOMER_MESSAGES.get(error["code"], "Please check this answer.")
    prompt = prompts.get(error["question_id"])
    return {**error, "message": message, "summary": f"{prompt} — {message}" if prompt else message}


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    # htmx swaps the survey card in place, so it gets just that block of the page.
    return render(request, PAGE, context, status_code=status_code, block="survey" if is_htmx(request) else None)


def _problem_page(request: Request, exc: VocError) -> HTMLResponse:
    return _page(request, {"state": "problem", "title": _HEADINGS.get(exc.code, "Survey"),
                                  "heading": _HEADINGS.get(exc.code, "Something is not right"),
                                  "message": exc.message}, status_code=exc.status_code)


def _form_page(request: Request, token: str, opened: responses.OpenInvitation, values: dict[str, Any],
               errors: dict[str, dict], status_code: int = 200) -> HTMLResponse:
    answered = {**opened.prefilled, **values}
    # A conditional question shows while its condition cannot be known yet (no JavaScript needed).
    questions = [q for q in opened.questions
                 if not q.get("show_if") or q["show_if"]["question_id"] not in answered or is_shown(q, answered)]
    bounds = {q["id"]: scale_bounds(q) for q in opened.questions if q["type"] in ("nps", "csat", "ces", "rating")}
    context = {"state": "form", "title": opened.version.title, "questions": questions, "values": values,
               "errors": errors, "bounds": bounds, "anchors": ANCHORS,
               "action": request.url_for("survey_submit", token=token).path}
    return _page(request, context, status_code=status_code)


@router.get("/s/{token}", name="survey_page")
def survey_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Show the survey behind an invitation link."""
    try:
        opened = responses.load_invitation(session, token)
    except VocError as exc:
        return _problem_page(request, exc)
    responses.mark_opened(session, opened)
    return _form_page(request, token, opened, {}, {})


@router.post("/s/{token}", name="survey_submit")
async def survey_submit(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Store the customer's answers, or show the form again with what needs fixing."""
    form = await request.form()
    try:
        opened = responses.load_invitation(session, token)
    except VocError as exc:
        return _problem_page(request, exc)
    values: dict[str, Any] = {}
    for question in opened.questions:
        field = f"q_{question['id']}"
        if question["type"] == "multi_choice":
            picked = [str(v) for v in form.getlist(field)]
            if picked:
                values[question["id"]] = picked
        elif form.get(field) not in (None, ""):
            values[question["id"]] = str(form.get(field))
    try:
        responses.store_response(session, token, list(values.items()))
    except Invalid as exc:
        session.rollback()
        errors = {e["question_id"]: _for_customer(e, opened) for e in (exc.details or [])}
        errors = errors or {"_": {"question_id": "", "message": exc.message}}
        return _form_page(request, token, opened, values, errors, status_code=422 if not is_htmx(request) else 200)
    except VocError as exc:
        session.rollback()
        return _problem_page(request, exc)
    return _page(request, {"state": "thanks", "title": opened.version.title,
                                  "message": opened.version.thank_you})
