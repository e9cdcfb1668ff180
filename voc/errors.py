"""Expected failures: each has an HTTP status and a stable code other systems can rely on."""

from __future__ import annotations

from typing import Any


class VocError(Exception):
    """A failure caused by the caller's input or the state of things, never a bug."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


    @property
    def headers(self) -> dict[str, str] | None:
        """Extra response headers: Retry-After for errors that say when to try again."""
        retry_after = getattr(self, "retry_after", None)
        return {"Retry-After": str(int(retry_after))} if retry_after else None


class NotFound(VocError):
    status_code = 404
    code = "not_found"


class Conflict(VocError):
    status_code = 409
    code = "conflict"


class Invalid(VocError):
    status_code = 422
    code = "validation_error"


class Unauthorized(VocError):
    status_code = 401
    code = "unauthorized"


class Forbidden(VocError):
    status_code = 403
    code = "forbidden"


class Gone(VocError):
    status_code = 410
    code = "gone"


class Busy(VocError):
    """No database connection or write lock within the configured wait: try again shortly."""

    status_code = 503
    code = "busy"
    retry_after = 2
