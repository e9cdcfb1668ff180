"""Shapes of the surveys domain on the wire: validated question lists, triggers, events, answers."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from voc.surveys.models import JourneyStage, SurveyStatus

KEY_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
QuestionType = Literal["nps", "csat", "ces", "rating", "single_choice", "multi_choice", "text"]
ConditionOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"]
SCALE_BOUNDS: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
SCALE_TYPES = ("nps", "csat", "ces", "rating")
MAX_TEXT_ANSWER = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShowIf(Strict):
    """Show a question only when an earlier answer meets the condition."""

    question_id: str
    op: ConditionOp = "eq"
    value: Any = None


class Question(Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    type: QuestionType
    prompt: Annotated[str, Field(min_length=1, max_length=1000)]
    required: bool = False
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    scale: Annotated[int, Field(ge=2, le=10)] | None = None
    show_if: ShowIf | None = None
    # A CRM attribute that already holds the answer: the question is then not asked again.
    attribute: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def _check_type_fields(self) -> Question:
        choice = self.type in ("single_choice", "multi_choice")
        if choice and not self.options:
            raise ValueError(f"a {self.type} question needs options")
        if choice and len(set(self.options or [])) != len(self.options or []):
            raise ValueError("options must be distinct")
        if not choice and self.options is not None:
            raise ValueError(f"a {self.type} question takes no options")
        if self.type == "rating" and self.scale is None:
            self.scale = 5
        if self.type != "rating" and self.scale is not None:
            raise ValueError("only rating questions take a scale")
        return self


class Condition(Strict):
    attribute: Annotated[str, Field(min_length=1, max_length=128)]
    op: ConditionOp = "eq"
    value: Any = None


class Trigger(Strict):
    touchpoint: Annotated[str, Field(pattern=KEY_PATTERN)]
    sample_rate: Annotated[float, Field(ge=0, le=1)] = 1.0
    delay_minutes: Annotated[float, Field(ge=0, le=60 * 24 * 90)] = 0
    conditions: list[Condition] = []
    expires_after_hours: Annotated[float, Field(gt=0, le=24 * 365)] | None = None
    channel: Literal["link", "email", "embed"] = "link"
    # E-mail channel: one reminder this many days after the invitation if it is still unanswered (null: none).
    reminder_after_days: Annotated[float, Field(gt=0, le=90)] | None = 3


def _check_questions(questions: list[Question]) -> list[Question]:
    seen: set[str] = set()
    for index, question in enumerate(questions):
        if question.id in seen:
            raise ValueError(f"questions[{index}].id {question.id!r} is used twice")
        if question.show_if and question.show_if.question_id not in seen:
            raise ValueError(f"questions[{index}].show_if must refer to an earlier question")
        seen.add(question.id)
    return questions


Layout = Literal["steps", "page"]
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class QuestionTranslation(Strict):
    prompt: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = None
    # A scale question's end labels (lowest, highest) in this language, instead of the catalog's.
    anchors: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]],
                       Field(min_length=2, max_length=2)] | None = None


class SurveyTranslation(Strict):
    """The customer-facing texts of a survey in one more language; what is missing falls back."""

    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    thank_you: Annotated[str, Field(max_length=2000)] | None = None
    questions: dict[str, QuestionTranslation] = {}


Translations = dict[Annotated[str, Field(pattern=LANGUAGE_PATTERN)], SurveyTranslation]


def check_translations(questions: list[Question] | None, translations: Translations | None) -> None:
    """Every translated question exists, and a translated choice list matches the original's length."""
    if not questions or not translations:
        return
    by_id = {q.id: q for q in questions}
    for language, translation in translations.items():
        for question_id, text in translation.questions.items():
            question = by_id.get(question_id)
            if question is None:
                raise ValueError(f"translations.{language}.questions.{question_id}: no such question")
            if text.options is not None and len(text.options) != len(question.options or []):
                raise ValueError(f"translations.{language}.questions.{question_id}.options must translate "
                                 f"each of the {len(question.options or [])} options")
            if text.anchors is not None and question.type not in SCALE_TYPES:
                raise ValueError(f"translations.{language}.questions.{question_id}.anchors: only scale questions "
                                 "have end labels")


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's examples for the OpenAPI document (the strictness of Strict is kept: configs merge)."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})


SURVEY_EXAMPLE: dict[str, Any] = {
    "key": "post_delivery", "title": "Your delivery", "status": "active", "recontact_days": 14,
    "questions": [
        {"id": "csat", "type": "csat", "prompt": "How satisfied are you?", "required": True},
        {"id": "why", "type": "text", "prompt": "Tell us more",
         "show_if": {"question_id": "csat", "op": "lte", "value": 3}},
        {"id": "plan", "type": "single_choice", "prompt": "Your plan?", "options": ["Basic", "Plus"],
         "attribute": "plan"}],
    "triggers": [{"touchpoint": "order_delivered", "sample_rate": 0.5, "delay_minutes": 60,
                  "conditions": [{"attribute": "order_value", "op": "gte", "value": 10}],
                  "expires_after_hours": 72}],
    "translations": {"de": {"title": "Ihre Lieferung", "questions": {"csat": {"prompt": "Wie zufrieden sind Sie?"}}}},
}


class SurveyCreate(Strict):
    model_config = _examples(SURVEY_EXAMPLE)

    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    status: SurveyStatus = SurveyStatus.draft
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]
    triggers: list[Trigger] = []
    recontact_days: Annotated[float, Field(ge=0, le=3650)] = 30
    thank_you: Annotated[str, Field(max_length=2000)] = "Thank you for your feedback!"
    layout: Layout = "steps"
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN)] = "en"
    translations: Translations = {}
    anonymous: bool = False

    _questions = field_validator("questions")(_check_questions)

    @model_validator(mode="after")
    def _translations_match(self) -> SurveyCreate:
        check_translations(self.questions, self.translations)
        return self


