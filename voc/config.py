"""Settings: every one is also an environment variable with the VOC_ prefix."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """voc's configuration, read once from the environment (VOC_*)."""

    model_config = SettingsConfigDict(env_prefix="VOC_", env_file=None, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///voc.db"
    secret_key: str = DEV_SECRET_KEY
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # Workspace-wide quarantine across all surveys, so nobody is over-surveyed.
    contact_cooldown_days: float = 7.0
    invitation_expires_after_hours: float = 24 * 14
    job_poll_seconds: float = 0.5
    job_max_attempts: int = 8
    # A worker renews its claim on running jobs every third of this (heartbeat); a killed worker's jobs
    # are claimed again by another worker once it has passed.
    job_lease_seconds: float = 30.0
    webhook_retry_schedule: Annotated[list[float], NoDecode] = [5, 300, 1800, 7200, 18000, 36000, 50400]
    webhook_timeout_seconds: float = 10.0
    webhook_allow_private: bool = False
    # Deliveries run concurrently beside the worker's other jobs: this many at once in all, at most
    # `webhook_endpoint_concurrency` at once per endpoint (in publish order per contact), and per endpoint
    # at most `webhook_endpoint_rate` a second when set (0: no rate limit).
    webhook_concurrency: int = 8
    webhook_endpoint_concurrency: int = 2
    webhook_endpoint_rate: float = 0.0
    log_level: str = "INFO"
    # Bounded waits: a request that cannot get a database connection (PostgreSQL pool) or SQLite's write
    # lock within these seconds is answered 503 `busy` with Retry-After, never left hanging.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_pool_timeout_seconds: float = 5.0
    db_lock_timeout_seconds: float = 5.0
    # Threads for request handlers' database work and page rendering (the pool FastAPI runs them in).
    threads: int = 16
    # The event loop is watched: a stall longer than this is logged with where the loop was.
    loop_stall_warn_ms: float = 100.0
    # Request bodies are refused (413 too_large) past these sizes, before they are read.
    public_body_limit_bytes: int = 64 * 1024
    api_body_limit_bytes: int = 1024 * 1024
    # Housekeeping by the worker: finished jobs and delivered webhook messages older than this are
    # deleted (dead jobs and undelivered messages stay for inspection and replay).
    job_retention_days: float = 7.0
    webhook_retention_days: float = 90.0
    housekeeping_interval_seconds: float = 3600.0
    # Free text (comments, text answers, abandoned partial answers) older than this many days is removed by
    # the worker's housekeeping; scores, sentiment and dimensions stay. Unset: kept.
    text_retention_days: float | None = None
    # E-mail invitations: smtp://[user:password@]host[:port] (smtps:// for TLS, ?starttls=1 to upgrade).
    smtp_url: str | None = None
    email_from: str = "voc <surveys@localhost>"
    smtp_timeout_seconds: float = 10.0
    # The embed widget's public decision endpoint: per visitor address per site (generous: an office
    # behind one NAT address is many visitors), and per site overall.
    embed_decisions_per_minute: float = 120.0
    embed_site_decisions_per_minute: float = 6000.0
    # Public routes (the survey page, answers, sign-in, unsubscribe): requests per client address per route
    # group, in bursts of up to `public_burst`, then 429 `rate_limited`. Generous: a crowd behind one NAT
    # address is many customers.
    public_requests_per_minute: Annotated[float, Field(gt=0)] = 600.0
    public_burst: Annotated[float, Field(ge=1)] = 120.0
    # Sign-in: after this many wrong passwords for one account from one address, each further attempt from
    # there waits 2, 4, 8 … seconds (at most login_max_delay_seconds); other addresses are not slowed.
    login_failures_before_delay: Annotated[int, Field(ge=1)] = 5
    login_max_delay_seconds: Annotated[float, Field(ge=1)] = 900.0
    # Where the limits above are kept so that they hold in total across processes: Redis at this URL
    # (redis://host:6379/0, the `redis` extra) when set, else PostgreSQL when it is the database, else the
    # process (SQLite: one process). See voc.limits.
    redis_url: str | None = None
    # Where browsers get htmx: "cdn" (unpkg, with the vendored copy as a fallback) or "local" (voc only).
    htmx_source: Literal["cdn", "local"] = "cdn"
    # GET /metrics needs `Authorization: Bearer <metrics_token>` when set; in production it is refused unless set.
    metrics_token: str | None = None
    # /docs, /redoc and /openapi.json are off in production unless this is true.
    public_docs: bool = False
    # Reporting days are whole days in this IANA time zone (e.g. Europe/Berlin): the dashboard's periods, the
    # explorer and its CSV, the API's default period, and the day each rollup row counts. The rollups are
    # kept per day in this zone, so changing it needs `voc rebuild-rollups`.
    time_zone: str = "UTC"
    # Follow-ups: hours to resolve a case when its touchpoint sets none (then it is overdue), and the contact
    # attribute holding the customer's value (a number, e.g. lifetime value) that raises a case's priority.
    followup_sla_hours: Annotated[float, Field(gt=0, le=24 * 365)] = 48.0
    followup_value_attribute: Annotated[str, Field(min_length=1, max_length=64)] = "value"

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        if value != "UTC":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"VOC_TIME_ZONE: {value!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_installed(cls, value: str | None) -> str | None:
        if value and importlib.util.find_spec("redis") is None:
            raise ValueError("VOC_REDIS_URL is set but the redis package is missing: pip install 'voc[redis]'")
        return value or None

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32):
            raise ValueError("VOC_SECRET_KEY must be set to a random value of 32+ characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to change them)."""
    return Settings()
