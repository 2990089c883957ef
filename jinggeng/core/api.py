"""Building blocks of the JSON API: authentication, problem details, cursor pages.

The API object itself is assembled in ``config/api.py`` from each app's router.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth
from pydantic import BaseModel, ConfigDict

from jinggeng.core.errors import DomainError
from jinggeng.core.tokens import token_authenticate

T = TypeVar("T")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class TokenAuth(HttpBearer):
    """``Authorization: Bearer jg_…`` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class BrowserSessionAuth(SessionAuth):
    """The browser's session cookie; unsafe methods need the CSRF token."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None and not getattr(user, "is_active", False):
            return None
        return user


class Row(BaseModel):
    """An output shape filled from plain values (dicts or attributes), validated entirely inside
    pydantic-core.

    ninja's ``Schema`` wraps every object it validates in a ``DjangoGetter`` so that
    ``resolve_*`` methods and related managers work, which costs a Python call per field: about
    3 ms for a page of 50 accounts, more than the SQL behind it. Lists that build their rows
    as plain values (``.values()`` rows turned into dicts) use ``Row`` instead; shapes that
    need ``resolve_*`` stay ``Schema``."""

    model_config = ConfigDict(from_attributes=True)


_FALLBACK_ENCODER = NinjaJSONEncoder()
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    if type(value) is Decimal:  # the common case (coordinates, amounts) without the encoder's chain
        return str(value)
    return _FALLBACK_ENCODER.default(value)


def dump_json(data: Any) -> bytes:
    """JSON as the API writes it: orjson writes the document (UTF-8, no ``\\u`` escapes); what
    orjson does not know natively goes through ninja's encoder, dates and times included, so
    every value keeps the form Django's encoder gives it (``2026-11-25T08:30:00.123Z``,
    decimals as strings). The standard library's encoder took about 0.5 ms for a page of 50
    accounts, orjson 0.1 ms."""
    return orjson.dumps(data, default=_json_default, option=_ORJSON_OPTIONS)


class JSONRenderer(BaseRenderer):
    """The API's renderer (``dump_json``)."""

    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return dump_json(data)


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    """An API answer written straight from plain values, skipping ninja's response validation.

    For the hottest lists only (validating and dumping a page of 50 rows costs about 0.6 ms, a
    tenth of the request): the operation keeps its ``response=`` schema for the OpenAPI
    document, builds its rows in one function, and a test validates real answers against the
    schema (``core/tests/test_fast_paths.py``)."""
    return HttpResponse(dump_json(data), status=status, content_type="application/json; charset=utf-8")


class ErrorItem(Schema):
    field: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details, with a stable ``code`` and per-field ``errors``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[ErrorItem] = []


class AuditEntryOut(Schema):
    """One change of a record, as every history endpoint returns it: who (``actor_id`` and the
    ``actor``'s name), when, what (``changes``: ``{field: [old, new]}``) and why."""

    id: int
    at: dt.datetime
    action: str
    actor_id: int | None
    actor: str | None
    changes: dict[str, Any]
    reason: str

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return person_name(obj.actor)


def person_name(user: Any) -> str | None:
    """A user as people know them: the employee's name, else the username."""
    if user is None:
        return None
    employee = getattr(user, "employee", None) if _has_employee(user) else None
    return str(employee.name) if employee is not None else str(user.get_username())


def _has_employee(user: Any) -> bool:
    try:
        return getattr(user, "employee", None) is not None
    except Exception:  # RelatedObjectDoesNotExist: a user without an employee profile
        return False


HISTORY_LIMIT = 500


class CursorPage(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None


def problem_response(
    api: NinjaAPI,
    request: HttpRequest,
    *,
    status: int,
    code: str,
    detail: str,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"https://jinggeng.dev/problems/{code}",
        "title": HTTP_TITLES.get(status, _("错误")),
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [{"field": f, "message": m} for f, msgs in (errors or {}).items() for m in msgs],
    }
    body.update(extra or {})
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM_CONTENT_TYPE
    return response


HTTP_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}


def _loc_to_field(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form", "file")]
    return ".".join(parts) or "body"


def install_problem_handlers(api: NinjaAPI) -> None:
    """Every error leaves the API as problem details with a stable code."""

    @api.exception_handler(DomainError)
    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return problem_response(
            api, request, status=exc.status, code=exc.code, detail=exc.message, errors=exc.field_errors, extra=exc.extra
        )

    @api.exception_handler(NinjaValidationError)
    def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for err in exc.errors:
            errors.setdefault(_loc_to_field(err.get("loc", ())), []).append(str(err.get("msg", "")))
        return problem_response(
            api, request, status=422, code="validation_failed", detail=_("提交的数据有误"), errors=errors
        )

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem_response(
            api, request, status=401, code="not_authenticated", detail=_("需要登录或有效的 API 令牌")
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem_response(api, request, status=exc.status_code, code="http_error", detail=str(exc))


__all__ = [
    "APIKeyHeader",
    "BrowserSessionAuth",
    "CursorPage",
    "ErrorItem",
    "Problem",
    "TokenAuth",
    "install_problem_handlers",
    "problem_response",
]
