"""Reads of the field app: daily figures, daily reports, outlet coverage and audits.

Every read is for an actor and applies the actor's data scope first (visits, reports, audits
and coverage carry ``rep`` as the owner and ``org_unit``). The day's figures of many reps over
many days come from a handful of grouped queries (one per kind of record), never one query per
rep or per day, so one rep's figures walk the ``(rep, visit_date)`` index and a manager's card
costs the same few queries whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.errors import NotFound
from jinggeng.core.scope import Scope, ScopeLevel, apply_scope
from jinggeng.customers.models import Account, AccountType
from jinggeng.field.models import (
    AuditFinding,
    AuditStatus,
    CompetitorNote,
    DailyReport,
    OutletCoverage,
    StockCount,
    Visit,
    VisitAudit,
    VisitFlag,
    VisitKind,
    VisitPhoto,
    VisitStatus,
)
from jinggeng.orders.models import OrderStatus, SalesOrder
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit, RoleCode
from jinggeng.org.scope import scope_for

ZERO = Decimal("0")

#: The figures of one rep's day, in the order the daily report and the 3E card show them.
FIGURE_KEYS: tuple[str, ...] = (
    "visits_planned",
    "visits_done",
    "planned_done",
    "ad_hoc_done",
    "visits_missed",
    "flagged_visits",
    "flags",
    "orders",
    "order_amount",
    "stockouts",
    "stockout_outlets",
    "competitor_notes",
    "new_outlets",
    "audit_problems",
)

#: Roles whose members get the coverage alert of an area (nearest level of the org tree first).
MANAGER_ROLES = (RoleCode.AREA_MANAGER, RoleCode.REGIONAL_MANAGER, RoleCode.SALES_DIRECTOR, RoleCode.GENERAL_MANAGER)


def empty_figures() -> dict[str, Any]:
    figures: dict[str, Any] = dict.fromkeys(FIGURE_KEYS, 0)
    figures["order_amount"] = "0.00"
    return figures


# --------------------------------------------------------------------------- scope helpers


def _scope(actor: Any) -> Scope:
    return scope_for(actor)


def employee_visible(scope: Scope, employee: Employee) -> bool:
    return scope.allows(owner_id=employee.user_id, unit_id=employee.org_unit_id)


def rep_employee(*, actor: Any, rep: Any) -> Employee:
    """The employee profile of ``rep`` when the actor may see the rep's records (their own, or
    a rep of a unit in the actor's scope); ``NotFound`` otherwise."""
    rep_id = rep if isinstance(rep, int) else getattr(rep, "pk", None)
    employee = Employee.objects.select_related("org_unit", "user").filter(user_id=int(rep_id or 0)).first()
    if employee is None or not employee_visible(_scope(actor), employee):
        raise NotFound(_("业务员不存在"))
    return employee


def employees_in_scope(*, actor: Any, org_unit_id: int | None = None) -> QuerySet[Employee]:
    """Active employees whose records the actor may see, optionally within one unit's subtree."""
    scope = _scope(actor)
    qs = Employee.objects.filter(status=EmployeeStatus.ACTIVE)
    if not scope.everything:
        condition = Q(user_id=scope.user_id or 0)
        if scope.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE) and scope.unit_ids:
            condition |= Q(org_unit_id__in=sorted(scope.unit_ids))
        qs = qs.filter(condition)
    if org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        if unit is None:
            return qs.none()
        qs = qs.filter(org_unit__path__startswith=unit.path)
    return qs.select_related("org_unit", "role")


def reps_in_scope(*, actor: Any, org_unit_id: int | None = None) -> list[Employee]:
    """The reps (role 业务员) the actor may see, by unit and name."""
    return list(
        employees_in_scope(actor=actor, org_unit_id=org_unit_id)
        .filter(role__code=RoleCode.REP)
        .order_by("org_unit__path", "name", "id")
    )


def _visible_rep_ids(actor: Any, rep_ids: Iterable[int]) -> list[int]:
    scope = _scope(actor)
    wanted = sorted(set(rep_ids))
    if scope.everything or not wanted:
        return wanted
    rows = Employee.objects.filter(user_id__in=wanted).values_list("user_id", "org_unit_id")
    return sorted(uid for uid, unit_id in rows if scope.allows(owner_id=uid, unit_id=unit_id))


