"""Dashboard: a survey's texts in another language, one page per language voc ships (locale/).

Each question's prompt, choice labels and scale end labels, plus the title and thank-you text; a field left
empty falls back to the survey's own language. Saving posts, then redirects (a reload sends nothing again),
through voc.surveys.service.set_translation: a new version, like any change customers see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from voc import audit
from voc.api.deps import SessionDep
from voc.auth.models import User
from voc.errors import NotFound, VocError
from voc.surveys import service
from voc.surveys.models import Survey
from voc.surveys.schemas import SCALE_TYPES, SurveyTranslation
from voc.surveys.texts import translation_for
from voc.web.auth import Admin, CsrfChecked
from voc.web.dashboard.common import page
from voc.web.forms import FormDep
from voc.web.i18n import catalog_languages, gettext_functions
from voc.web.survey import ANCHORS

router = APIRouter()
TEMPLATE = "dashboard/survey_translation.html"


def languages_of(survey: Survey) -> list[str]:
    """The languages a survey can be translated into: every one voc ships, and any it already has."""
    return sorted((set(catalog_languages()) | set(survey.translations or {})) - {survey.language})


def _survey_and_language(session: SessionDep, key: str, lang: str) -> Survey:
    survey = service.get_survey(session, key)
    if lang not in languages_of(survey):
        raise NotFound(f"no language {lang[:16]!r} to translate this survey into", code="language_not_found")
    return survey


def draft_of(survey: Survey, lang: str) -> dict[str, Any]:
    """The form's values from the stored translation (empty where there is none)."""
    stored = translation_for(survey.translations or {}, lang) if lang in (survey.translations or {}) else {}
    texts = stored.get("questions", {})
    questions = {}
    for q in survey.questions:
        text = texts.get(q["id"], {})
        anchors = text.get("anchors") or ["", ""]
        questions[q["id"]] = {"prompt": text.get("prompt", ""), "options": "\n".join(text.get("options") or []),
                              "low": anchors[0], "high": anchors[1]}
    return {"title": stored.get("title", ""), "thank_you": stored.get("thank_you", ""), "questions": questions}


def draft_from_form(survey: Survey, form: FormData) -> dict[str, Any]:
    """The form as posted, every field kept as typed."""
    get = lambda name: str(form.get(name, "")).strip()  # noqa: E731
    questions = {}
    for q in survey.questions:
        base = f"q-{q['id']}"
        questions[q["id"]] = {"prompt": get(f"{base}-prompt"), "options": str(form.get(f"{base}-options", "")),
                              "low": get(f"{base}-low"), "high": get(f"{base}-high")}
    return {"title": get("title"), "thank_you": get("thank_you"), "questions": questions}


def translation_of(survey: Survey, draft: dict[str, Any]) -> tuple[SurveyTranslation | None, dict[str, str]]:
    """The draft as a translation, or the problems by field name."""
    errors: dict[str, str] = {}
    questions: dict[str, dict[str, Any]] = {}
    for q in survey.questions:
        fields = draft["questions"][q["id"]]
        text: dict[str, Any] = {}
        if fields["prompt"]:
            text["prompt"] = fields["prompt"]
        options = [line.strip() for line in fields["options"].splitlines() if line.strip()]
        if options and len(options) != len(q.get("options") or []):
            errors[f"q-{q['id']}-options"] = (f"Give all {len(q.get('options') or [])} choices, one per line, "
                                              "in the original order (or none)")
        elif options:
            text["options"] = options
        if fields["low"] or fields["high"]:
            if q["type"] in SCALE_TYPES and fields["low"] and fields["high"]:
                text["anchors"] = [fields["low"], fields["high"]]
            else:
                errors[f"q-{q['id']}-low"] = "Give both end labels, or neither"
        if text:
            questions[q["id"]] = text
    body = {"questions": questions, **{name: draft[name] for name in ("title", "thank_you") if draft[name]}}
    try:
        translation = SurveyTranslation.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            errors.setdefault(".".join(str(p) for p in error["loc"]) or "_", error["msg"])
        return None, errors
    return (None, errors) if errors else (translation, {})


def _form_page(request: Request, user: User, survey: Survey, lang: str, draft: dict[str, Any],
               errors: dict[str, str] | None = None, saved: bool = False, status_code: int = 200) -> HTMLResponse:
    words = gettext_functions(lang)
    catalog_anchors = {kind: (words["_"](low), words["_"](high)) for kind, (low, high) in ANCHORS.items()}
    return page(request, user, TEMPLATE, {"survey": survey, "lang": lang, "draft": draft, "errors": errors or {},
                                          "saved": saved, "languages": languages_of(survey),
                                          "catalog_anchors": catalog_anchors, "scale_types": SCALE_TYPES},
                status_code=status_code)


@router.get("/dashboard/surveys/{key}/translations/{lang}", name="survey_translation")
def translation_page(request: Request, key: str, lang: str, user: Admin, session: SessionDep,
                     saved: str | None = None) -> HTMLResponse:
    """The survey's texts in `lang`, beside the originals."""
    survey = _survey_and_language(session, key, lang)
    return _form_page(request, user, survey, lang, draft_of(survey, lang), saved=saved == "1")


@router.post("/dashboard/surveys/{key}/translations/{lang}", dependencies=[CsrfChecked])
def save_translation(request: Request, key: str, lang: str, form: FormDep, user: Admin,
                     session: SessionDep) -> Response:
    """Store the translation and redirect back to it, or show what needs fixing (nothing saved)."""
    survey = _survey_and_language(session, key, lang)
    draft = draft_from_form(survey, form)
    translation, errors = translation_of(survey, draft)
    if translation is not None:
        before = audit.state(service.survey_public(survey))
        try:
            changed = service.set_translation(session, key, lang, translation)
        except VocError as exc:
            errors = {"_": exc.message}
        else:
            audit.record(session, audit.actor_from_request(request, user=user), "survey.updated", "survey", key,
                         before=before, after=service.survey_public(changed))
            target = request.url_for("survey_translation", key=key, lang=lang).include_query_params(saved="1")
            return RedirectResponse(str(target), status_code=303)
    session.rollback()
    return _form_page(request, user, service.get_survey(session, key), lang, draft, errors, status_code=422)
