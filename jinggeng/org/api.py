"""The org JSON API (mounted at /api/v1/org): units, employees, territories, divisions, roles.

Thin: parse, call one selector or service, return. Lists use cursor pages; errors leave as
problem details (see config/api.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from jinggeng.core.api import AuditEntryOut, CursorPage
from jinggeng.core.pagination import keyset_paginate
from jinggeng.org import selectors, services
from jinggeng.org.schemas import (
    DivisionOut,
    EmployeeCreateIn,
    EmployeeLeaveIn,
    EmployeeOut,
    EmployeePatchIn,
    OrgUnitCreateIn,
    OrgUnitMoveIn,
    OrgUnitOut,
    OrgUnitPatchIn,
    RoleOut,
    RolePatchIn,
    TerritoryCreateIn,
    TerritoryOut,
    TerritoryPatchIn,
    patch_data,
)

router = Router(tags=["org"])


class ListParams(Schema):
    cursor: str | None = None
    limit: int | None = None
    q: str | None = None


def _page(qs: Any, params: ListParams, *, sort: str | None, default: str, allowed: list[str]) -> dict[str, Any]:
    limit = max(1, min(params.limit or settings.PAGE_SIZE_DEFAULT, settings.PAGE_SIZE_MAX))
    page = keyset_paginate(qs, sort=sort or default, allowed_sorts=allowed, cursor=params.cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _history(qs: Any, params: ListParams) -> dict[str, Any]:
    return _page(qs.select_related("actor__employee"), params, sort=None, default="-id", allowed=["id"])


# --- org units ------------------------------------------------------------------------------


class UnitFilters(ListParams):
    kind: str | None = None
    active: bool | None = None
    parent: int | None = None
    sort: str | None = None


@router.get("/units", response=CursorPage[OrgUnitOut])
def unit_list(request: HttpRequest, filters: Query[UnitFilters]) -> Any:
    qs = selectors.orgunit_list(
        actor=request.user, q=filters.q, kind=filters.kind, active=filters.active, parent=filters.parent
    )
    return _page(qs, filters, sort=filters.sort, default="path", allowed=["path", "code", "name", "id"])


@router.get("/units/{unit_id}", response=OrgUnitOut)
def unit_get(request: HttpRequest, unit_id: int) -> Any:
    return selectors.orgunit_get(actor=request.user, id=unit_id)


@router.post("/units", response={201: OrgUnitOut})
def unit_create(request: HttpRequest, payload: OrgUnitCreateIn) -> Any:
    return Status(201, services.orgunit_create(actor=request.user, data=payload.dict()))


@router.patch("/units/{unit_id}", response=OrgUnitOut)
def unit_update(request: HttpRequest, unit_id: int, payload: OrgUnitPatchIn) -> Any:
    return services.orgunit_update(
        actor=request.user,
        unit_id=unit_id,
        data=patch_data(payload),
        expected_version=payload.version,
    )


@router.post("/units/{unit_id}/move", response=OrgUnitOut)
def unit_move(request: HttpRequest, unit_id: int, payload: OrgUnitMoveIn) -> Any:
    return services.orgunit_move(actor=request.user, unit_id=unit_id, new_parent_id=payload.parent_id)


@router.delete("/units/{unit_id}", response={204: None})
def unit_delete(request: HttpRequest, unit_id: int) -> Any:
    services.orgunit_delete(actor=request.user, unit_id=unit_id)
    return Status(204, None)


@router.get("/units/{unit_id}/history", response=CursorPage[AuditEntryOut])
def unit_history(request: HttpRequest, unit_id: int, params: Query[ListParams]) -> Any:
    return _history(selectors.orgunit_history(actor=request.user, id=unit_id), params)


# --- employees ------------------------------------------------------------------------------


class EmployeeFilters(ListParams):
    role: str | None = None
    org_unit: int | None = None
    status: str | None = None
    sort: str | None = None


@router.get("/employees", response=CursorPage[EmployeeOut])
def employee_list(request: HttpRequest, filters: Query[EmployeeFilters]) -> Any:
    qs = selectors.employee_list(
        actor=request.user,
        q=filters.q,
        role=filters.role,
        org_unit=filters.org_unit,
        status=filters.status,
    )
    return _page(qs, filters, sort=filters.sort, default="name", allowed=["name", "code", "id", "status"])


@router.get("/employees/{employee_id}", response=EmployeeOut)
def employee_get(request: HttpRequest, employee_id: int) -> Any:
    return selectors.employee_get(actor=request.user, id=employee_id)


@router.post("/employees", response={201: EmployeeOut})
def employee_create(request: HttpRequest, payload: EmployeeCreateIn) -> Any:
    return Status(201, services.employee_create(actor=request.user, data=payload.dict(exclude_unset=True)))


@router.patch("/employees/{employee_id}", response=EmployeeOut)
def employee_update(request: HttpRequest, employee_id: int, payload: EmployeePatchIn) -> Any:
    return services.employee_update(
        actor=request.user,
        employee_id=employee_id,
        data=patch_data(payload),
        expected_version=payload.version,
    )


@router.post("/employees/{employee_id}/leave", response=EmployeeOut)
def employee_leave(request: HttpRequest, employee_id: int, payload: EmployeeLeaveIn) -> Any:
    return services.employee_leave(
        actor=request.user,
        employee_id=employee_id,
        leave_date=payload.leave_date,
        reason=payload.reason,
    )


@router.get("/employees/{employee_id}/history", response=CursorPage[AuditEntryOut])
def employee_history(request: HttpRequest, employee_id: int, params: Query[ListParams]) -> Any:
    return _history(selectors.employee_history(actor=request.user, id=employee_id), params)


# --- territories ----------------------------------------------------------------------------


class TerritoryFilters(ListParams):
    org_unit: int | None = None
    active: bool | None = None
    sort: str | None = None


@router.get("/territories", response=CursorPage[TerritoryOut])
def territory_list(request: HttpRequest, filters: Query[TerritoryFilters]) -> Any:
    qs = selectors.territory_list(actor=request.user, q=filters.q, org_unit=filters.org_unit, active=filters.active)
    return _page(qs, filters, sort=filters.sort, default="code", allowed=["code", "name", "id"])


@router.get("/territories/{territory_id}", response=TerritoryOut)
def territory_get(request: HttpRequest, territory_id: int) -> Any:
    return selectors.territory_get(actor=request.user, id=territory_id)


@router.post("/territories", response={201: TerritoryOut})
def territory_create(request: HttpRequest, payload: TerritoryCreateIn) -> Any:
    return Status(201, services.territory_create(actor=request.user, data=payload.dict()))


@router.patch("/territories/{territory_id}", response=TerritoryOut)
def territory_update(request: HttpRequest, territory_id: int, payload: TerritoryPatchIn) -> Any:
    return services.territory_update(
        actor=request.user,
        territory_id=territory_id,
        data=patch_data(payload),
        expected_version=payload.version,
    )


@router.delete("/territories/{territory_id}", response={204: None})
def territory_delete(request: HttpRequest, territory_id: int) -> Any:
    services.territory_delete(actor=request.user, territory_id=territory_id)
    return Status(204, None)


@router.get("/territories/{territory_id}/history", response=CursorPage[AuditEntryOut])
def territory_history(request: HttpRequest, territory_id: int, params: Query[ListParams]) -> Any:
    return _history(selectors.territory_history(actor=request.user, id=territory_id), params)


# --- divisions and roles --------------------------------------------------------------------


class DivisionFilters(ListParams):
    parent: str | None = None
    level: str | None = None


@router.get("/divisions", response=CursorPage[DivisionOut])
def division_list(request: HttpRequest, filters: Query[DivisionFilters]) -> Any:
    qs = selectors.division_list(q=filters.q, parent=filters.parent, level=filters.level)
    return _page(qs, filters, sort=None, default="code", allowed=["code"])


@router.get("/divisions/{code}", response=DivisionOut)
def division_get(request: HttpRequest, code: str) -> Any:
    return selectors.division_get(code=code)


@router.get("/roles", response=list[RoleOut])
def role_list(request: HttpRequest) -> Any:
    return list(selectors.role_list())


@router.patch("/roles/{code}", response=RoleOut)
def role_update(request: HttpRequest, code: str, payload: RolePatchIn) -> Any:
    return services.role_set_default_scope(actor=request.user, role_code=code, scope=payload.default_scope)
