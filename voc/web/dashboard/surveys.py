"""Dashboard: the surveys, and the editor admins create and change them with.

The editor is one form. Structural buttons (add, remove, move a question; add or remove a trigger or a
condition) post the whole form back and get the form again with the change and nothing saved: htmx
swaps only the question or trigger list, a browser without JavaScript gets the whole page. "Save"
goes through `create_survey` / `update_survey`, the same validation as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from voc import audit
from voc.analytics.choices import choice_charts
from voc.analytics.service import resolve_filters
from voc.api.deps import SessionDep
from voc.auth.models import User
from voc.config import get_settings
from voc.errors import VocError
from voc.surveys import overlaps, service, trial
from voc.surveys.answers import scale_bounds
from voc.surveys.metrics import SMALL_SAMPLE
from voc.surveys.models import Survey, SurveyStatus
from voc.surveys.schemas import SurveyCreate, SurveyUpdate
from voc.surveys.texts import localized_questions, localized_text, pipe, translation_for
from voc.web.auth import Admin, CsrfChecked, Viewer
from voc.web.dashboard import survey_translations, survey_trial
from voc.web.dashboard.common import page
from voc.web.forms import FormDep
from voc.web.i18n import DEFAULT_LANGUAGE, gettext_functions
from voc.web.security import allow_framing
from voc.web.survey import ANCHORS
from voc.web.templating import is_htmx, render, templates

router = APIRouter()
LIST, EDIT, PREVIEW = "dashboard/surveys.html", "dashboard/survey_edit.html", "dashboard/survey_preview.html"
SURVEY = "dashboard/survey.html"
CUSTOMER_PAGE = "survey/page.html"  # the customer's survey page (voc/web/survey.py), shown by the previews
QUESTION_TYPES = {"nps": "NPS (0–10)", "csat": "CSAT (1–5)", "ces": "CES (1–7)", "rating": "Rating (1 to scale)",
                  "single_choice": "Single choice", "multi_choice": "Multiple choice", "text": "Free text"}
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
CHANNELS = ("link", "email", "embed")


# --- the draft: what the form holds, as strings, in the order shown ---------------------------------

def _blank_question(index: int) -> dict[str, Any]:
    return {"id": f"q{index + 1}", "type": "text", "prompt": "", "required": False, "scale": "", "options": "",
            "attribute": "", "show_if_question": "", "show_if_op": "eq", "show_if_value": ""}


def _blank_trigger() -> dict[str, Any]:
    return {"touchpoint": "", "sample_rate": "1", "delay_minutes": "0", "expires_after_hours": "",
            "channel": "link", "conditions": []}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def draft_of(survey: Survey | None) -> dict[str, Any]:
    """The editor's draft for a stored survey (or a new one)."""
    if survey is None:
        return {"key": "", "title": "", "recontact_days": "30", "thank_you": "Thank you for your feedback!",
                "questions": [{**_blank_question(0), "id": "nps", "type": "nps", "required": True,
                               "prompt": "How likely are you to recommend us to a friend or colleague?"}],
                "triggers": []}
    questions = []
    for q in survey.questions:
        rule = q.get("show_if") or {}
        questions.append({"id": q["id"], "type": q["type"], "prompt": q["prompt"], "required": q.get("required", False),
                          "scale": _text(q.get("scale")), "options": "\n".join(q.get("options") or []),
                          "attribute": q.get("attribute") or "", "show_if_question": rule.get("question_id", ""),
                          "show_if_op": rule.get("op", "eq"), "show_if_value": _text(rule.get("value"))})
    triggers = [{"touchpoint": t["touchpoint"], "sample_rate": _text(t.get("sample_rate", 1)),
                 "delay_minutes": _text(t.get("delay_minutes", 0)),
                 "expires_after_hours": _text(t.get("expires_after_hours")), "channel": t.get("channel", "link"),
                 "conditions": [{"attribute": c["attribute"], "op": c.get("op", "eq"), "value": _text(c.get("value"))}
                                for c in t.get("conditions", [])]}
                for t in survey.triggers]
    return {"key": survey.key, "title": survey.title, "recontact_days": _text(survey.recontact_days),
            "thank_you": survey.thank_you, "questions": questions, "triggers": triggers}


