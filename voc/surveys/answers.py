"""Which questions a customer sees, and checking answers against them, type by type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voc.errors import Invalid
from voc.surveys.schemas import MAX_TEXT_ANSWER, SCALE_BOUNDS
from voc.surveys.triggers import check_condition

_MISSING = object()


@dataclass
class TypedAnswer:
    question_id: str
    type: str
    number: float | None = None
    text: str | None = None
    choices: list[str] | None = None
    source: str = "customer"


def prefilled_answers(questions: list[dict], known: dict[str, Any]) -> dict[str, Any]:
    """Answers the CRM already holds (a question's `attribute`): these are never asked again."""
    return {q["id"]: known[q["attribute"]] for q in questions
            if q.get("attribute") and known.get(q["attribute"]) not in (None, "")}


def is_shown(question: dict, answers: dict[str, Any]) -> bool:
    """A question is shown unless its show_if condition fails on the answers given so far."""
    rule = question.get("show_if")
    if not rule:
        return True
    actual = answers.get(rule["question_id"], _MISSING)
    if actual is _MISSING or actual is None:
        return False
    return check_condition(actual, rule.get("op", "eq"), rule.get("value"))


def scale_bounds(question: dict) -> tuple[int, int]:
    """The lowest and highest score a scale question accepts."""
    if question["type"] == "rating":
        return 1, int(question.get("scale") or 5)
    return SCALE_BOUNDS[question["type"]]


def _error(question_id: str, code: str, message: str) -> dict[str, Any]:
    return {"question_id": question_id, "code": code, "message": message}


def _coerce(question: dict, value: Any) -> tuple[TypedAnswer | None, dict | None]:
    qid, qtype = question["id"], question["type"]
    if qtype in SCALE_BOUNDS or qtype == "rating":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())  # HTML forms send numbers as text
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            return None, _error(qid, "answer_invalid", f"{qid}: a whole number is expected")
        low, high = scale_bounds(question)
        if not low <= value <= high:
            return None, _error(qid, "answer_out_of_range", f"{qid}: {value} is outside {low}–{high}")
        return TypedAnswer(qid, qtype, number=int(value)), None
    if qtype == "text":
        if not isinstance(value, str):
            return None, _error(qid, "answer_invalid", f"{qid}: text is expected")
        if len(value) > MAX_TEXT_ANSWER:
            return None, _error(qid, "answer_too_long", f"{qid}: at most {MAX_TEXT_ANSWER} characters")
        return TypedAnswer(qid, qtype, text=value), None
    options = question.get("options") or []
    if qtype == "single_choice":
        if value not in options:
            return None, _error(qid, "answer_invalid", f"{qid}: not one of the options")
        return TypedAnswer(qid, qtype, choices=[value]), None
    picked = [value] if isinstance(value, str) else value
    if not isinstance(picked, list) or any(item not in options for item in picked):
        return None, _error(qid, "answer_invalid", f"{qid}: each choice must be one of the options")
    return TypedAnswer(qid, qtype, choices=list(dict.fromkeys(picked))), None


def is_blank(value: Any) -> bool:
    """No answer: nothing, an empty list or only whitespace."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def check_answer(question: dict, value: Any) -> TypedAnswer | dict:
    """One question's answer typed, or the error explaining why it is refused (blank: required or skipped)."""
    if is_blank(value):
        if question.get("required"):
            return _error(question["id"], "answer_required", f"{question['id']}: an answer is required")
        return TypedAnswer(question["id"], question["type"])
    answer, error = _coerce(question, value)
    return error if error else answer  # type: ignore[return-value]


def raw_value(answer: TypedAnswer) -> Any:
    """A typed answer as the JSON value a partial response keeps (None: seen and skipped)."""
    if answer.number is not None:
        return int(answer.number)
    if answer.choices is not None:
        return answer.choices[0] if answer.type == "single_choice" else answer.choices
    return answer.text


def shown_questions(questions: list[dict], answers: dict[str, Any], prefilled: dict[str, Any]) -> list[dict]:
    """The questions to ask, in order, given the answers so far (CRM-known ones are never asked)."""
    known = {**prefilled, **answers}
    return [q for q in questions if q["id"] not in prefilled and is_shown(q, known)]


def first_unanswered(questions: list[dict], answers: dict[str, Any], prefilled: dict[str, Any]) -> dict | None:
    """The first shown question the customer has not yet left (answered or skipped), if any."""
    return next((q for q in shown_questions(questions, answers, prefilled) if q["id"] not in answers), None)


def validate_answers(questions: list[dict], given: list[tuple[str, Any]],
                     prefilled: dict[str, Any]) -> list[TypedAnswer]:
    """Typed answers for the given (question_id, value) pairs, or Invalid naming every problem."""
    by_id = {q["id"]: q for q in questions}
    errors: list[dict] = []
    values: dict[str, Any] = {}
    for qid, value in given:
        if qid not in by_id:
            errors.append(_error(qid, "unknown_question", f"no question {qid!r} in this survey"))
        elif qid in values:
            errors.append(_error(qid, "duplicate_answer", f"{qid}: answered twice"))
        elif not is_blank(value):
            values[qid] = value
    known = {**prefilled, **values}
    typed: list[TypedAnswer] = []
    for question in questions:
        qid = question["id"]
        if qid in prefilled:
            typed.append(TypedAnswer(qid, question["type"], text=str(prefilled[qid]), source="crm"))
            continue
        if not is_shown(question, known):
            continue
        if qid not in values:
            if question.get("required"):
                errors.append(_error(qid, "answer_required", f"{qid}: an answer is required"))
            continue
        answer, error = _coerce(question, values[qid])
        if error:
            errors.append(error)
        elif answer:
            typed.append(answer)
    if errors:
        raise Invalid(errors[0]["message"] if len(errors) == 1 else f"{len(errors)} answers need attention",
                      code=errors[0]["code"], details=errors)
    return typed
