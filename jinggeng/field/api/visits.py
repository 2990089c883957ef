"""JSON API of the field app: visits (``/api/v1/field/visits…``).

Reads are scoped to the caller. The create-like calls (ad-hoc visit, check-in, check-out, step,
photo) accept an ``Idempotency-Key`` header: a retry with the same key and body answers with
the first result (header ``Idempotent-Replayed: true``) and changes nothing; the same key with
another body answers 409 ``idempotency_key_reused``. A phone that queued requests offline
resends them with their keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jinggeng.field.models import Visit, VisitPhoto, VisitStep
from jinggeng.field.selectors import visits as selectors
from jinggeng.field.services import visits as services

router = Router()

IDEMPOTENCY_HELP = "a unique key per logical request (8–100 characters): a retry with it changes nothing more"


# --------------------------------------------------------------------------- schemas


class PositionIn(Schema):
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    device_at: str | None = None


class AdHocIn(Schema):
    account_id: int
    notes: str = ""


class StepIn(Schema):
    kind: str
    data: dict[str, Any] | None = None
    notes: str = ""


class FlagOut(Schema):
    code: str
    label: str
    detail: dict[str, Any]
    created_at: dt.datetime


class StepOut(Schema):
    id: int
    kind: str
    label: str
    done_at: dt.datetime
    data: dict[str, Any]
    notes: str


class PhotoOut(Schema):
    id: int
    kind: str
    url: str
    sha256: str
    size: int
    width: int
    height: int
    content_type: str
    taken_at: dt.datetime | None
    uploaded_at: dt.datetime
    reused_from_id: int | None


class ChecklistOut(Schema):
    kind: str
    label: str
    required: bool
    done: bool


class VisitItem(Schema):
    id: int
    account_id: int
    account_name: str
    rep_id: int
    rep_name: str
    kind: str
    status: str
    visit_date: dt.date
    planned_date: dt.date | None
    planned_position: int | None
    actual_position: int | None
    carried_from_id: int | None
    check_in_at: dt.datetime | None
    check_out_at: dt.datetime | None
    check_in_distance_m: float | None
    duration_seconds: int | None
    flag_count: int
    flags: list[str]
    version: int


class VisitOut(VisitItem):
    route_id: int | None
    standard_id: int | None
    check_in_device_at: dt.datetime | None
    check_in_latitude: float | None
    check_in_longitude: float | None
    check_in_accuracy_m: float | None
    check_out_device_at: dt.datetime | None
    check_out_latitude: float | None
    check_out_longitude: float | None
    check_out_accuracy_m: float | None
    outlet_latitude: float | None
    outlet_longitude: float | None
    notes: str
    flag_details: list[FlagOut]
    steps: list[StepOut]
    checklist: list[ChecklistOut]
    missing_steps: list[str]
    photos: list[PhotoOut]


class VisitPage(Schema):
    items: list[VisitItem]
    next_cursor: str | None


class VisitQuery(Schema):
    rep: int | None = None
    day: dt.date | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str = ""
    flag: str = ""
    account: int | None = None
    flagged: bool | None = None
    sort: str = "-visit_date"
    cursor: str | None = None
    limit: int = 50


# --------------------------------------------------------------------------- shaping


def _name(user: Any) -> str:
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def item_out(v: Visit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "account_id": v.account_id,
        "account_name": v.account.name,
        "rep_id": v.rep_id,
        "rep_name": _name(v.rep),
        "kind": v.kind,
        "status": v.status,
        "visit_date": v.visit_date,
        "planned_date": v.planned_date,
        "planned_position": v.planned_position,
        "actual_position": v.actual_position,
        "carried_from_id": v.carried_from_id,
        "check_in_at": v.check_in_at,
        "check_out_at": v.check_out_at,
        "check_in_distance_m": v.check_in_distance_m,
        "duration_seconds": v.duration_seconds,
        "flag_count": v.flag_count,
        "flags": [f.code for f in v.flags.all()],
        "version": v.version,
    }


def photo_out(p: VisitPhoto) -> dict[str, Any]:
    return {
        "id": p.pk,
        "kind": p.kind,
        "url": reverse("field:visit_photo_file", args=[p.pk]),
        "sha256": p.sha256,
        "size": p.size,
        "width": p.width,
        "height": p.height,
        "content_type": p.content_type,
        "taken_at": p.taken_at,
        "uploaded_at": p.uploaded_at,
        "reused_from_id": p.reused_from_id,
    }


def step_out(s: VisitStep) -> dict[str, Any]:
    return {
        "id": s.pk,
        "kind": s.kind,
        "label": str(s.get_kind_display()),
        "done_at": s.done_at,
        "data": s.data,
        "notes": s.notes,
    }


def visit_out(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    v = selectors.visit_get(actor=request.user, visit_id=visit_id)
    checklist = selectors.visit_checklist(v)
    return {
        **item_out(v),
        "route_id": v.route_id,
        "standard_id": v.standard_id,
        "check_in_device_at": v.check_in_device_at,
        "check_in_latitude": _float(v.check_in_latitude),
        "check_in_longitude": _float(v.check_in_longitude),
        "check_in_accuracy_m": v.check_in_accuracy_m,
        "check_out_device_at": v.check_out_device_at,
        "check_out_latitude": _float(v.check_out_latitude),
        "check_out_longitude": _float(v.check_out_longitude),
        "check_out_accuracy_m": v.check_out_accuracy_m,
        "outlet_latitude": _float(v.account.latitude),
        "outlet_longitude": _float(v.account.longitude),
        "notes": v.notes,
        "flag_details": [
            {"code": f.code, "label": str(f.get_code_display()), "detail": f.detail, "created_at": f.created_at}
            for f in v.flags.all()
        ],
        "steps": [step_out(s) for s in v.steps.all()],
        "checklist": [{"kind": c.kind, "label": c.label, "required": c.required, "done": c.done} for c in checklist],
        "missing_steps": [c.kind for c in checklist if c.required and not c.done],
        "photos": [photo_out(p) for p in v.photos.all()],
    }


def _replayed(response: HttpResponse, created: bool) -> None:
    if not created:
        response["Idempotent-Replayed"] = "true"


# --------------------------------------------------------------------------- reads


@router.get("/visits", response=VisitPage, summary="List visits in your scope")
def list_visits(request: HttpRequest, query: Query[VisitQuery]) -> dict[str, Any]:
    """Filters: rep (user id), day, date_from / date_to, status, flag (a flag code), account,
    flagged (true: with any flag). Newest day first; sort by visit_date, check_in_at,
    flag_count or id (prefix `-` for descending)."""
    page = selectors.visit_list(
        actor=request.user,
        filters=selectors.VisitFilters(
            rep=query.rep,
            day=query.day,
            date_from=query.date_from,
            date_to=query.date_to,
            status=query.status,
            flag=query.flag,
            account=query.account,
            flagged=query.flagged,
        ),
        sort=query.sort,
        cursor=query.cursor,
        limit=max(1, min(query.limit, settings.PAGE_SIZE_MAX)),
    )
    return {"items": [item_out(v) for v in page.items], "next_cursor": page.next_cursor}


@router.get("/visits/today", response=list[VisitItem], summary="Your own visits of a day, in route order")
def today(request: HttpRequest, day: dt.date | None = None) -> list[dict[str, Any]]:
    """Planned visits in route order, then ad-hoc ones; carried-over visits have
    `carried_from_id`. `day` defaults to today (local time)."""
    return [item_out(v) for v in selectors.visit_today(actor=request.user, day=day)]


@router.get("/visits/{visit_id}", response=VisitOut, summary="A visit with flags, steps and photos")
def get_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    return visit_out(request, visit_id)


# --------------------------------------------------------------------------- writes


@router.post("/visits", response={201: VisitOut}, summary="Create an ad-hoc visit for today (idempotent)")
def create_ad_hoc(
    request: HttpRequest,
    payload: AdHocIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """An outlet outside your scope answers 404; an open visit to the same outlet today 409
    `visit_exists` (with its `visit_id`)."""
    visit, created = services.visit_create_ad_hoc(
        actor=request.user, account_id=payload.account_id, notes=payload.notes, idempotency_key=idempotency_key
    )
    _replayed(response, created)
    return Status(201, visit_out(request, visit.pk))


@router.post("/visits/{visit_id}/check-in", response=VisitOut, summary="Check in at the outlet (idempotent)")
def check_in(
    request: HttpRequest,
    visit_id: int,
    payload: PositionIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Device position (`latitude`, `longitude`), its `accuracy_m` and the device time
    `device_at` (ISO 8601). The server time is recorded; the distance to the outlet and the
    flags are computed. Bad positions answer 422 naming the field."""
    _, created = services.visit_check_in(
        actor=request.user, visit_id=visit_id, data=payload.dict(), idempotency_key=idempotency_key
    )
    _replayed(response, created)
    return visit_out(request, visit_id)