def _indexes(form: FormData, prefix: str) -> list[int]:
    found = {int(name.split("-")[1]) for name in form if name.startswith(prefix) and name.split("-")[1].isdigit()}
    return sorted(found)


def draft_from_form(form: FormData) -> dict[str, Any]:
    """The draft as posted (every field kept as typed, so an error shows what the admin wrote)."""
    get = lambda name, default="": str(form.get(name, default))  # noqa: E731
    questions = [{"id": get(f"q-{i}-id").strip(), "type": get(f"q-{i}-type", "text"), "prompt": get(f"q-{i}-prompt"),
                  "required": f"q-{i}-required" in form, "scale": get(f"q-{i}-scale").strip(),
                  "options": get(f"q-{i}-options"), "attribute": get(f"q-{i}-attribute").strip(),
                  "show_if_question": get(f"q-{i}-show_if_question").strip(),
                  "show_if_op": get(f"q-{i}-show_if_op", "eq"), "show_if_value": get(f"q-{i}-show_if_value")}
                 for i in _indexes(form, "q-")]
    triggers = []
    for i in _indexes(form, "t-"):
        conditions = [{"attribute": get(f"t-{i}-c-{j}-attribute").strip(), "op": get(f"t-{i}-c-{j}-op", "eq"),
                       "value": get(f"t-{i}-c-{j}-value")}
                      for j in sorted({int(n.split("-")[3]) for n in form
                                       if n.startswith(f"t-{i}-c-") and n.split("-")[3].isdigit()})]
        triggers.append({"touchpoint": get(f"t-{i}-touchpoint"), "sample_rate": get(f"t-{i}-sample_rate", "1"),
                         "delay_minutes": get(f"t-{i}-delay_minutes", "0"),
                         "expires_after_hours": get(f"t-{i}-expires_after_hours"),
                         "channel": get(f"t-{i}-channel", "link"), "conditions": conditions})
    return {"key": get("key").strip(), "title": get("title"), "recontact_days": get("recontact_days", "30"),
            "thank_you": get("thank_you"), "questions": questions, "triggers": triggers}


def apply_action(draft: dict[str, Any], action: str) -> str | None:
    """Change the draft as a structural button asks; returns the block to re-render, or None for other actions."""
    name, _, arg = action.partition(":")
    questions, triggers = draft["questions"], draft["triggers"]
    numbers = [int(part) for part in arg.split(":") if part.isdigit()]
    if name == "add_question":
        taken = {q["id"] for q in questions}
        blank = _blank_question(len(questions))
        n = len(questions) + 1
        while blank["id"] in taken:
            n += 1
            blank["id"] = f"q{n}"
        questions.append(blank)
        return "questions"
    if name in ("remove_question", "up", "down") and numbers and 0 <= numbers[0] < len(questions):
        i = numbers[0]
        if name == "remove_question":
            questions.pop(i)
        elif name == "up" and i > 0:
            questions[i - 1], questions[i] = questions[i], questions[i - 1]
        elif name == "down" and i < len(questions) - 1:
            questions[i + 1], questions[i] = questions[i], questions[i + 1]
        return "questions"
    if name == "add_trigger":
        triggers.append(_blank_trigger())
        return "triggers"
    if name == "remove_trigger" and numbers and 0 <= numbers[0] < len(triggers):
        triggers.pop(numbers[0])
        return "triggers"
    if name == "add_condition" and numbers and 0 <= numbers[0] < len(triggers):
        triggers[numbers[0]]["conditions"].append({"attribute": "", "op": "eq", "value": ""})
        return "triggers"
    if name == "remove_condition" and len(numbers) == 2 and 0 <= numbers[0] < len(triggers):
        conditions = triggers[numbers[0]]["conditions"]
        if 0 <= numbers[1] < len(conditions):
            conditions.pop(numbers[1])
        return "triggers"
    return None


