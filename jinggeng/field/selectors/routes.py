"""Reads of the field app: routes (七定), visit standards and the optimiser's proposals.

Every list is scoped to the actor first: routes and proposals by their rep (the owner) and org
unit (`apply_scope(..., owner_field="rep")`); a record outside the scope does not exist
(`NotFound`, 404). Visit standards are company-wide reference data (a view permission suffices).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_history
from jinggeng.core.errors import NotFound
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.core.scope import apply_scope
from jinggeng.field.models import Route, RouteProposal, RouteStop, VisitStandard
from jinggeng.org.models import Employee, EmployeeStatus
from jinggeng.org.scope import scope_for, visible_unit_ids

ROUTE_SORTS = ("code", "name", "created_at", "id")
PROPOSAL_SORTS = ("created_at", "id")


def _empty(sort: str) -> Page[Any]:
    return Page(items=[], next_cursor=None, sort=sort)


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class RouteFilters:
    """Filters of the route list: a code or name fragment, the rep, the org unit, the weekday
    (ISO 1–7) and whether active (None: both)."""

    q: str = ""
    rep: int | None = None
    org_unit: int | None = None
    weekday: int | None = None
    active: bool | None = True


def routes_visible(actor: Any) -> QuerySet[Route]:
    if not actor.has_perm("field.view_route"):
        return Route.objects.none()
    return apply_scope(Route.objects.all(), scope_for(actor), owner_field="rep", unit_field="org_unit")


def route_list(
    *,
    actor: Any,
    filters: RouteFilters | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Route]:
    if not actor.has_perm("field.view_route"):
        return _empty(sort)
    f = filters or RouteFilters()
    qs = (
        routes_visible(actor)
        .select_related("rep__employee", "org_unit", "standard")
        .annotate(stop_count=Count("stops"))
    )
    if f.q.strip():
        q = f.q.strip()
        qs = qs.filter(Q(code__startswith=q) | Q(name__contains=q) | Q(area__contains=q))
    if f.rep is not None:
        qs = qs.filter(rep_id=f.rep)
    if f.org_unit is not None:
        qs = qs.filter(org_unit_id=f.org_unit)
    if f.active is not None:
        qs = qs.filter(active=f.active)
    if f.weekday is not None:
        # JSON containment differs between databases; the weekday list is short, so match on
        # the ids of the routes that run that day.
        ids = [pk for pk, days in qs.values_list("id", "weekdays") if f.weekday in (days or [])]
        qs = qs.filter(pk__in=ids)
    return keyset_paginate(qs, sort=sort, allowed_sorts=ROUTE_SORTS, cursor=cursor, limit=limit)


def route_get(*, actor: Any, route_id: int) -> Route:
    route = routes_visible(actor).select_related("rep__employee", "org_unit", "standard").filter(pk=route_id).first()
    if route is None:
        raise NotFound(_("线路不存在"))
    return route


def route_stops(*, actor: Any, route_id: int) -> list[RouteStop]:
    """The route's stops in visiting order, with their accounts."""
    route = route_get(actor=actor, route_id=route_id)
    return list(
        RouteStop.objects.filter(route=route)
        .select_related("account", "account__channel_type")
        .order_by("position", "id")
    )


def route_history(*, actor: Any, route_id: int) -> QuerySet[AuditLog]:
    route = route_get(actor=actor, route_id=route_id)
    return audit_history(entity="field.route", entity_id=route.pk)


def route_map_points(*, actor: Any, route_id: int) -> dict[str, Any]:
    """The route map (线路图): the stops in order with their positions, the start point, and the
    stops that have no position (listed, not drawn)."""
    route = route_get(actor=actor, route_id=route_id)
    stops = route_stops(actor=actor, route_id=route_id)
    points = []
    missing = []
    for number, stop in enumerate(stops, start=1):
        a = stop.account
        row = {
            "number": number,
            "account_id": a.pk,
            "name": a.name,
            "code": a.code or "",
            "grade": a.grade,
            "address": a.address,
        }
        if a.latitude is None or a.longitude is None:
            missing.append(row)
        else:
            points.append({**row, "lat": float(a.latitude), "lng": float(a.longitude)})
    start = None
    if route.start_latitude is not None and route.start_longitude is not None:
        start = {"lat": float(route.start_latitude), "lng": float(route.start_longitude)}
    return {"route_id": route.pk, "start": start, "points": points, "missing": missing}


