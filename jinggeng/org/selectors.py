"""Reads of the org app, always limited to the actor's data scope first.

Org units: scope all sees every unit, subtree / team the units of the scope, self the own unit.
Employees: all / subtree / team by unit; self sees only themselves. Territories follow the units.
Divisions are public reference data and not scoped.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_history
from jinggeng.core.errors import NotFound, PermissionDenied
from jinggeng.core.models import AuditLog
from jinggeng.org.models import Division, Employee, OrgUnit, Role, Territory
from jinggeng.org.scope import scope_for, visible_unit_ids

Actor = Any


def _require_view(actor: Actor, perm: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.has_perm(perm):
        raise PermissionDenied(_("您没有查看此类记录的权限"))


def _scoped_units(actor: Actor) -> models.QuerySet[OrgUnit]:
    units = visible_unit_ids(actor)
    qs = OrgUnit.objects.all()
    return qs if units is None else qs.filter(pk__in=sorted(units))


def _as_id(value: Any) -> int:
    """An id from user input; 0 (matches nothing) when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- org units ------------------------------------------------------------------------------


def orgunit_list(
    *,
    actor: Actor,
    q: str | None = None,
    kind: str | None = None,
    active: bool | None = None,
    parent: int | None = None,
) -> models.QuerySet[OrgUnit]:
    """Units in scope; ``parent`` (an id) keeps its direct children."""
    _require_view(actor, "org.view_orgunit")
    qs = _scoped_units(actor).select_related("parent")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(name_en__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    if parent is not None:
        qs = qs.filter(parent_id=parent)
    return qs


def orgunit_get(*, actor: Actor, id: int) -> OrgUnit:
    _require_view(actor, "org.view_orgunit")
    unit = _scoped_units(actor).select_related("parent").filter(pk=_as_id(id)).first()
    if unit is None:
        raise NotFound(_("组织单元不存在"))
    return unit


def orgunit_tree(*, actor: Actor, q: str | None = None) -> list[tuple[OrgUnit, int]]:
    """Visible units in tree order (parents before children, siblings by code), each with its
    indent level relative to the highest visible unit."""
    units = list(orgunit_list(actor=actor, q=q))
    by_parent: dict[int | None, list[OrgUnit]] = {}
    ids = {u.pk for u in units}
    for unit in units:
        key = unit.parent_id if unit.parent_id in ids else None
        by_parent.setdefault(key, []).append(unit)
    for children in by_parent.values():
        children.sort(key=lambda u: (u.code, u.pk))
    result: list[tuple[OrgUnit, int]] = []
    stack: list[tuple[OrgUnit, int]] = [(u, 0) for u in reversed(by_parent.get(None, []))]
    while stack:
        unit, level = stack.pop()
        result.append((unit, level))
        stack.extend((child, level + 1) for child in reversed(by_parent.get(unit.pk, [])))
    return result


def orgunit_children(*, actor: Actor, unit: OrgUnit) -> models.QuerySet[OrgUnit]:
    return orgunit_list(actor=actor).filter(parent=unit).order_by("code")


def orgunit_history(*, actor: Actor, id: int) -> models.QuerySet[AuditLog]:
    unit = orgunit_get(actor=actor, id=id)
    return audit_history(entity="org.orgunit", entity_id=unit.pk)


# --- employees ------------------------------------------------------------------------------


def _scoped_employees(actor: Actor) -> models.QuerySet[Employee]:
    scope = scope_for(actor)
    qs = Employee.objects.all()
    if scope.everything:
        return qs
    return qs.filter(scope.q(owner_field="user", unit_field="org_unit"))


def employee_list(
    *,
    actor: Actor,
    q: str | None = None,
    role: str | None = None,
    org_unit: int | str | None = None,
    status: str | None = None,
) -> models.QuerySet[Employee]:
    """Employees in scope; ``org_unit`` (an id) keeps that unit and the units below it."""
    _require_view(actor, "org.view_employee")
    qs = _scoped_employees(actor).select_related("user", "role", "org_unit", "manager")
    if q:
        qs = qs.filter(
            Q(name__icontains=q) | Q(code__icontains=q) | Q(phone__icontains=q) | Q(user__username__icontains=q)
        )
    if role:
        qs = qs.filter(role__code=role)
    if org_unit not in (None, ""):
        unit = OrgUnit.objects.filter(pk=_as_id(org_unit)).only("path").first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    if status:
        qs = qs.filter(status=status)
    return qs


def employee_get(*, actor: Actor, id: int) -> Employee:
    _require_view(actor, "org.view_employee")
    employee = (
        _scoped_employees(actor).select_related("user", "role", "org_unit", "manager").filter(pk=_as_id(id)).first()
    )
    if employee is None:
        raise NotFound(_("员工不存在"))
    return employee


def employee_reports(*, actor: Actor, employee: Employee) -> models.QuerySet[Employee]:
    return employee_list(actor=actor).filter(manager=employee).order_by("name", "pk")


def employee_history(*, actor: Actor, id: int) -> models.QuerySet[AuditLog]:
    employee = employee_get(actor=actor, id=id)
    return audit_history(entity="org.employee", entity_id=employee.pk)


# --- territories ----------------------------------------------------------------------------


def territory_list(
    *,
    actor: Actor,
    q: str | None = None,
    org_unit: int | str | None = None,
    active: bool | None = None,
) -> models.QuerySet[Territory]:
    _require_view(actor, "org.view_territory")
    units = visible_unit_ids(actor)
    qs = Territory.objects.select_related("org_unit").prefetch_related("divisions")
    if units is not None:
        qs = qs.filter(org_unit_id__in=sorted(units))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if org_unit not in (None, ""):
        qs = qs.filter(org_unit_id=_as_id(org_unit))
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def territory_get(*, actor: Actor, id: int) -> Territory:
    territory = territory_list(actor=actor).filter(pk=_as_id(id)).first()
    if territory is None:
        raise NotFound(_("销售区域不存在"))
    return territory


def territory_history(*, actor: Actor, id: int) -> models.QuerySet[AuditLog]:
    territory = territory_get(actor=actor, id=id)
    return audit_history(entity="org.territory", entity_id=territory.pk)


# --- divisions and roles (reference data) ---------------------------------------------------


def division_list(
    *, q: str | None = None, parent: str | None = None, level: str | None = None
) -> models.QuerySet[Division]:
    qs = Division.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(full_name__icontains=q) | Q(code__startswith=q))
    if parent:
        qs = qs.filter(parent_id=parent)
    if level:
        qs = qs.filter(level=level)
    return qs


def division_get(*, code: str) -> Division:
    division = Division.objects.select_related("parent").filter(code=code).first()
    if division is None:
        raise NotFound(_("行政区划不存在：%(code)s") % {"code": code})
    return division


def role_list() -> models.QuerySet[Role]:
    return Role.objects.select_related("group").order_by("id")


def role_get(*, code: str) -> Role:
    role = role_list().filter(code=code).first()
    if role is None:
        raise NotFound(_("角色不存在：%(code)s") % {"code": code})
    return role