# --- from the draft to the API's shapes ----------------------------------------------------------------

def _number(text: str) -> Any:
    """A number if the text is one; otherwise the text, for pydantic to refuse next to its field."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _value(text: str, op: str) -> Any:
    if op == "exists":
        return None
    if op == "in":
        return [_number(part) for part in text.split(",") if part.strip()]
    return _number(text) if text.strip() else text


def survey_body(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft as the JSON the API takes."""
    questions = []
    for q in draft["questions"]:
        body: dict[str, Any] = {"id": q["id"], "type": q["type"], "prompt": q["prompt"].strip(),
                                "required": q["required"]}
        if q["type"] in ("single_choice", "multi_choice"):
            body["options"] = [line.strip() for line in q["options"].splitlines() if line.strip()]
        if q["type"] == "rating" and q["scale"]:
            body["scale"] = _number(q["scale"])
        if q["attribute"]:
            body["attribute"] = q["attribute"]
        if q["show_if_question"]:
            body["show_if"] = {"question_id": q["show_if_question"], "op": q["show_if_op"],
                               "value": _value(q["show_if_value"], q["show_if_op"])}
        questions.append(body)
    triggers = []
    for t in draft["triggers"]:
        trigger: dict[str, Any] = {"touchpoint": t["touchpoint"], "sample_rate": _number(t["sample_rate"] or "1"),
                                   "delay_minutes": _number(t["delay_minutes"] or "0"), "channel": t["channel"],
                                   "conditions": [{"attribute": c["attribute"], "op": c["op"],
                                                   "value": _value(c["value"], c["op"])}
                                                  for c in t["conditions"]]}
        if t["expires_after_hours"].strip():
            trigger["expires_after_hours"] = _number(t["expires_after_hours"])
        triggers.append(trigger)
    return {"title": draft["title"].strip(), "questions": questions, "triggers": triggers,
            "recontact_days": _number(draft["recontact_days"] or "30"), "thank_you": draft["thank_you"].strip()}


def _path(loc: Any) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and "[" in part))


def save_draft(session: SessionDep, draft: dict[str, Any], key: str | None) -> tuple[Survey | None, dict[str, str]]:
    """Create (key None) or update a survey from the draft; returns it, or the errors by field path."""
    body = survey_body(draft)
    try:
        if key is None:
            return service.create_survey(session, SurveyCreate.model_validate({"key": draft["key"], **body})), {}
        return service.update_survey(session, key, SurveyUpdate.model_validate(body)), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            path = _path(error["loc"])
            errors.setdefault(path or "_", error["msg"].removeprefix("Value error, "))
        return None, errors
    except VocError as exc:
        paths = [_path(d["path"]) for d in exc.details or [] if isinstance(d, dict) and "path" in d]
        field = paths[0] if paths else ("key" if exc.code == "survey_exists" else "_")
        return None, {field: exc.message}


# --- routes -----------------------------------------------------------------------------------------

@router.get("/dashboard/surveys", name="dashboard_surveys")
def surveys_page(request: Request, user: Viewer, session: SessionDep, saved: str | None = None) -> HTMLResponse:
    """Every survey with its status, version and number of responses."""
    rows = [(s, service.count_responses(session, s)) for s in service.list_surveys(session)]
    touchpoint_names = {t.key: t.name for t in service.list_touchpoints(session)}
    return page(request, user, LIST, {"rows": rows, "saved": saved, "touchpoint_names": touchpoint_names,
                                      "shared": overlaps.shared_touchpoints(session)})


