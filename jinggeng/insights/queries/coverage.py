"""Coverage (未访问客户为零): every outlet not visited within its cycle — its coverage row is
due before today (``OutletCoverage.due_on < today``) — listed per area with the days overdue.

The list is ordered by (area, due date, outlet) and paged by keyset on those three values, so
every page is one seek on the ``(org_unit, due_on)`` index, whatever the page; the per-area
summary is one grouped query on the same index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.core.pagination import decode_cursor, encode_cursor
from jinggeng.core.scope import apply_scope
from jinggeng.field.models import OutletCoverage
from jinggeng.org.models import OrgUnit
from jinggeng.org.scope import scope_for


@dataclass(frozen=True)
class CoverageParams:
    today: dt.date
    org_unit_id: int | None = None
    rep_id: int | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class CoverageRow:
    account_id: int
    account_name: str
    org_unit_id: int
    org_unit_name: str
    rep_id: int | None
    rep_name: str
    cycle_days: int
    last_visited_on: dt.date | None
    due_on: dt.date
    days_overdue: int


@dataclass(frozen=True)
class AreaRow:
    org_unit_id: int
    org_unit_name: str
    outlets: int
    oldest_due: dt.date
    max_days_overdue: int


@dataclass(frozen=True)
class CoveragePage:
    items: list[CoverageRow]
    next_cursor: str | None


def overdue(*, actor: Any, params: CoverageParams) -> QuerySet[OutletCoverage]:
    """The actor's overdue coverage rows (scoped), filtered by area subtree and rep."""
    if not actor.has_perm("field.view_outletcoverage"):
        return OutletCoverage.objects.none()
    qs = apply_scope(OutletCoverage.objects.filter(due_on__lt=params.today), scope_for(actor), owner_field="rep")
    if params.org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=params.org_unit_id).first()
        if unit is None:
            return qs.none()
        unit_ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))
        qs = qs.filter(org_unit_id__in=unit_ids)
    if params.rep_id is not None:
        qs = qs.filter(rep_id=params.rep_id)
    return qs


def areas(*, actor: Any, params: CoverageParams) -> list[AreaRow]:
    """Per area (org unit), the overdue outlets and the oldest due date, most overdue first."""
    rows = list(
        overdue(actor=actor, params=params)
        .values("org_unit_id")
        .annotate(n=Count("account_id"), oldest=Min("due_on"))
        .order_by()
    )
    names = dict(OrgUnit.objects.filter(pk__in=[r["org_unit_id"] for r in rows]).values_list("id", "name"))
    result = [
        AreaRow(
            org_unit_id=r["org_unit_id"],
            org_unit_name=names.get(r["org_unit_id"], ""),
            outlets=r["n"],
            oldest_due=r["oldest"],
            max_days_overdue=(params.today - r["oldest"]).days,
        )
        for r in rows
    ]
    result.sort(key=lambda a: (-a.outlets, a.org_unit_name, a.org_unit_id))
    return result


def _after(cursor: str) -> Q:
    data = decode_cursor(cursor)
    try:
        unit, due, account = int(data["u"]), dt.date.fromisoformat(data["d"]), int(data["id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(_("分页游标无效"), code="invalid_cursor", field="cursor") from exc
    # (org_unit, due_on, account) > (unit, due, account), led by org_unit >= unit so that the
    # (org_unit, due_on) index can seek.
    return Q(org_unit_id__gte=unit) & (
        Q(org_unit_id__gt=unit) | Q(due_on__gt=due) | Q(due_on=due, account_id__gt=account)
    )


def run(*, actor: Any, params: CoverageParams) -> CoveragePage:
    """One page of overdue outlets, by area, then the longest overdue first."""
    qs = overdue(actor=actor, params=params)
    if params.cursor:
        qs = qs.filter(_after(params.cursor))
    limit = max(1, min(params.limit, 200))
    rows = list(
        qs.order_by("org_unit_id", "due_on", "account_id").values(
            "account_id",
            "account__name",
            "org_unit_id",
            "org_unit__name",
            "rep_id",
            "rep__employee__name",
            "cycle_days",
            "last_visited_on",
            "due_on",
        )[: limit + 1]
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            {"u": last["org_unit_id"], "d": last["due_on"].isoformat(), "id": last["account_id"]}
        )
    items = [
        CoverageRow(
            account_id=r["account_id"],
            account_name=r["account__name"],
            org_unit_id=r["org_unit_id"],
            org_unit_name=r["org_unit__name"],
            rep_id=r["rep_id"],
            rep_name=r["rep__employee__name"] or "",
            cycle_days=r["cycle_days"],
            last_visited_on=r["last_visited_on"],
            due_on=r["due_on"],
            days_overdue=(params.today - r["due_on"]).days,
        )
        for r in rows
    ]
    return CoveragePage(items=items, next_cursor=next_cursor)
