"""Tables of the surveys domain: touchpoints, surveys and their versions, contacts, events,
invitations, responses and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from voc.db import JSONType, UTCDateTime, utcnow
from voc.embed import models as _embed_models  # noqa: F401 - invitation.site_id refers to its table


class JourneyStage(StrEnum):
    """Stages of the customer journey, in journey order."""

    awareness = "awareness"
    consideration = "consideration"
    purchase = "purchase"
    delivery = "delivery"
    onboarding = "onboarding"
    usage = "usage"
    support = "support"
    billing = "billing"
    renewal = "renewal"
    advocacy = "advocacy"

    @property
    def order(self) -> int:
        return list(JourneyStage).index(self)


class SurveyStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    archived = "archived"


class InvitationStatus(StrEnum):
    scheduled = "scheduled"  # waiting for its trigger's delay
    pending = "pending"  # usable, not opened yet
    opened = "opened"
    completed = "completed"


def _fk(target: str, *, nullable: bool = False, ondelete: str | None = None, index: bool = True) -> Any:
    """A foreign key column, indexed unless a composite index of its table leads with it (`index=False`): that
    index serves its lookups and its ON DELETE, and one index fewer is one write fewer per row."""
    return Field(default=None, sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete),
                                                nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Touchpoint(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    stage: str = Field(max_length=32)
    channel: str = Field(default="web", max_length=32)
    # Hours to resolve a follow-up case opened here (None: the workspace's VOC_FOLLOWUP_SLA_HOURS).
    followup_sla_hours: float | None = Field(default=None)
    created_at: datetime = _created()


class Survey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    title: str = Field(max_length=300)
    status: str = Field(default=SurveyStatus.draft, max_length=16)
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    triggers: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    recontact_days: float = Field(default=30.0)
    thank_you: str = Field(default="Thank you for your feedback!", max_length=2000)
    version: int = Field(default=1)
    # How the customer sees it: "steps" (one question per step) or "page" (all at once).
    layout: str = Field(default="steps", max_length=16)
    # Language of the texts above; `translations` holds the others: {lang: {title, thank_you, questions}}.
    language: str = Field(default="en", max_length=16)
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # Anyone may answer without a proven contact (the embed widget without an identity signature).
    anonymous: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SurveyVersion(SQLModel, table=True):
    """A frozen copy of a survey's questions; responses point at the one they answered."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = _fk("survey.id", ondelete="CASCADE")
    version: int
    title: str = Field(max_length=300)
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    thank_you: str = Field(default="", max_length=2000)
    layout: str = Field(default="steps", max_length=16)
    language: str = Field(default="en", max_length=16)
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = _created()