# --------------------------------------------------------------------------- figures


def day_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware datetimes [start of ``date_from``, start of the day after ``date_to``) in the
    local time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def rep_day_figures(
    *, actor: Any, rep_ids: Iterable[int], date_from: dt.date, date_to: dt.date
) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """The figures of each (rep, day) with any record, for the reps the actor may see.

    Seven grouped queries whatever the number of reps and days: visits (planned, done, missed,
    flagged), stock-outs seen (stock counted 0 at the day's visits), competitor notes, orders
    (made by the rep that day, or linked from the day's visits; cancelled ones excluded), new
    outlets (outlet accounts of the rep created that day) and confirmed audit problems (audits
    of the day's visits whose finding is a problem)."""
    reps = _visible_rep_ids(actor, rep_ids)
    result: dict[tuple[int, dt.date], dict[str, Any]] = {}
    if not reps:
        return result
    scope = _scope(actor)

    def row(rep_id: int, day: dt.date) -> dict[str, Any]:
        key = (rep_id, day)
        if key not in result:
            result[key] = empty_figures()
        return result[key]

    visits = apply_scope(
        Visit.objects.filter(rep_id__in=reps, visit_date__gte=date_from, visit_date__lte=date_to),
        scope,
        owner_field="rep",
    )
    done = Q(status=VisitStatus.COMPLETED)
    for v in (
        visits.values("rep_id", "visit_date")
        .annotate(
            planned=Count("id", filter=Q(kind=VisitKind.PLANNED) & ~Q(status=VisitStatus.CANCELLED)),
            done=Count("id", filter=done),
            planned_done=Count("id", filter=done & Q(kind=VisitKind.PLANNED)),
            ad_hoc_done=Count("id", filter=done & Q(kind=VisitKind.AD_HOC)),
            missed=Count("id", filter=Q(status=VisitStatus.MISSED)),
            flagged=Count("id", filter=Q(flag_count__gt=0)),
            flag_sum=Sum("flag_count"),
        )
        .order_by()
    ):
        fig = row(v["rep_id"], v["visit_date"])
        fig.update(
            visits_planned=v["planned"],
            visits_done=v["done"],
            planned_done=v["planned_done"],
            ad_hoc_done=v["ad_hoc_done"],
            visits_missed=v["missed"],
            flagged_visits=v["flagged"],
            flags=v["flag_sum"] or 0,
        )

    stock = apply_scope(
        StockCount.objects.filter(
            visit__rep_id__in=reps, visit__visit_date__gte=date_from, visit__visit_date__lte=date_to, stock=0
        ),
        scope,
        owner_field="visit__rep",
        unit_field="visit__org_unit",
    )
    for s in (
        stock.values("visit__rep_id", "visit__visit_date")
        .annotate(n=Count("id"), outlets=Count("account_id", distinct=True))
        .order_by()
    ):
        fig = row(s["visit__rep_id"], s["visit__visit_date"])
        fig.update(stockouts=s["n"], stockout_outlets=s["outlets"])

    notes = apply_scope(
        CompetitorNote.objects.filter(rep_id__in=reps, seen_on__gte=date_from, seen_on__lte=date_to),
        scope,
        owner_field="rep",
    )
    for c in notes.values("rep_id", "seen_on").annotate(n=Count("id")).order_by():
        row(c["rep_id"], c["seen_on"])["competitor_notes"] = c["n"]

    # Orders: made by the rep on the day, or linked from one of the rep's visits of the day.
    orders: dict[tuple[int, dt.date], dict[int, Decimal]] = defaultdict(dict)
    for order_id, rep_id, day, amount in (
        SalesOrder.objects.filter(created_by_id__in=reps, order_date__gte=date_from, order_date__lte=date_to)
        .exclude(status=OrderStatus.CANCELLED)
        .values_list("id", "created_by_id", "order_date", "total_amount")
    ):
        orders[(rep_id, day)][order_id] = amount
    for order_id, rep_id, day, amount in (
        visits.filter(order__isnull=False)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("order_id", "rep_id", "visit_date", "order__total_amount")
    ):
        orders[(rep_id, day)][order_id] = amount
    for (rep_id, day), by_id in orders.items():
        fig = row(rep_id, day)
        fig["orders"] = len(by_id)
        fig["order_amount"] = str(sum(by_id.values(), ZERO).quantize(Decimal("0.01")))

    start, end = day_bounds(date_from, date_to)
    tz = timezone.get_current_timezone()
    new_outlets: dict[tuple[int, dt.date], int] = defaultdict(int)
    for owner_id, created_at in Account.objects.filter(
        owner_id__in=reps, account_type=AccountType.OUTLET, created_at__gte=start, created_at__lt=end
    ).values_list("owner_id", "created_at"):
        new_outlets[(owner_id, created_at.astimezone(tz).date())] += 1
    for key, n in new_outlets.items():
        row(*key)["new_outlets"] = n

    audits = apply_scope(
        VisitAudit.objects.filter(
            rep_id__in=reps,
            status=AuditStatus.DONE,
            visit__visit_date__gte=date_from,
            visit__visit_date__lte=date_to,
        ).exclude(finding=AuditFinding.CONFIRMED),
        scope,
        owner_field="rep",
    )
    for a in audits.values("rep_id", "visit__visit_date").annotate(n=Count("id")).order_by():
        row(a["rep_id"], a["visit__visit_date"])["audit_problems"] = a["n"]
    return result


