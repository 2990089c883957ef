"""One family of domain errors with stable codes.

Services raise these; the API turns them into RFC 9457 problem details and the HTML views into
form errors or error pages. A code never changes once released: clients branch on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code = "domain_error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.field_errors: dict[str, list[str]] = {k: [str(m) for m in v] for k, v in (errors or {}).items()}
        if field:
            self.field_errors.setdefault(field, []).append(self.message)
        self.extra: dict[str, Any] = dict(extra or {})

    def __str__(self) -> str:
        if self.field_errors:
            parts = [f"{name}: {'; '.join(msgs)}" for name, msgs in self.field_errors.items()]
            return f"{self.message} ({', '.join(parts)})"
        return self.message


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422


class NotFound(DomainError):
    """Also raised for records outside the actor's scope: they do not exist for the actor."""

    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409