@router.post("/visits/{visit_id}/check-out", response=VisitOut, summary="Check out of the outlet (idempotent)")
def check_out(
    request: HttpRequest,
    visit_id: int,
    payload: PositionIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Before check-in: 409 `not_checked_in`; a device time before the check-in: 422
    `check_out_before_check_in`."""
    _, created = services.visit_check_out(
        actor=request.user, visit_id=visit_id, data=payload.dict(), idempotency_key=idempotency_key
    )
    _replayed(response, created)
    return visit_out(request, visit_id)


@router.post("/visits/{visit_id}/steps", response={201: StepOut}, summary="Record a visit step (idempotent)")
def record_step(
    request: HttpRequest,
    visit_id: int,
    payload: StepIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """`kind`: card, posm, shelf, stock, competitor, order, farewell. `data` for posm:
    `{"checks": {"poster": true, "shelf_strip": false, "display": true, "price_tag": true}}`;
    for shelf: `{"tidied": true, "storeroom": true}`."""
    step, created = services.visit_step_record(
        actor=request.user,
        visit_id=visit_id,
        kind=payload.kind,
        data=payload.data,
        notes=payload.notes,
        idempotency_key=idempotency_key,
    )
    _replayed(response, created)
    return Status(201, step_out(step))


@router.post("/visits/{visit_id}/photos", response={201: PhotoOut}, summary="Upload a visit photo (idempotent)")
def add_photo(
    request: HttpRequest,
    visit_id: int,
    response: HttpResponse,
    file: File[UploadedFile],
    kind: Form[str] = "shelf",
    taken_at: Form[str] = "",
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """Multipart: `file` (JPEG, PNG or WebP up to FIELD_PHOTO_MAX_BYTES), `kind` (shelf,
    storefront, posm, other), `taken_at` (ISO 8601, optional). A picture already used at
    another visit is kept with `reused_from_id` and flags this visit `reused_photo`."""
    photo, created = services.visit_photo_add(
        actor=request.user,
        visit_id=visit_id,
        upload=file,
        kind=kind,
        taken_at=taken_at or None,
        idempotency_key=idempotency_key,
    )
    _replayed(response, created)
    return Status(201, photo_out(photo))


@router.post("/visits/{visit_id}/complete", response=VisitOut, summary="Complete a checked-out visit")
def complete(request: HttpRequest, visit_id: int, expected_version: int | None = None) -> dict[str, Any]:
    """Refused (422 `steps_missing`, `errors.steps` naming them) while a required step of the
    visit's standard is missing; 409 `not_checked_out` before check-out. `expected_version`
    (query) guards against completing a visit changed meanwhile."""
    services.visit_complete(actor=request.user, visit_id=visit_id, expected_version=expected_version)
    return visit_out(request, visit_id)
