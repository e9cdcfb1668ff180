"""Pre-aggregated figures per day × survey × touchpoint (and summed over either), what each response added, and
the answers to choice questions per day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Column, Date, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from voc.db import JSONType

DIMENSIONS = ("sense", "feel", "think", "act", "relate")
NO_TOUCHPOINT = 0  # responses without a touchpoint roll up here (a key column cannot be NULL)
ALL = -1  # in rollup_total: summed over every survey, or every touchpoint (ids are positive)


class RollupCounts(SQLModel):
    """The counts and sums every rollup level carries (what the dashboard's figures are summed from)."""

    invitations: int = 0
    # The completion funnel, each counted on the day it happened: invitations opened, responses started
    # (a first step left, or a one-shot submit), and completed (`responses`).
    opened: int = 0
    started: int = 0
    responses: int = 0
    nps_promoters: int = 0
    nps_passives: int = 0
    nps_detractors: int = 0
    nps_0: int = 0
    nps_1: int = 0
    nps_2: int = 0
    nps_3: int = 0
    nps_4: int = 0
    nps_5: int = 0
    nps_6: int = 0
    nps_7: int = 0
    nps_8: int = 0
    nps_9: int = 0
    nps_10: int = 0
    csat_1: int = 0
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0
    ces_1: int = 0
    ces_2: int = 0
    ces_3: int = 0
    ces_4: int = 0
    ces_5: int = 0
    ces_6: int = 0
    ces_7: int = 0
    sentiment_sum: float = 0.0
    sentiment_square_sum: float = 0.0  # Σ compound², for the 95% t interval of the mean
    sentiment_count: int = 0
    sentiment_negative: int = 0
    sentiment_neutral: int = 0
    sentiment_positive: int = 0
    sense_valence_sum: float = 0.0  # salience-weighted
    sense_salience_sum: float = 0.0
    sense_count: int = 0
    feel_valence_sum: float = 0.0  # salience-weighted
    feel_salience_sum: float = 0.0
    feel_count: int = 0
    think_valence_sum: float = 0.0  # salience-weighted
    think_salience_sum: float = 0.0
    think_count: int = 0
    act_valence_sum: float = 0.0  # salience-weighted
    act_salience_sum: float = 0.0
    act_count: int = 0
    relate_valence_sum: float = 0.0  # salience-weighted
    relate_salience_sum: float = 0.0
    relate_count: int = 0
    mismatch_count: int = 0


class Rollup(RollupCounts, table=True):
    """Counts and sums for one day × survey × touchpoint; every dashboard figure is summed from these."""

    day: date = Field(sa_column=Column(Date, primary_key=True))
    survey_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    touchpoint_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))


class RollupTotal(RollupCounts, table=True):
    """The same counts per day summed over every survey and/or every touchpoint (`ALL` in their place).

    Three levels: (survey, ALL), (ALL, touchpoint) and (ALL, ALL). With them a page reads one row per day
    whatever its filter, so its cost does not grow with the number of surveys and touchpoints that
    answered on a day. Kept in the same transaction as `rollup`, and always equal to its sums."""

    __tablename__ = "rollup_total"
    # Key order (survey, touchpoint, day): a page's rows are one contiguous range of the key.
    survey_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    touchpoint_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: date = Field(sa_column=Column(Date, primary_key=True))


class RollupEntry(SQLModel, table=True):
    """What one response added to the rollups, so a re-analysis subtracts exactly that before adding anew."""

    __tablename__ = "rollup_entry"
    response_id: int = Field(sa_column=Column(Integer, ForeignKey("response.id", ondelete="CASCADE"),
                                              primary_key=True, autoincrement=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    survey_id: int
    touchpoint_id: int
    contribution: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


SEEN = ""  # in choice_rollup: the row counting respondents who saw the question (an option is never empty)


class ChoiceRollup(SQLModel, table=True):
    """Per day × survey × touchpoint × choice question: respondents who saw the question (option SEEN) and
    respondents who picked each option. Touchpoint ALL holds the same counts over every touchpoint.

    Days are workspace days, as in `rollup`. Key order (survey, touchpoint, day): a page reads one contiguous
    range per survey."""

    __tablename__ = "choice_rollup"
    survey_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    touchpoint_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    question_id: str = Field(sa_column=Column(String(64), primary_key=True))
    option: str = Field(sa_column=Column(String(200), primary_key=True))
    answers: int = 0
