"""What voc writes onto a CRM contact for each event, by voc's own names (HubSpot's property names;
Salesforce's fields map from them). Raw values: each CRM module puts them in its own formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def parse_moment(value: Any) -> datetime | None:
    """A payload time ("2025-05-14T09:31:12Z") as an aware UTC datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso_millis(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds ("2025-05-14T09:31:12.000Z"), the form both CRMs document."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _nps_category(nps: Any) -> str | None:
    if not isinstance(nps, int) or isinstance(nps, bool):
        return None
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


def _summary(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    summary = data.get("summary") or {}
    dims = summary.get("dimensions") or {}
    sentiment = summary.get("latest_sentiment") or {}
    return {
        "voc_last_nps": summary.get("latest_nps"), "voc_nps_category": summary.get("nps_category"),
        "voc_csat": summary.get("csat"), "voc_ces": summary.get("ces"),
        "voc_last_sentiment": sentiment.get("label"), "voc_last_sentiment_score": sentiment.get("compound"),
        **{f"voc_{name}_score": dims.get(name) for name in ("sense", "feel", "think", "act", "relate")},
        "voc_last_touchpoint": summary.get("last_touchpoint"), "voc_response_count": summary.get("response_count"),
        "voc_experience_trend": summary.get("trend"), "voc_updated_at": summary.get("updated_at") or timestamp,
    }


def _completed(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    response = data.get("response") or {}
    scores = response.get("scores") or {}
    return {
        "voc_last_nps": scores.get("nps"), "voc_nps_category": _nps_category(scores.get("nps")),
        "voc_last_csat": scores.get("csat"), "voc_last_ces": scores.get("ces"),
        "voc_last_survey": response.get("survey"), "voc_last_touchpoint": response.get("touchpoint"),
        "voc_last_response_id": response.get("id"), "voc_last_response_at": response.get("completed_at"),
        "voc_last_response_date": response.get("completed_at"), "voc_updated_at": timestamp,
    }


def _analyzed(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    analysis = data.get("analysis") or {}
    sentiment = analysis.get("sentiment") or {}
    themes = [str(theme) for theme in analysis.get("themes") or []]
    return {
        "voc_last_sentiment": sentiment.get("label"), "voc_last_sentiment_score": sentiment.get("compound"),
        "voc_last_themes": ";".join(themes) if themes else None,
        "voc_experience_mismatch": analysis.get("mismatch"), "voc_last_touchpoint": data.get("touchpoint"),
        "voc_updated_at": timestamp,
    }


def _invited(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    invitation = data.get("invitation") or {}
    return {
        "voc_last_invitation_url": invitation.get("url"), "voc_last_invitation_channel": invitation.get("channel"),
        "voc_last_invitation_touchpoint": invitation.get("touchpoint"),
        "voc_last_invitation_expires_at": invitation.get("expires_at"), "voc_last_invited_at": timestamp,
        "voc_updated_at": timestamp,
    }


def _followup(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    followup = data.get("followup") or {}
    return {"voc_last_followup_id": followup.get("id"), "voc_last_followup_reason": followup.get("reason"),
            "voc_last_followup_status": followup.get("status"), "voc_updated_at": timestamp}


def _opted_out(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    return {"voc_opted_out": True, "voc_opted_out_at": (data.get("opted_out") or {}).get("at"),
            "voc_updated_at": timestamp}


class Blank:
    """A value to clear on the CRM's record (contact.erased): HubSpot takes "", Salesforce null."""


BLANK = Blank()


def _erased(data: dict[str, Any], timestamp: Any) -> dict[str, Any]:
    # voc's data about the person is erased: every voc property on the record is cleared (the record
    # itself is the CRM's). The names come from each CRM module's own list (see blank_all).
    return {"voc_updated_at": timestamp, "*": BLANK}


_MAPPERS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "contact.experience_updated": _summary, "response.completed": _completed, "response.analyzed": _analyzed,
    "invitation.created": _invited, "followup.created": _followup, "contact.opted_out": _opted_out,
    "contact.erased": _erased,
}


def blank_all(values: dict[str, Any], names: Any) -> dict[str, Any]:
    """`values` with "*": BLANK spread over every one of `names` not set otherwise."""
    if values.get("*") is not BLANK:
        return values
    rest = {name: value for name, value in values.items() if name != "*"}
    return {**dict.fromkeys((name for name in names if name not in rest), BLANK), **rest}


def contact_values(event: dict[str, Any]) -> dict[str, Any]:
    """{voc name: raw value} for `event`; event types added later set only voc_updated_at."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    timestamp = event.get("timestamp")
    mapper = _MAPPERS.get(str(event.get("type")), lambda _data, ts: {"voc_updated_at": ts})
    return mapper(data, timestamp)
