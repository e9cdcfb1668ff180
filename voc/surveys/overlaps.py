"""Active surveys that share a touchpoint, and which one a contact gets.

The rule is voc.surveys.events.decide's: active surveys are tried oldest first (by id, the order they were
created in), and the first whose trigger admits the contact invites them (conditions hold, inside the
sample, not in quarantine, an e-mail address when the trigger e-mails). A later survey on the same
touchpoint invites only the contacts every earlier one passed over; when an earlier survey's trigger has no
conditions and samples everyone, those are just its contacts in quarantine from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from voc.surveys.models import Survey, SurveyStatus, Touchpoint


@dataclass(frozen=True)
class SharedTouchpoint:
    """A touchpoint two or more active surveys trigger on, its surveys in the order voc tries them."""

    key: str
    name: str
    surveys: list[Survey]
    # Why a contact of the first survey may still get a later one: the first's conditions and sample rate.
    passed_over: list[str] = field(default_factory=list)

    @property
    def winner(self) -> Survey:
        return self.surveys[0]

    @property
    def others(self) -> list[Survey]:
        return self.surveys[1:]


def _passed_over(survey: Survey, touchpoint_key: str) -> list[str]:
    reasons = []
    for trigger in survey.triggers:
        if trigger.get("touchpoint") != touchpoint_key:
            continue
        if trigger.get("conditions"):
            reasons.append("its trigger's conditions do not hold")
        if float(trigger.get("sample_rate", 1.0)) < 1:
            reasons.append(f"they fall outside its {float(trigger['sample_rate']):.0%} sample")
        if trigger.get("channel") == "email":
            reasons.append("it e-mails and voc knows no address for them")
    return [*dict.fromkeys(reasons), "they are in quarantine from it (recontact days)"]


def shared_touchpoints(session: Session, survey: Survey | None = None) -> list[SharedTouchpoint]:
    """Touchpoints that two or more active surveys trigger on (only those of `survey`, if given; a survey not
    active yet counts as if it were, so its editor warns before it goes live)."""
    active = list(session.scalars(select(Survey).where(Survey.status == SurveyStatus.active).order_by(Survey.id)))
    if survey is not None and survey.id is not None and all(s.id != survey.id for s in active):
        active = sorted([*active, survey], key=lambda s: s.id)
    by_touchpoint: dict[str, list[Survey]] = {}
    for candidate in active:
        for key in dict.fromkeys(t["touchpoint"] for t in candidate.triggers):
            by_touchpoint.setdefault(key, []).append(candidate)
    wanted = {t["touchpoint"] for t in survey.triggers} if survey is not None else None
    names = dict(session.execute(select(Touchpoint.key, Touchpoint.name)).all())
    return [SharedTouchpoint(key, names.get(key, key), surveys, _passed_over(surveys[0], key))
            for key, surveys in by_touchpoint.items()
            if len(surveys) > 1 and (wanted is None or key in wanted)]
