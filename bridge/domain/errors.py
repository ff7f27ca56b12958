"""Errors the domain raises; the API maps each to one problem+json response."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a caller can cause."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, *, errors: dict[str, list[str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    """The resource does not exist, or the caller may not know that it exists."""

    status = 404
    title = "Not found"


class Forbidden(DomainError):
    """The caller may see the resource but not do this to it."""

    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, an illegal transition)."""

    status = 409
    title = "Conflict"


class RuleViolation(DomainError):
    """The request is well formed but breaks a rule of the domain."""

    status = 422
    title = "Unprocessable content"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        errors = {field: [detail]} if field else None
        super().__init__(detail, errors=errors, **extra)
        # The web forms put the message beside the input the rule is about.
        self.field = field


class PreconditionFailed(DomainError):
    """The caller's version of the resource is stale."""

    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """A write to a shared, editable resource came without If-Match."""

    status = 428
    title = "Precondition required"


class TooManyRequests(DomainError):
    """The caller has done this too often lately; ``retry_after`` says when to try again."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
