"""Every table of every domain, imported in one place for Alembic and create_all."""

from sqlmodel import SQLModel

from voc.analytics.models import Rollup, RollupEntry  # noqa: F401
from voc.audit.models import AuditEntry
from voc.auth.models import ApiKey, User
from voc.digest.models import DigestSend  # noqa: F401
from voc.embed.models import Site
from voc.followups.models import Followup, FollowupNote  # noqa: F401
from voc.jobs.models import Job
from voc.limits.models import RateLimit  # noqa: F401
from voc.surveys.models import (
    Answer,
    Contact,
    Event,
    Invitation,
    PartialResponse,
    Response,
    Survey,
    SurveyVersion,
    Touchpoint,
)
from voc.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

metadata = SQLModel.metadata

__all__ = ["ApiKey", "AuditEntry", "User", "Answer", "Contact", "Event", "Invitation", "Job", "PartialResponse",
           "Response", "Site", "Survey", "SurveyVersion", "Touchpoint", "WebhookAttempt", "WebhookEndpoint",
           "WebhookMessage", "metadata"]