def daily_report_figures(*, actor: Any, rep: Any, day: dt.date) -> dict[str, Any]:
    """The figures of one rep's day (see `rep_day_figures`); ``NotFound`` when the actor may
    not see the rep."""
    employee = rep_employee(actor=actor, rep=rep)
    figures = rep_day_figures(actor=actor, rep_ids=[employee.user_id], date_from=day, date_to=day)
    return figures.get((employee.user_id, day)) or empty_figures()


# --------------------------------------------------------------------------- daily reports


def report_deadline(day: dt.date) -> dt.datetime:
    """The deadline of the report of ``day``: ``FIELD_REPORT_DEADLINE`` (local time) that day."""
    hour, _sep, minute = str(settings.FIELD_REPORT_DEADLINE).partition(":")
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(day, dt.time(int(hour), int(minute or 0)), tzinfo=tz)


def reports_visible(actor: Any) -> QuerySet[DailyReport]:
    """Reports the actor may read: their own always, others' with the view permission in scope."""
    own = Q(rep_id=getattr(actor, "pk", None) or 0)
    if not actor.has_perm("field.view_dailyreport"):
        return DailyReport.objects.filter(own)
    return apply_scope(DailyReport.objects.all(), _scope(actor), owner_field="rep")


def daily_report_find(*, actor: Any, rep: Any, day: dt.date) -> DailyReport | None:
    """The report of one rep's day if it exists and the actor may read it."""
    rep_id = rep if isinstance(rep, int) else getattr(rep, "pk", None)
    return reports_visible(actor).filter(rep_id=rep_id, day=day).first()


def daily_report_get(*, actor: Any, report_id: int) -> DailyReport:
    report = reports_visible(actor).select_related("rep__employee", "org_unit").filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("日报不存在"))
    return report