class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("crm", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(default="default", max_length=64)
    external_id: str = Field(max_length=200, index=True)
    email: str | None = Field(default=None, max_length=320)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    opted_out: bool = Field(default=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Event(SQLModel, table=True):
    """A touchpoint event reported by the CRM, with the decision voc took on it."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=200)
    touchpoint_id: int = _fk("touchpoint.id")
    contact_id: int = _fk("contact.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    outcome: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=64)
    survey_id: int | None = _fk("survey.id", nullable=True)
    invitation_id: int | None = Field(default=None)
    created_at: datetime = _created()


class Invitation(SQLModel, table=True):
    __table_args__ = (Index("ix_invitation_contact_invited", "contact_id", "invited_at"),)
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    # The token is derived from this nonce with the server's secret key, so a stolen database
    # alone yields no usable links, yet voc can show the same link again.
    token_nonce: str = Field(max_length=64)
    survey_id: int = _fk("survey.id")
    survey_version_id: int = _fk("survey_version.id")
    touchpoint_id: int | None = _fk("touchpoint.id", nullable=True)
    contact_id: int = _fk("contact.id", index=False)  # ix_invitation_contact_invited
    event_id: int | None = _fk("event.id", nullable=True)
    channel: str = Field(default="link", max_length=16)
    status: str = Field(default=InvitationStatus.pending, max_length=16)
    invited_at: datetime = Field(sa_type=UTCDateTime)  # when the invitation is usable (event time + delay)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # E-mail channel: when the invitation and its one reminder went out.
    emailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Embed channel: the site whose widget made the invitation.
    site_id: int | None = _fk("site.id", nullable=True)
    # Made from the dashboard to try the survey: never quarantines anyone, never counts anywhere.
    is_test: bool = Field(default=False)
    created_at: datetime = _created()


class PartialResponse(SQLModel, table=True):
    """Answers saved step by step before the survey is finished, so a customer can resume and
    drop-off per question can be counted. Kept after completion (completed_at set) for the funnel."""

    __tablename__ = "partial_response"
    __table_args__ = (Index("ix_partial_response_survey_started", "survey_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(sa_column=Column(Integer, ForeignKey("invitation.id"), unique=True,
                                                nullable=False))
    survey_id: int = Field(sa_column=Column(Integer, ForeignKey("survey.id"), nullable=False))
    survey_version_id: int = _fk("survey_version.id")
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # question id -> raw value
    last_question_id: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    started_at: datetime = _created()
    updated_at: datetime = _created()
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Response(SQLModel, table=True):
    __table_args__ = (
        Index("ix_response_survey_completed", "survey_id", "completed_at"),
        Index("ix_response_touchpoint_completed", "touchpoint_id", "completed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # Unique: exactly one response per invitation, whatever races between submits.
    invitation_id: int = Field(sa_column=Column(Integer, ForeignKey("invitation.id"), unique=True,
                                                nullable=False))
    # Copies of the invitation's columns (what every figure groups and filters responses by), taken from the
    # invitation's row by the statement that stores the response. The invitation holds their references, and
    # the response holds the invitation's: a second foreign key each would be checked again for every answer,
    # locking the survey's, version's and touchpoint's rows shared by every answer (on PostgreSQL, a MultiXact
    # per row once two processes store answers at once).
    survey_id: int = Field(default=None, sa_column=Column(Integer, nullable=False))  # ix_response_survey_completed
    survey_version_id: int = Field(default=None, sa_column=Column(Integer, nullable=False))
    touchpoint_id: int | None = Field(default=None, sa_column=Column(Integer))  # ix_response_touchpoint_completed
    contact_id: int = Field(default=None, sa_column=Column(Integer, nullable=False, index=True))
    status: str = Field(default="completed", max_length=16)
    nps: int | None = Field(default=None)
    csat: int | None = Field(default=None)
    ces: int | None = Field(default=None)
    comment: str | None = Field(default=None)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    analysis: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    analyser_version: str | None = Field(default=None, max_length=32)
    sentiment: float | None = Field(default=None)
    mismatch: bool | None = Field(default=None)
    analyzed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Answered through a test invitation: left out of every figure, follow-up and webhook.
    is_test: bool = Field(default=False)
    created_at: datetime = _created()


class Answer(SQLModel, table=True):
    """One answer, typed: numbers for scales, text for text, a list for choices."""

    __table_args__ = (UniqueConstraint("response_id", "question_id"),)
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = _fk("response.id", ondelete="CASCADE", index=False)  # the unique (response_id, question_id)
    question_id: str = Field(max_length=64)
    type: str = Field(max_length=16)
    number: float | None = Field(default=None)
    text: str | None = Field(default=None)
    choices: list[str] | None = Field(default=None, sa_type=JSONType)
    source: str = Field(default="customer", max_length=16)  # or "crm" for a prefilled hidden field

    @property
    def value(self) -> Any:
        return answer_value(self.number, self.text, self.choices)


def answer_value(number: float | None, text: str | None, choices: list[str] | None) -> Any:
    """An answer as the customer gave it: the options picked, the number (whole numbers as int) or the text."""
    if choices is not None:
        return choices
    if number is not None:
        return int(number) if float(number).is_integer() else number
    return text