class SurveyUpdate(Strict):
    model_config = _examples({"status": "paused"},
                             {"title": "Your delivery, in two questions",
                              "questions": [{"id": "csat", "type": "csat", "prompt": "How satisfied are you?",
                                             "required": True},
                                            {"id": "why", "type": "text", "prompt": "What could we do better?"}]})

    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    status: SurveyStatus | None = None
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)] | None = None
    triggers: list[Trigger] | None = None
    recontact_days: Annotated[float, Field(ge=0, le=3650)] | None = None
    thank_you: Annotated[str, Field(max_length=2000)] | None = None
    layout: Layout | None = None
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN)] | None = None
    translations: Translations | None = None
    anonymous: bool | None = None

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[Question] | None) -> list[Question] | None:
        return None if value is None else _check_questions(value)

    @model_validator(mode="after")
    def _translations_match(self) -> SurveyUpdate:
        check_translations(self.questions, self.translations)
        return self


class SurveyPublic(BaseModel):
    key: str
    title: str
    status: SurveyStatus
    version: int
    questions: list[Question]
    triggers: list[Trigger]
    recontact_days: float
    thank_you: str
    layout: Layout
    language: str
    translations: dict[str, Any]
    anonymous: bool
    created_at: datetime
    updated_at: datetime


# Hours to resolve a follow-up case opened at a touchpoint (at most a year); null: the workspace's default.
FollowupSlaHours = Annotated[float, Field(gt=0, le=24 * 365)]


class TouchpointCreate(Strict):
    model_config = _examples({"key": "order_delivered", "name": "Order delivered", "stage": "delivery",
                              "channel": "web"})

    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    stage: JourneyStage
    channel: Annotated[str, Field(min_length=1, max_length=32)] = "web"
    followup_sla_hours: FollowupSlaHours | None = None


class TouchpointUpdate(Strict):
    """What may change on a touchpoint (its key and stage stay)."""

    model_config = _examples({"followup_sla_hours": 24})

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    followup_sla_hours: FollowupSlaHours | None = None


class TouchpointPublic(BaseModel):
    key: str
    name: str
    stage: JourneyStage
    stage_order: int
    channel: str
    followup_sla_hours: float | None = Field(
        default=None, description="hours to resolve a follow-up case from here; null: VOC_FOLLOWUP_SLA_HOURS")
    created_at: datetime


MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_BYTES = 8 * 1024


def _bounded_attribute(value: Any) -> Any:
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
               .encode("utf-8", "surrogatepass"))
    if size > MAX_ATTRIBUTE_BYTES:
        raise ValueError(f"an attribute's value may be at most {MAX_ATTRIBUTE_BYTES} bytes as JSON (this is {size})")
    return value


# CRM attributes are stored with every contact and event and read back into pages and webhooks: bounded,
# so that one caller cannot make every row that carries them huge.
Attributes = Annotated[dict[str, Annotated[Any, AfterValidator(_bounded_attribute)]],
                       Field(max_length=MAX_ATTRIBUTES)]


class ContactRef(Strict):
    external_id: Annotated[str, Field(min_length=1, max_length=200)]
    crm: Annotated[str, Field(min_length=1, max_length=64)] = "default"
    email: Annotated[str, Field(max_length=320)] | None = None
    attributes: Attributes = {}

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("not an e-mail address")
        return value


class EventIn(Strict):
    model_config = _examples({
        "event_id": "ord-1001-delivered", "touchpoint": "order_delivered",
        "contact": {"external_id": "CUS-00042", "crm": "demo-crm", "email": "ada@example.com",
                    "attributes": {"first_name": "Ada", "plan": "Plus", "language": "en"}},
        "occurred_at": "2026-01-31T12:00:00Z", "attributes": {"order_id": "1001", "order_value": 80}})

    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    touchpoint: Annotated[str, Field(min_length=1, max_length=64)]
    contact: ContactRef
    occurred_at: datetime | None = None
    attributes: Attributes = {}

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("occurred_at needs a timezone (e.g. 2026-01-31T12:00:00Z)")
        return value


class InvitationOut(BaseModel):
    id: int
    url: str
    expires_at: datetime
    available_at: datetime


class EventOutcome(BaseModel):
    event_id: str
    outcome: Literal["invited", "suppressed"]
    reason: str | None
    survey: str | None = None
    invitation: InvitationOut | None


class AnswerIn(Strict):
    question_id: Annotated[str, Field(min_length=1, max_length=64)]
    value: Any


class ResponseIn(Strict):
    model_config = _examples({"token": "the token at the end of the invitation's url",
                              "answers": [{"question_id": "csat", "value": 4},
                                          {"question_id": "why", "value": "Quick delivery, friendly driver."}]})

    token: Annotated[str, Field(min_length=1, max_length=200)]
    answers: Annotated[list[AnswerIn], Field(max_length=200)]


class ResponseCreated(BaseModel):
    id: int
    status: str


class AnswerOut(BaseModel):
    question_id: str
    type: str
    value: Any
    source: str


class ResponsePublic(BaseModel):
    id: int
    status: str
    survey: str
    survey_version: int
    touchpoint: str | None
    contact: dict[str, Any]
    answers: list[AnswerOut]
    scores: dict[str, int | None]
    started_at: datetime | None
    completed_at: datetime | None
    analysis: dict[str, Any] | None
    is_test: bool = Field(default=False, description="answered through a test invitation: counted in no figure")


class ResponsePage(BaseModel):
    items: list[ResponsePublic]
    next_cursor: str | None