def field_error_helpers(errors: dict[str, str]) -> dict[str, Any]:
    """`err(path)`: the error shown under a field; `described(path)`: the attributes tying the field to it.

    Functions rather than template macros, so the question and trigger blocks render alone for htmx."""

    def anchor(path: str) -> str:
        return "err-" + path.replace(".", "-")

    def err(path: str) -> Markup:
        if path not in errors:
            return Markup("")
        return Markup('<p class="field-error" id="{}">{}</p>').format(anchor(path), errors[path])

    def described(path: str) -> Markup:
        if path not in errors:
            return Markup("")
        return Markup(' aria-invalid="true" aria-describedby="{}"').format(anchor(path))

    return {"err": err, "described": described}


def _editor(request: Request, user: User, session: SessionDep, draft: dict[str, Any], survey: Survey | None,
            errors: dict[str, str] | None = None, block: str | None = None, status_code: int = 200) -> HTMLResponse:
    action = (request.url_for("survey_edit", key=survey.key) if survey else request.url_for("survey_new")).path
    touchpoints = service.list_touchpoints(session)
    return page(request, user, EDIT, {"draft": draft, "survey": survey, "errors": errors or {}, "action": action,
                                      "question_types": QUESTION_TYPES, "ops": OPS, "channels": CHANNELS,
                                      "touchpoints": touchpoints,
                                      "shared": overlaps.shared_touchpoints(session, survey) if survey else [],
                                      "sample": _sample_note(draft),
                                      # The preview frame opens on the draft's questions: no blank box to click.
                                      "preview_html": _read_only_page(request, draft_preview_context(draft)),
                                      **field_error_helpers(errors or {})}, block=block, status_code=status_code)


def _post_editor(request: Request, form: FormData, user: User, session: SessionDep,
                 survey: Survey | None) -> Response:
    draft = draft_from_form(form)
    action = str(form.get("action", "save"))
    block = apply_action(draft, action)
    if block is not None:  # a structural change: nothing is saved
        return _editor(request, user, session, draft, survey, block=block)
    before = audit.state(service.survey_public(survey)) if survey else None
    saved, errors = save_draft(session, draft, survey.key if survey else None)
    if errors:
        session.rollback()
        # htmx does not swap a 422 by default, so it gets the form with a 200; a browser sees 422.
        return _editor(request, user, session, draft, survey, errors, block="editor",
                       status_code=200 if is_htmx(request) else 422)
    audit.record(session, audit.actor_from_request(request, user=user),
                 "survey.updated" if survey else "survey.created", "survey", saved.key, before=before,
                 after=service.survey_public(saved))
    target = str(request.url_for("dashboard_surveys").include_query_params(saved=saved.key))
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/dashboard/surveys/new", name="survey_new")
def new_survey_page(request: Request, user: Admin, session: SessionDep) -> HTMLResponse:
    return _editor(request, user, session, draft_of(None), None)


@router.post("/dashboard/surveys/new", dependencies=[CsrfChecked])
def new_survey(request: Request, form: FormDep, user: Admin, session: SessionDep) -> Response:
    return _post_editor(request, form, user, session, None)


@router.get("/dashboard/surveys/{key}/edit", name="survey_edit")
def edit_survey_page(request: Request, key: str, user: Admin, session: SessionDep) -> HTMLResponse:
    survey = service.get_survey(session, key)
    return _editor(request, user, session, draft_of(survey), survey)


@router.post("/dashboard/surveys/{key}/edit", dependencies=[CsrfChecked])
def edit_survey(request: Request, key: str, form: FormDep, user: Admin, session: SessionDep) -> Response:
    return _post_editor(request, form, user, session, service.get_survey(session, key))


