"""The hosted survey page: one question per step (or all at once), saved as the customer goes, in their
language. Plain forms work without JavaScript; htmx swaps the card in place when it is there.

URLs: GET /s/{token} resumes at the first question not answered yet (`?lang=de` picks a language and is
remembered; `?q=<question id>&v=<value>` records that answer first, the one-click links of e-mails).
POST /s/{token} with `step` (the question on screen), `q_<id>` (its answer) and `action` (next | back)
saves the step; a POST without `step` sends every answer at once (layout "page")."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.datastructures import FormData, QueryParams

from voc.db import in_transaction
from voc.embed.sites import framing_origins
from voc.errors import Busy, Invalid, VocError
from voc.surveys import partials, responses
from voc.surveys.answers import check_answer, is_blank, is_shown, scale_bounds
from voc.surveys.responses import OpenInvitation
from voc.surveys.texts import localized_questions, localized_text, pipe
from voc.surveys.tokens import hash_token
from voc.web.i18n import N_, catalog_languages, choose_language, gettext_functions, match_language
from voc.web.security import allow_framing
from voc.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)
PAGE = "survey/page.html"
SCALES = ("nps", "csat", "ces", "rating")
# What the ends of each scale mean (in English: the dashboard's preview uses these as they are).
ANCHORS = {"nps": (N_("0 · Not at all likely"), N_("10 · Extremely likely")),
           "csat": (N_("1 · Very unsatisfied"), N_("5 · Very satisfied")),
           "ces": (N_("1 · Very difficult"), N_("7 · Very easy")), "rating": (N_("Lowest"), N_("Highest"))}
DEFAULT_THANK_YOU = N_("Thank you for your feedback!")
# A customer reads these instead of the API's messages, which name question ids.
_PROBLEMS = {
    "token_invalid": (N_("Link not found"), N_("This survey link is not valid.")),
    "already_answered": (N_("Already answered"), N_("This survey has already been answered. Thank you!")),
    "token_expired": (N_("This survey has closed"), N_("This survey link has expired.")),
    "invitation_not_open": (N_("Not open yet"), N_("This survey is not open yet.")),
    "survey_inactive": (N_("This survey has closed"), N_("This survey is closed.")),
    "busy": (N_("Just a moment"), N_("Many people are answering right now. Please try again in a moment.")),
}
_SOMETHING_WRONG = (N_("Something is not right"), N_("Please try again later."))
_CUSTOMER_MESSAGES = {"answer_required": N_("Please answer this question."),
                      "answer_out_of_range": N_("Please choose one of the points on the scale."),
                      "answer_too_long": N_("Please keep your answer under 10,000 characters.")}
_CHECK_ANSWER = N_("Please check this answer.")
_ANSWER_ONE = N_("Please answer at least one question.")
Reply = Callable[[], HTMLResponse]  # a page chosen inside the transaction, rendered after it


class SurveyView:
    """One request's view of an invitation: its language, texts and how to render them."""

    def __init__(self, request: Request, token: str, opened: OpenInvitation) -> None:
        self.request, self.token, self.opened = request, token, opened
        version = opened.version
        self.requested = request.query_params.get("lang")
        self.explicit = match_language(self.requested, [version.language, *version.translations,
                                                        *sorted(catalog_languages())])
        self.language = choose_language(
            requested=self.requested, remembered=opened.partial.language if opened.partial else None,
            accept_language=request.headers.get("accept-language"), survey_language=version.language,
            translated=version.translations)
        self.words = gettext_functions(self.language)
        self.title = pipe(localized_text(version.title, version.translations, self.language, "title"),
                          opened.contact_attributes, opened.event_attributes)

    @property
    def steps(self) -> bool:
        return self.opened.version.layout != "page"

    def localized(self, questions: list[dict]) -> list[dict]:
        return localized_questions(questions, self.opened.version.translations, self.language,
                                   self.opened.contact_attributes, self.opened.event_attributes)

    def thank_you(self) -> str:
        version = self.opened.version
        text = localized_text(version.thank_you, version.translations, self.language, "thank_you")
        if not text.strip() or text == DEFAULT_THANK_YOU:
            return self.words["_"](DEFAULT_THANK_YOU)
        return pipe(text, self.opened.contact_attributes, self.opened.event_attributes)

    def for_customer(self, error: dict[str, Any]) -> dict[str, Any]:
        _ = self.words["_"]
        if not error.get("question_id") and error.get("code") == "answer_required":
            return {**error, "message": _(_ANSWER_ONE), "summary": _(_ANSWER_ONE)}
        message = _(_CUSTOMER_MESSAGES.get(error["code"], _CHECK_ANSWER))
        prompts = {q["id"]: q["prompt"] for q in self.localized(self.opened.questions)}
        prompt = prompts.get(error["question_id"])
        return {**error, "message": message, "summary": f"{prompt} — {message}" if prompt else message}

    def page(self, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        return _page(self.request, self.language, {"title": self.title, **context}, status_code)

    def base(self) -> dict[str, Any]:
        _ = self.words["_"]
        return {"action": self.request.url_for("survey_submit", token=self.token).path,
                "anchors": {kind: (_(low), _(high)) for kind, (low, high) in ANCHORS.items()},
                "bounds": {q["id"]: scale_bounds(q) for q in self.opened.questions if q["type"] in SCALES}}

    def step(self, question: dict, *, error: dict | None = None, value: Any = None, focus: bool = True,
             autosubmit: bool = False, status_code: int = 200) -> HTMLResponse:
        """One question on its own, with where it stands and the way back and on."""
        shown = partials.shown(self.opened)
        ids = [q["id"] for q in shown]
        position = ids.index(question["id"]) + 1 if question["id"] in ids else 1
        later = self.opened.questions[[q["id"] for q in self.opened.questions].index(question["id"]) + 1:]
        # The last step sends; unless its own answer could still bring up a later question.
        last = position == len(ids) and not any((q.get("show_if") or {}).get("question_id") == question["id"]
                                               for q in later)
        if value is None:
            value = self.opened.saved.get(question["id"])
        errors = {question["id"]: self.for_customer(error)} if error else {}
        # "Question k" and a bar: k only grows as the customer goes on, and so does the bar, measured
        # against the most questions still possible (a total that changed with each answer read oddly).
        most = max(partials.most_steps(self.opened), len(ids), position)
        context = {**self.base(), "state": "step", "q": self.localized([question])[0], "value": value,
                   "errors": errors, "position": position, "progress": round(100 * position / most),
                   "first": position == 1, "last": last, "focus": focus and not autosubmit,
                   "autosubmit": autosubmit}
        return self.page(context, status_code)

    def form(self, values: dict[str, Any], errors: dict[str, dict], status_code: int = 200) -> HTMLResponse:
        """Every question at once (layout "page")."""
        answered = {**self.opened.prefilled, **values}
        # A conditional question shows while its condition cannot be known yet (no JavaScript needed).
        questions = [q for q in self.opened.questions
                     if not q.get("show_if") or q["show_if"]["question_id"] not in answered or is_shown(q, answered)]
        context = {**self.base(), "state": "form", "questions": self.localized(questions), "values": values,
                   "errors": errors}
        return self.page(context, status_code)

    def thanks(self) -> HTMLResponse:
        return self.page({"state": "thanks", "message": self.thank_you()})


def _page(request: Request, language: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    # htmx swaps the survey card in place, so it gets just that block of the page.
    return render(request, PAGE, {**gettext_functions(language), "lang": language, **context},
                  status_code=status_code, block="survey" if is_htmx(request) else None)


def _frame_for_site(request: Request, origins: list[str]) -> None:
    """An invitation made by the embed widget may be shown in its site's iframe; any other never."""
    if origins:
        allow_framing(request, origins)


def _problem_page(request: Request, token: str, exc: VocError, session: Session | None = None) -> Reply:
    """Why the survey cannot be answered, in the customer's language (a thunk, rendered off the loop)."""
    if session is not None:
        _frame_for_site(request, framing_origins(session, token_hash=hash_token(token)))
    languages = sorted(catalog_languages())
    language = choose_language(requested=request.query_params.get("lang"), remembered=None,
                               accept_language=request.headers.get("accept-language"), survey_language="en",
                               translated=languages)
    _ = gettext_functions(language)["_"]
    heading, message = _PROBLEMS.get(exc.code, _SOMETHING_WRONG)
    # htmx swaps only 2xx answers: a step posted after the survey closed still shows why.
    status_code = 200 if is_htmx(request) else exc.status_code

    def reply() -> HTMLResponse:
        response = _page(request, language, {"state": "problem", "title": _(heading), "heading": _(heading),
                                              "message": _(message)}, status_code=status_code)
        response.headers.update(exc.headers or {})
        return response

    return reply


def _open(request: Request, session: Session, token: str) -> SurveyView:
    opened = responses.load_invitation(session, token)
    _frame_for_site(request, framing_origins(session, site_id=opened.site_id))
    return SurveyView(request, token, opened)


def _value(source: FormData | QueryParams, name: str, question: dict) -> Any:
    if question["type"] == "multi_choice":
        return [str(v) for v in source.getlist(name)]
    value = source.get(name)
    return None if value is None else str(value)


async def _answer(request: Request, token: str, work: Callable[..., Reply], *args: Any) -> HTMLResponse:
    """Run `work(session, request, token, *args)` in a transaction, then render the page it chose.

    Database work never runs on the event loop (see voc.db.in_transaction: on SQLite the one writer
    thread, which commits the answers that arrive together in one go), so a crowd of customers
    answering at once never stalls the server for the others. The page is rendered here, on the loop:
    half a millisecond of CPU, less than a hop to a thread would cost (and a burst that needs new pool
    threads holds the loop while each one starts)."""
    try:
        reply = await in_transaction(request.app.state.engine, work, request, token, *args)
    except Busy as exc:
        reply = _problem_page(request, token, exc)
    return reply()


@router.get("/s/{token}", name="survey_page")
async def survey_page(token: str, request: Request) -> HTMLResponse:
    """Show the survey behind an invitation link, where the customer left it."""
    return await _answer(request, token, _show)


def _show(session: Session, request: Request, token: str) -> Reply:
    try:
        survey = _open(request, session, token)
    except VocError as exc:
        return _problem_page(request, token, exc, session)
    opened = survey.opened
    if survey.explicit:
        partials.remember_language(session, opened, survey.explicit)
    responses.mark_opened(session, opened)
    clicked = partials.find_shown(opened, request.query_params.get("q"))
    if clicked is not None:
        # A one-click answer from an e-mail. Mail scanners (Outlook's Safe Links and the like) fetch
        # every link of a message, so a GET stores nothing: the score shows selected, and the page's
        # script sends it at once (a customer without JavaScript presses Next or Send).
        value = _value(request.query_params, "v", clicked)
        valid = not is_blank(value) and not isinstance(check_answer(clicked, value), dict)
        if survey.steps:
            return partial(survey.step, clicked, value=value if valid else None, autosubmit=valid)
        return partial(survey.form, {**_saved_values(opened), **({clicked["id"]: value} if valid else {})}, {})
    if not survey.steps or not opened.questions:
        return partial(survey.form, _saved_values(opened), {})
    return partial(survey.step, partials.resume_step(opened) or partials.shown(opened)[-1], focus=False)


def _saved_values(opened: OpenInvitation) -> dict[str, Any]:
    return {qid: value for qid, value in opened.saved.items() if value is not None}


@router.post("/s/{token}", name="survey_submit")
async def survey_submit(token: str, request: Request) -> HTMLResponse:
    """Save the step and show the next one (or send everything), or show what needs fixing."""
    return await _answer(request, token, _submit, await request.form())


def _submit(session: Session, request: Request, token: str, form: FormData) -> Reply:
    try:
        survey = _open(request, session, token)
    except VocError as exc:
        return _problem_page(request, token, exc, session)
    if form.get("step") is None or not survey.steps:
        return _send_all(session, survey, form)
    opened = survey.opened
    question = partials.find_shown(opened, str(form.get("step")))
    if question is None:  # a stale form (the answers changed which questions show): go on from where things are
        return partial(survey.step, partials.resume_step(opened) or partials.shown(opened)[-1])
    value = _value(form, f"q_{question['id']}", question)
    responses.mark_opened(session, opened)
    if form.get("action") == "back":
        partials.keep_unchecked(session, opened, question, value)
        return partial(survey.step, partials.step_before(opened, question["id"]) or question)
    checked = partials.save_step(session, opened, question, value)
    if isinstance(checked, dict):
        return partial(survey.step, question, error=checked, value=value, status_code=_refused(request))
    following = partials.step_after(opened, question["id"])
    if following is not None:
        return partial(survey.step, following)
    return _complete(session, survey)


def _refused(request: Request) -> int:
    # htmx does not swap 4xx answers; a plain form post hears 422.
    return 200 if is_htmx(request) else 422


def _store(session: Session, survey: SurveyView, given: list[tuple[str, Any]]) -> None:
    """store_response in a savepoint: a refused response takes back only its own changes (the steps and
    the opening recorded by this request stay, as do the other answers committed with it)."""
    with session.begin_nested():
        responses.store_response(session, survey.token, given)


def _complete(session: Session, survey: SurveyView) -> Reply:
    """The last step is left: store the response from what was saved (the same rules as the API)."""
    try:
        _store(session, survey, [])
    except Invalid as exc:  # nothing was written by the refused call: the steps saved so far stay
        problems = exc.details or [{"question_id": "", "code": exc.code, "message": exc.message}]
        question = partials.find_shown(survey.opened, problems[0]["question_id"])
        if question is None:
            question = partials.resume_step(survey.opened) or partials.shown(survey.opened)[0]
        return partial(survey.step, question, error={**problems[0], "question_id": question["id"]},
                       status_code=_refused(survey.request))
    except VocError as exc:
        return _problem_page(survey.request, survey.token, exc, session)
    return survey.thanks


def _send_all(session: Session, survey: SurveyView, form: FormData) -> Reply:
    """Every answer in one post (layout "page", or a form without steps)."""
    values: dict[str, Any] = {}
    for question in survey.opened.questions:
        value = _value(form, f"q_{question['id']}", question)
        if not is_blank(value):
            values[question["id"]] = value
    try:
        _store(session, survey, list(values.items()))
    except Invalid as exc:
        errors = {e["question_id"]: survey.for_customer(e) for e in (exc.details or [])}
        errors = errors or {"_": survey.for_customer({"question_id": "", "code": exc.code, "message": exc.message})}
        return partial(survey.form, {**_saved_values(survey.opened), **values}, errors,
                       status_code=_refused(survey.request))
    except VocError as exc:
        return _problem_page(survey.request, survey.token, exc, session)
    return survey.thanks