def daily_report_list(
    *, actor: Any, rep_id: int | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> QuerySet[DailyReport]:
    qs = reports_visible(actor).select_related("rep__employee", "org_unit")
    if rep_id is not None:
        qs = qs.filter(rep_id=rep_id)
    if date_from is not None:
        qs = qs.filter(day__gte=date_from)
    if date_to is not None:
        qs = qs.filter(day__lte=date_to)
    return qs.order_by("-day", "rep_id")


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class UnitOverdue:
    org_unit_id: int
    outlets: int
    oldest_due: dt.date


def coverage_overdue_by_unit(*, today: dt.date) -> list[UnitOverdue]:
    """For the daily alert (a system task, no actor): per org unit, the outlets not visited
    within their cycle (``due_on < today``). One grouped query on the (org_unit, due_on) index."""
    return [
        UnitOverdue(org_unit_id=r["org_unit_id"], outlets=r["n"], oldest_due=r["oldest"])
        for r in OutletCoverage.objects.filter(due_on__lt=today)
        .values("org_unit_id")
        .annotate(n=Count("account_id"), oldest=Min("due_on"))
        .order_by("org_unit_id")
    ]


def responsible_managers(*, org_unit_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per org unit, the users to alert: the active managers (area, regional, director, general)
    of the unit itself, else of its nearest ancestor that has any."""
    return nearest_people(org_unit_ids=org_unit_ids, roles=MANAGER_ROLES)


def nearest_people(*, org_unit_ids: Iterable[int], roles: Iterable[str]) -> dict[int, list[int]]:
    """Per org unit, the user ids of the active employees with one of ``roles`` in the unit
    itself, else in its nearest ancestor that has any (the unit's chain up to the root). Two
    queries in all."""
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=sorted(set(org_unit_ids)))}
    chain_ids: set[int] = set()
    chains: dict[int, list[int]] = {}
    for unit in units.values():
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        chains[unit.pk] = list(reversed(ids))  # the unit first, then up to the root
        chain_ids.update(ids)
    managers: dict[int, list[int]] = defaultdict(list)
    for unit_id, user_id in (
        Employee.objects.filter(
            org_unit_id__in=sorted(chain_ids), status=EmployeeStatus.ACTIVE, role__code__in=list(roles)
        )
        .order_by("org_unit_id", "id")
        .values_list("org_unit_id", "user_id")
    ):
        managers[unit_id].append(user_id)
    result: dict[int, list[int]] = {}
    for unit_id, chain in chains.items():
        result[unit_id] = next((managers[u] for u in chain if managers.get(u)), [])
    return result


# --------------------------------------------------------------------------- audits


def audits_visible(actor: Any) -> QuerySet[VisitAudit]:
    """Audits the actor may read: those assigned to them, and with the view permission those
    of visits in their scope."""
    mine = Q(supervisor_id=getattr(actor, "pk", None) or 0)
    if not actor.has_perm("field.view_visitaudit"):
        return VisitAudit.objects.filter(mine)
    scope = _scope(actor)
    if scope.everything:
        return VisitAudit.objects.all()
    return VisitAudit.objects.filter(mine | scope.q(owner_field="rep", unit_field="org_unit"))


def audit_list(
    *,
    actor: Any,
    supervisor_id: int | None = None,
    status: str = "",
    finding: str = "",
    problems_only: bool = False,
    rep_id: int | None = None,
    org_unit_id: int | None = None,
) -> QuerySet[VisitAudit]:
    qs = audits_visible(actor).select_related("visit__account", "rep__employee", "supervisor__employee", "org_unit")
    if supervisor_id is not None:
        qs = qs.filter(supervisor_id=supervisor_id)
    if status:
        qs = qs.filter(status=status)
    if finding:
        qs = qs.filter(finding=finding)
    if problems_only:
        qs = qs.filter(status=AuditStatus.DONE).exclude(finding=AuditFinding.CONFIRMED)
    if rep_id is not None:
        qs = qs.filter(rep_id=rep_id)
    if org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=org_unit_id).first()
        qs = qs.filter(org_unit__path__startswith=unit.path) if unit else qs.none()
    return qs.order_by("status", "-created_at", "-id")


def audit_get(*, actor: Any, audit_id: int) -> VisitAudit:
    audit = (
        audits_visible(actor)
        .select_related("visit__account", "visit__standard", "rep__employee", "supervisor__employee", "org_unit")
        .filter(pk=audit_id)
        .first()
    )
    if audit is None:
        raise NotFound(_("稽查任务不存在"))
    return audit


@dataclass(frozen=True)
class AuditEvidence:
    """What the supervisor re-checks: the visit's flags, photos, stock counts and competitor
    notes (the audit itself was found in the actor's reach first)."""

    flags: list[VisitFlag]
    photos: list[VisitPhoto]
    stock_counts: list[StockCount]
    competitor_notes: list[CompetitorNote]


def audit_evidence(*, audit: VisitAudit) -> AuditEvidence:
    visit_id = audit.visit_id
    return AuditEvidence(
        flags=list(VisitFlag.objects.filter(visit_id=visit_id).order_by("code")),
        photos=list(VisitPhoto.objects.filter(visit_id=visit_id).select_related("reused_from").order_by("id")),
        stock_counts=list(StockCount.objects.filter(visit_id=visit_id).select_related("sku").order_by("sku__code")),
        competitor_notes=list(CompetitorNote.objects.filter(visit_id=visit_id).select_related("brand").order_by("id")),
    )