@router.post("/dashboard/surveys/{key}/status", name="survey_status", dependencies=[CsrfChecked])
def change_survey_status(request: Request, key: str, form: FormDep, user: Admin, session: SessionDep) -> Response:
    """Activate or pause a survey."""
    status = str(form.get("status", ""))
    if status not in (SurveyStatus.active, SurveyStatus.paused):
        status = SurveyStatus.paused
    before = audit.state(service.survey_public(service.get_survey(session, key)))
    changed = service.update_survey(session, key, SurveyUpdate(status=status))
    audit.record(session, audit.actor_from_request(request, user=user), "survey.updated", "survey", key,
                 before=before, after=service.survey_public(changed))
    if status == SurveyStatus.active:
        # Live now: the survey's page opens on a test link for the admin, ready to try as a customer would.
        if survey_trial.test_link(session, changed, user) is None:
            survey_trial.make_test_invitation(request, session, changed, user, "link")
        target = request.url_for("dashboard_survey", key=key).include_query_params(activated="1")
        return RedirectResponse(f"{target}#try-it", status_code=303)
    return RedirectResponse(str(request.url_for("dashboard_surveys")), status_code=303)


# --- previews: the customer's survey page --------------------------------------------------------------

def _customer_context(title: str, questions: list[dict[str, Any]], action: str,
                      translations: dict[str, Any] | None = None, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """What the customer's survey template needs to show these questions: all at once, nothing prefilled, sample
    attributes (voc.surveys.trial) piped into their {{ placeholders }}, named in `sample` for the label."""
    words = gettext_functions(language)
    title = localized_text(title, translations or {}, language, "title")
    translated = translation_for(translations or {}, language).get("questions", {})
    prompts = [{"prompt": text.get("prompt") or ""} for text in translated.values()]
    sample = trial.sample_attributes(trial.survey_texts(title, [*questions, *prompts]))
    shown = localized_questions(questions, translations or {}, language, sample, {})
    return {**words, "lang": language, "state": "form", "title": pipe(title, sample, {}), "questions": shown,
            "sample": sample,
            "values": {}, "errors": {}, "action": action,
            "anchors": {kind: (words["_"](low), words["_"](high)) for kind, (low, high) in ANCHORS.items()},
            "bounds": {q["id"]: scale_bounds(q) for q in questions if q["type"] in ("nps", "csat", "ces", "rating")}}


def _preview(request: Request, session: SessionDep, key: str, thanks: bool) -> HTMLResponse:
    survey = service.get_survey(session, key)
    if thanks:
        context = {**gettext_functions(DEFAULT_LANGUAGE), "lang": DEFAULT_LANGUAGE, "state": "thanks",
                   "title": survey.title, "message": survey.thank_you}
    else:
        # ?lang= shows the survey's texts in that language (voc's own words too), as a customer's link would.
        wanted = request.query_params.get("lang")
        language = wanted if wanted in {survey.language, *(survey.translations or {})} else DEFAULT_LANGUAGE
        context = _customer_context(survey.title, survey.questions, request.url_for("survey_preview", key=key).path,
                                    survey.translations, language)
    return render(request, CUSTOMER_PAGE, context, block="survey" if is_htmx(request) else None)


@router.get("/dashboard/surveys/{key}/preview", name="survey_preview")
def preview_survey(request: Request, key: str, user: Viewer, session: SessionDep) -> HTMLResponse:
    """The survey as a customer sees it (every question shown, nothing prefilled)."""
    return _preview(request, session, key, thanks=False)


@router.post("/dashboard/surveys/{key}/preview")
def preview_survey_sent(request: Request, key: str, user: Viewer, session: SessionDep) -> HTMLResponse:
    """What the customer sees after sending: nothing is stored, this is a preview."""
    return _preview(request, session, key, thanks=True)


def _read_only_page(request: Request, context: dict[str, Any]) -> str:
    """The customer's survey card, in a page of its own for the editor's preview frame.

    The card is the customer template's own block; the page around it has no scripts, and the frame
    is sandboxed (no scripts, no forms), so the preview cannot send anything."""
    template = templates.get_template(CUSTOMER_PAGE)
    # Rendered (and escaped) by the customer template itself: markup, not text anyone typed.
    card = Markup("".join(template.blocks["survey"](template.new_context({"request": request, **context}))))  # noqa: S704
    return templates.get_template(PREVIEW).render({"request": request, "card": card, "title": context["title"],
                                                   "lang": context.get("lang"), "sample": context.get("sample")})


def _read_only(request: Request, context: dict[str, Any]) -> HTMLResponse:
    """The read-only preview page as an answer; only this site may frame it."""
    allow_framing(request, ["'self'"])
    return HTMLResponse(_read_only_page(request, context))


def draft_preview_context(draft: dict[str, Any]) -> dict[str, Any]:
    """What the preview frame shows for a draft: its questions (sample data piped in), or what keeps them from
    showing."""
    questions, problems = draft_questions(draft)
    title = draft["title"].strip() or "Untitled survey"
    if problems:
        message = "Fix these and preview again: " + "; ".join(f"{path}: {text}" for path, text in problems.items())
        return {**gettext_functions(DEFAULT_LANGUAGE), "state": "problem", "title": title,
                "heading": "Nothing to preview yet", "message": message}
    return _customer_context(title, questions, "#")


def _sample_note(draft: dict[str, Any]) -> dict[str, Any]:
    questions = [{"prompt": q["prompt"]} for q in draft["questions"]]
    return trial.sample_attributes(trial.survey_texts(draft["title"], questions, draft["thank_you"]))


def draft_questions(draft: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The draft's questions as they would be saved, or the problems that keep them from being shown."""
    body = survey_body(draft)
    try:
        update = SurveyUpdate.model_validate({"questions": body["questions"]})
    except ValidationError as exc:
        return [], {_path(e["loc"]) or "questions": e["msg"].removeprefix("Value error, ") for e in exc.errors()}
    return [q.model_dump(exclude_none=True) for q in update.questions or []], {}


@router.get("/dashboard/surveys/{key}/preview/frame", name="survey_preview_frame")
def preview_frame(request: Request, key: str, user: Admin, session: SessionDep) -> HTMLResponse:
    """The saved survey, read-only: what the editor's preview frame shows before "Preview changes"."""
    survey = service.get_survey(session, key)
    return _read_only(request, _customer_context(survey.title, survey.questions, "#"))


@router.post("/dashboard/surveys/preview", name="survey_draft_preview", dependencies=[CsrfChecked])
def preview_draft(request: Request, form: FormDep, user: Admin) -> HTMLResponse:
    """The editor's unsaved questions as the customer will see them: read-only, nothing is stored.

    The editor's "Preview changes" posts the whole form here, into the preview frame: no JavaScript needed."""
    return _read_only(request, draft_preview_context(draft_from_form(form)))


# --- a survey's own page: how its customers answered ----------------------------------------------------

@router.get("/dashboard/surveys/{key}", name="dashboard_survey")
def survey_page(request: Request, key: str, user: Viewer, session: SessionDep,
                period: str | None = None) -> HTMLResponse:
    """One survey's answers over the period: a distribution per choice question (declared after /new); once
    active, a test link and "Send me a test invitation"; a warning when another active survey shares a
    touchpoint."""
    survey = service.get_survey(session, key)
    filters = resolve_filters(session, survey.key, None, period)
    query = request.query_params
    return page(request, user, SURVEY, {"survey": survey, "filters": filters, "small_sample": SMALL_SAMPLE,
                                        "choices": choice_charts(session, filters),
                                        "shared": overlaps.shared_touchpoints(session, survey),
                                        "test_link": survey_trial.test_link(session, survey, user),
                                        "test_sent": query.get("test"), "test_error": query.get("test_error"),
                                        "activated": query.get("activated") == "1",
                                        "can_email": bool(get_settings().smtp_url),
                                        "translation_languages": survey_translations.languages_of(survey)},
                block="results")


routers = [router, survey_trial.router, survey_translations.router]
