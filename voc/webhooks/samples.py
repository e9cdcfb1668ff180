"""Sample event bodies, one per event type: for template validation, docs and "send test event"."""

from __future__ import annotations

import copy
from typing import Any

EVENT_TYPES = (
    "invitation.created",
    "response.completed",
    "response.analyzed",
    "contact.experience_updated",
    "followup.created",
    "contact.opted_out",
    "contact.erased",
)

_CONTACT = {"external_id": "0035e00000Xy7AbQAJ", "crm": "salesforce"}
_SURVEY = "post-delivery"
_TOUCHPOINT = "order_delivered"
_RESPONSE_ID = "rsp_01JV8Q3M5K2N7W4X9Y6Z1A2B3C"

_DATA: dict[str, dict[str, Any]] = {
    "invitation.created": {
        "contact": _CONTACT,
        "invitation": {
            "id": "inv_01JV8PZQ4R6S8T0V2W4X6Y8Z0A",
            "url": "https://voc.example.com/s/eyJpbnYiOiJpbnZfMDFKVjhQWlE0UjZTOFQwVjJXNFg2WThaMEEifQ",
            "survey": _SURVEY,
            "touchpoint": _TOUCHPOINT,
            "expires_at": "2025-05-21T09:00:00Z",
            "channel": "email",
        },
    },
    "response.completed": {
        "contact": _CONTACT,
        "response": {
            "id": _RESPONSE_ID,
            "survey": _SURVEY,
            "touchpoint": _TOUCHPOINT,
            "completed_at": "2025-05-14T09:31:12Z",
            "answers": [
                {"question_id": "nps", "type": "nps", "value": 9},
                {"question_id": "ces", "type": "ces", "value": 2},
                {"question_id": "why", "type": "text",
                 "value": "Arrived a day early and the \"unboxing\" felt special; the app was confusing."},
            ],
            "scores": {"nps": 9, "csat": None, "ces": 2},
        },
    },
    "response.analyzed": {
        "contact": _CONTACT,
        "response_id": _RESPONSE_ID,
        "survey": _SURVEY,
        "touchpoint": _TOUCHPOINT,
        "analysis": {
            "sentiment": {"compound": 0.4404, "label": "positive"},
            "dimensions": {
                "sense": {"salience": 0.62, "valence": 0.71},
                "feel": {"salience": 0.48, "valence": 0.55},
                "think": {"salience": 0.35, "valence": -0.42},
                "act": None,
                "relate": None,
            },
            "themes": ["delivery speed", "packaging", "app usability"],
            "mismatch": False,
        },
    },
    "contact.experience_updated": {
        "contact": _CONTACT,
        "summary": {
            "latest_nps": 9,
            "nps_category": "promoter",
            "csat": 4.5,
            "ces": 2.333333,
            "latest_sentiment": {"compound": 0.4404, "label": "positive"},
            "dimensions": {"sense": 0.71, "feel": 0.55, "think": -0.42, "act": None, "relate": 0.3},
            "last_touchpoint": _TOUCHPOINT,
            "response_count": 3,
            "trend": "improving",
            "updated_at": "2025-05-14T09:31:20Z",
        },
    },
    "followup.created": {
        "contact": _CONTACT,
        "followup": {
            "id": "fup_01JV8Q4A7B9C1D3E5F7G9H1J3K",
            "reason": "detractor",
            "response_id": _RESPONSE_ID,
            "status": "open",
        },
    },
    "contact.opted_out": {
        "contact": _CONTACT,
        "opted_out": {"at": "2025-05-15T18:02:44Z", "source": "email_unsubscribe"},
    },
    "contact.erased": {
        "contact": _CONTACT,
        "erased": {"at": "2025-06-02T08:15:00Z"},
    },
}


def sample_event(event_type: str) -> dict[str, Any]:
    """Return a fresh, realistic `{"type", "timestamp", "data"}` body for `event_type`."""
    if event_type not in _DATA:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}")
    # A deep copy, so a caller that edits its sample cannot change the next one.
    return {"type": event_type, "timestamp": "2025-05-14T09:31:21Z", "data": copy.deepcopy(_DATA[event_type])}