def rep_routes(*, actor: Any, rep_id: int, active: bool = True) -> list[Route]:
    """The routes of one rep that the actor may see, by code."""
    return list(
        routes_visible(actor)
        .filter(rep_id=rep_id, active=active)
        .select_related("standard", "org_unit", "rep__employee")
        .order_by("code", "id")
    )


def rep_options(*, actor: Any) -> list[Employee]:
    """Active employees the actor may give a route to (their scope), by name."""
    units = visible_unit_ids(actor)
    qs = Employee.objects.filter(status=EmployeeStatus.ACTIVE).select_related("user", "org_unit")
    scope = scope_for(actor)
    if units is not None:
        condition = Q(user_id=actor.pk)
        if scope.level in ("team", "subtree"):
            condition |= Q(org_unit_id__in=sorted(units))
        qs = qs.filter(condition)
    return list(qs.order_by("name", "id")[:500])


def rep_get(*, actor: Any, rep_id: int) -> Any:
    """A user with an employee profile inside the actor's scope (the rep of a route)."""
    user = get_user_model().objects.select_related("employee__org_unit").filter(pk=rep_id).first()
    employee = getattr(user, "employee", None) if user is not None else None
    if user is None or employee is None:
        raise NotFound(_("业务员不存在"))
    if not scope_for(actor).allows(owner_id=user.pk, unit_id=employee.org_unit_id):
        raise NotFound(_("业务员不存在"))
    return user


# --------------------------------------------------------------------------- visit standards


def visit_standard_list(*, actor: Any, active: bool | None = None) -> QuerySet[VisitStandard]:
    if not actor.has_perm("field.view_visitstandard"):
        return VisitStandard.objects.none()
    qs = VisitStandard.objects.select_related("channel_type")
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("code")


def visit_standard_get(*, actor: Any, standard_id: int) -> VisitStandard:
    standard = visit_standard_list(actor=actor).filter(pk=standard_id).first()
    if standard is None:
        raise NotFound(_("拜访标准不存在"))
    return standard


# --------------------------------------------------------------------------- proposals


def proposals_visible(actor: Any) -> QuerySet[RouteProposal]:
    if not actor.has_perm("field.view_routeproposal"):
        return RouteProposal.objects.none()
    return apply_scope(RouteProposal.objects.all(), scope_for(actor), owner_field="rep", unit_field="org_unit")


def proposal_list(
    *,
    actor: Any,
    rep: int | None = None,
    status: str = "",
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[RouteProposal]:
    if not actor.has_perm("field.view_routeproposal"):
        return _empty(sort)
    qs = proposals_visible(actor).select_related("rep__employee", "created_by__employee", "decided_by__employee")
    if rep is not None:
        qs = qs.filter(rep_id=rep)
    if status:
        qs = qs.filter(status=status)
    return keyset_paginate(qs, sort=sort, allowed_sorts=PROPOSAL_SORTS, cursor=cursor, limit=limit)


def proposal_get(*, actor: Any, proposal_id: int) -> RouteProposal:
    proposal = (
        proposals_visible(actor)
        .select_related("rep__employee", "org_unit", "created_by__employee", "decided_by__employee")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise NotFound(_("优化方案不存在"))
    return proposal


def proposal_history(*, actor: Any, proposal_id: int) -> QuerySet[AuditLog]:
    proposal = proposal_get(actor=actor, proposal_id=proposal_id)
    return audit_history(entity="field.routeproposal", entity_id=proposal.pk)
