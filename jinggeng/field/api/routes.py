"""JSON API of the field app: routes (七定), visit standards and the optimiser's proposals.

Mounted under ``/api/v1/field``: ``/routes`` (list, create), ``/routes/{id}`` (read, change,
delete) with ``/stops``, ``/map`` and ``/history``; ``/routes/standards`` (visit standards and
the one an outlet gets); ``/routes/proposals`` (optimise a rep's week, read, accept, reject).
Out of scope is 404; missing permission on a record in scope 403.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from jinggeng.core.api import HISTORY_LIMIT, AuditEntryOut, CursorPage, person_name
from jinggeng.core.errors import PermissionDenied
from jinggeng.customers import selectors as customer_selectors
from jinggeng.field.models import Route, RouteProposal, RouteStop, VisitStandard
from jinggeng.field.selectors import routes as selectors
from jinggeng.field.services import routes as services

router = Router()

VERSION_HELP = "the version you read; a different stored version answers 409 version_conflict"


def _limit(limit: int) -> int:
    return max(1, min(limit, settings.PAGE_SIZE_MAX))


# --------------------------------------------------------------------------- schemas


class Ref(Schema):
    id: int
    name: str | None


class StopIn(Schema):
    account_id: int
    visit_minutes: int | None = None
    window_start: dt.time | None = None
    window_end: dt.time | None = None


class StopPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    visit_minutes: int | None = None
    window_start: dt.time | None = None
    window_end: dt.time | None = None


class StopAddIn(StopIn):
    position: int | None = Field(None, description="1 = first; default last")
    version: int | None = Field(None, description=VERSION_HELP)


class StopOrderIn(Schema):
    account_ids: list[int] = Field(description="every outlet of the route once, in the new order")
    version: int | None = Field(None, description=VERSION_HELP)


class StopOut(Schema):
    position: int
    account_id: int
    name: str
    code: str | None
    grade: str
    latitude: Decimal | None
    longitude: Decimal | None
    visit_minutes: int | None
    window_start: dt.time | None
    window_end: dt.time | None


class RouteIn(Schema):
    code: str
    name: str
    rep_id: int
    org_unit_id: int | None = Field(None, description="default: the rep's org unit")
    area: str = ""
    cycle: str = Field("weekly", description="weekly | biweekly | four_weekly | times_per_week")
    weekdays: list[int] = Field(description="ISO weekdays, 1 = Monday … 7 = Sunday")
    anchor_date: dt.date | None = Field(None, description="which weeks a two- or four-weekly route runs")
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    standard_id: int | None = Field(None, description="empty: chosen per outlet by type and grade")
    start_latitude: Decimal | None = None
    start_longitude: Decimal | None = None
    active: bool = True
    notes: str = ""
    stops: list[StopIn] = Field([], description="the outlets in visiting order")


class RoutePatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    code: str | None = None
    name: str | None = None
    rep_id: int | None = None
    org_unit_id: int | None = None
    area: str | None = None
    cycle: str | None = None
    weekdays: list[int] | None = None
    anchor_date: dt.date | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    standard_id: int | None = None
    start_latitude: Decimal | None = None
    start_longitude: Decimal | None = None
    active: bool | None = None
    notes: str | None = None
    stops: list[StopIn] | None = Field(None, description="replaces every stop, in this order")


class RouteOut(Schema):
    id: int
    code: str
    name: str
    rep: Ref
    org_unit: Ref
    area: str
    cycle: str
    cycle_days: int
    weekdays: list[int]
    anchor_date: dt.date | None
    start_time: dt.time | None
    end_time: dt.time | None
    standard_id: int | None
    start_latitude: Decimal | None
    start_longitude: Decimal | None
    active: bool
    notes: str
    stop_count: int
    version: int


class RouteDetail(RouteOut):
    stops: list[StopOut]


class MapPoint(Schema):
    number: int
    account_id: int
    name: str
    code: str
    grade: str
    address: str
    lat: float | None = None
    lng: float | None = None


class MapOut(Schema):
    route_id: int
    start: dict[str, float] | None
    points: list[MapPoint]
    missing: list[MapPoint]


class StandardOut(Schema):
    id: int
    code: str
    name: str
    account_type: str
    grade: str
    channel_type_id: int | None
    required_steps: list[str]
    optional_steps: list[str]
    visit_minutes: int
    min_minutes: int
    active: bool


class RouteFilterIn(Schema):
    q: str = ""
    rep: int | None = None
    org_unit: int | None = None
    weekday: int | None = Field(None, ge=1, le=7)
    active: bool | None = True
    sort: str = "code"
    cursor: str | None = None
    limit: int = 50


class ProposalIn(Schema):
    rep_id: int
    working_days: list[int] | None = Field(
        None, description="ISO weekdays; default Monday–Friday plus the routes' days"
    )
    day_start: dt.time | None = Field(None, description="default the routes' start time, else 08:30")
    day_end: dt.time | None = Field(None, description="default the routes' end time, else 17:30")
    time_limit_seconds: float | None = Field(None, description="0.5–30; default 5")


class DecisionIn(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    reason: str = ""


class ProposalDay(Schema):
    weekday: int
    route_ids: list[int] = []
    account_ids: list[int]
    arrivals: list[str]
    km: float
    travel_minutes: float
    visit_minutes: float
    wait_minutes: float
    workload_minutes: float


class ProposalOut(Schema):
    id: int
    rep: Ref
    status: str
    params: dict[str, Any]
    current: list[ProposalDay]
    proposed: list[ProposalDay]
    totals_current: dict[str, float]
    totals_proposed: dict[str, float]
    created_by: Ref
    created_at: dt.datetime
    decided_by: Ref | None
    decided_at: dt.datetime | None
    reason: str
    version: int


# --------------------------------------------------------------------------- shaping


def _ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    if hasattr(obj, "get_username"):
        return {"id": obj.pk, "name": person_name(obj)}
    return {"id": obj.pk, "name": str(obj.name)}


def route_out(route: Route, stop_count: int | None = None) -> dict[str, Any]:
    count = stop_count if stop_count is not None else getattr(route, "stop_count", None)
    return {
        "id": route.pk,
        "code": route.code,
        "name": route.name,
        "rep": _ref(route.rep),
        "org_unit": _ref(route.org_unit),
        "area": route.area,
        "cycle": route.cycle,
        "cycle_days": services.cycle_days(route.cycle, route.weekdays or []),
        "weekdays": route.weekdays or [],
        "anchor_date": route.anchor_date,
        "start_time": route.start_time,
        "end_time": route.end_time,
        "standard_id": route.standard_id,
        "start_latitude": route.start_latitude,
        "start_longitude": route.start_longitude,
        "active": route.active,
        "notes": route.notes,
        "stop_count": count if count is not None else route.stops.count(),
        "version": route.version,
    }


def stop_out(stop: RouteStop) -> dict[str, Any]:
    a = stop.account
    return {
        "position": stop.position,
        "account_id": a.pk,
        "name": a.name,
        "code": a.code,
        "grade": a.grade,
        "latitude": a.latitude,
        "longitude": a.longitude,
        "visit_minutes": stop.visit_minutes,
        "window_start": stop.window_start,
        "window_end": stop.window_end,
    }


def route_detail(request: HttpRequest, route_id: int) -> dict[str, Any]:
    route = selectors.route_get(actor=request.user, route_id=route_id)
    stops = selectors.route_stops(actor=request.user, route_id=route_id)
    return {**route_out(route, len(stops)), "stops": [stop_out(s) for s in stops]}


def standard_out(s: VisitStandard) -> dict[str, Any]:
    return {
        "id": s.pk,
        "code": s.code,
        "name": s.name,
        "account_type": s.account_type,
        "grade": s.grade,
        "channel_type_id": s.channel_type_id,
        "required_steps": list(s.required_steps or []),
        "optional_steps": list(s.optional_steps or []),
        "visit_minutes": s.visit_minutes,
        "min_minutes": s.min_minutes,
        "active": s.active,
    }


def proposal_out(p: RouteProposal) -> dict[str, Any]:
    return {
        "id": p.pk,
        "rep": _ref(p.rep),
        "status": p.status,
        "params": {k: v for k, v in p.params.items() if k != "outlets"},
        "current": p.current,
        "proposed": p.proposed,
        "totals_current": services.proposal_totals(p.current),
        "totals_proposed": services.proposal_totals(p.proposed),
        "created_by": _ref(p.created_by),
        "created_at": p.created_at,
        "decided_by": _ref(p.decided_by),
        "decided_at": p.decided_at,
        "reason": p.reason,
        "version": p.version,
    }


def _data(payload: Schema) -> tuple[dict[str, Any], int | None]:
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    return data, version


# --------------------------------------------------------------------------- standards


@router.get("/routes/standards", response=list[StandardOut], summary="Visit standards")
def list_standards(request: HttpRequest, active: bool | None = None) -> list[dict[str, Any]]:
    return [standard_out(s) for s in selectors.visit_standard_list(actor=request.user, active=active)]


@router.get(
    "/routes/standards/for-account/{account_id}",
    response={200: StandardOut, 204: None},
    summary="The visit standard an outlet gets",
)
def standard_for_account(request: HttpRequest, account_id: int) -> Any:
    """The most specific active standard for the outlet's type, grade and channel type; 204
    when none fits."""
    account = customer_selectors.account_get(actor=request.user, account_id=account_id)
    if not request.user.has_perm("field.view_visitstandard"):
        raise PermissionDenied(_("您没有执行此操作的权限"))
    standard = services.standard_for_account(account)
    if standard is None:
        return Status(204, None)
    return standard_out(standard)


# --------------------------------------------------------------------------- proposals


@router.get("/routes/proposals", response=CursorPage[ProposalOut], summary="Route proposals")
def list_proposals(
    request: HttpRequest,
    rep: int | None = None,
    status: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.proposal_list(actor=request.user, rep=rep, status=status, cursor=cursor, limit=_limit(limit))
    return {"items": [proposal_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.post("/routes/proposals", response={201: ProposalOut}, summary="Optimise a rep's week")
def create_proposal(request: HttpRequest, payload: ProposalIn) -> Status[dict[str, Any]]:
    """Builds the week from the rep's route outlets and solves it (a few seconds). 422 with
    ``code`` ``no_outlets``, ``outlets_without_position`` or ``outlets_unplaced`` and the list in
    ``unplaced`` when it cannot; nothing is saved then."""
    data = payload.dict(exclude_none=True)
    rep_id = data.pop("rep_id")
    proposal = services.route_proposal_create(actor=request.user, rep_id=rep_id, data=data)
    return Status(201, proposal_out(selectors.proposal_get(actor=request.user, proposal_id=proposal.pk)))


@router.get("/routes/proposals/{proposal_id}", response=ProposalOut)
def get_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    return proposal_out(selectors.proposal_get(actor=request.user, proposal_id=proposal_id))


@router.post("/routes/proposals/{proposal_id}/accept", response=ProposalOut, summary="Accept a proposal")
def accept_proposal(request: HttpRequest, proposal_id: int, payload: DecisionIn) -> dict[str, Any]:
    services.route_proposal_accept(
        actor=request.user, proposal_id=proposal_id, expected_version=payload.version, reason=payload.reason
    )
    return proposal_out(selectors.proposal_get(actor=request.user, proposal_id=proposal_id))


@router.post("/routes/proposals/{proposal_id}/reject", response=ProposalOut, summary="Reject a proposal")
def reject_proposal(request: HttpRequest, proposal_id: int, payload: DecisionIn) -> dict[str, Any]:
    services.route_proposal_reject(
        actor=request.user, proposal_id=proposal_id, reason=payload.reason, expected_version=payload.version
    )
    return proposal_out(selectors.proposal_get(actor=request.user, proposal_id=proposal_id))


@router.get("/routes/proposals/{proposal_id}/history", response=list[AuditEntryOut])
def proposal_history(request: HttpRequest, proposal_id: int) -> list[Any]:
    return list(selectors.proposal_history(actor=request.user, proposal_id=proposal_id)[:HISTORY_LIMIT])


# --------------------------------------------------------------------------- routes


@router.get("/routes", response=CursorPage[RouteOut], summary="Routes")
def list_routes(request: HttpRequest, filters: Query[RouteFilterIn]) -> dict[str, Any]:
    page = selectors.route_list(
        actor=request.user,
        filters=selectors.RouteFilters(
            q=filters.q, rep=filters.rep, org_unit=filters.org_unit, weekday=filters.weekday, active=filters.active
        ),
        sort=filters.sort,
        cursor=filters.cursor,
        limit=_limit(filters.limit),
    )
    return {"items": [route_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post("/routes", response={201: RouteDetail}, summary="Create a route")
def create_route(request: HttpRequest, payload: RouteIn) -> Status[dict[str, Any]]:
    route = services.route_create(actor=request.user, data=payload.dict())
    return Status(201, route_detail(request, route.pk))


@router.get("/routes/{route_id}", response=RouteDetail)
def get_route(request: HttpRequest, route_id: int) -> dict[str, Any]:
    return route_detail(request, route_id)


@router.patch("/routes/{route_id}", response=RouteDetail)
def update_route(request: HttpRequest, route_id: int, payload: RoutePatch) -> dict[str, Any]:
    data, version = _data(payload)
    services.route_update(actor=request.user, route_id=route_id, data=data, expected_version=version)
    return route_detail(request, route_id)


@router.delete("/routes/{route_id}", response={204: None})
def delete_route(request: HttpRequest, route_id: int, version: int | None = None) -> Status[None]:
    services.route_delete(actor=request.user, route_id=route_id, expected_version=version)
    return Status(204, None)


@router.get("/routes/{route_id}/history", response=list[AuditEntryOut])
def route_history(request: HttpRequest, route_id: int) -> list[Any]:
    return list(selectors.route_history(actor=request.user, route_id=route_id)[:HISTORY_LIMIT])


@router.get("/routes/{route_id}/map", response=MapOut, summary="The route map (线路图)")
def route_map(request: HttpRequest, route_id: int) -> dict[str, Any]:
    """The stops in visiting order with their positions (``number`` 1, 2, …); outlets without a
    position are in ``missing``."""
    return selectors.route_map_points(actor=request.user, route_id=route_id)


@router.post("/routes/{route_id}/stops", response={201: RouteDetail}, summary="Put an outlet on the route")
def add_stop(request: HttpRequest, route_id: int, payload: StopAddIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    position, version = data.pop("position"), data.pop("version")
    services.route_stop_add(
        actor=request.user, route_id=route_id, data=data, position=position, expected_version=version
    )
    return Status(201, route_detail(request, route_id))


@router.patch("/routes/{route_id}/stops/{account_id}", response=RouteDetail)
def update_stop(request: HttpRequest, route_id: int, account_id: int, payload: StopPatch) -> dict[str, Any]:
    data, version = _data(payload)
    services.route_stop_update(
        actor=request.user, route_id=route_id, account_id=account_id, data=data, expected_version=version
    )
    return route_detail(request, route_id)


@router.delete("/routes/{route_id}/stops/{account_id}", response=RouteDetail)
def remove_stop(request: HttpRequest, route_id: int, account_id: int, version: int | None = None) -> dict[str, Any]:
    services.route_stop_remove(actor=request.user, route_id=route_id, account_id=account_id, expected_version=version)
    return route_detail(request, route_id)


@router.put("/routes/{route_id}/stop-order", response=RouteDetail, summary="Reorder the route's outlets")
def reorder_stops(request: HttpRequest, route_id: int, payload: StopOrderIn) -> dict[str, Any]:
    services.route_stops_reorder(
        actor=request.user, route_id=route_id, account_ids=payload.account_ids, expected_version=payload.version
    )
    return route_detail(request, route_id)
