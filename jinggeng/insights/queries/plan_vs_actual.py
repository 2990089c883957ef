"""Plan vs actual per rep and period, with an execution score (执行分).

Definitions (shown on the page beside the figures):

- P 计划拜访: planned visits whose planned day is in the period (a missed visit carried over to
  another day is the same plan: carried copies are not counted again; cancelled ones are not
  counted).
- D 完成: planned visits of the period completed (on the planned day or, carried over, later).
- O 按计划日完成: completed on the planned day.
- S 按线路顺序完成: completed on the planned day in route order — among the day's completed
  planned visits, its rank by actual position equals its rank by planned position.
- V 完成拜访: every completed visit of the period (planned and ad hoc); F 异常拜访: those with
  flags; A 稽查问题: audits of the period's visits whose finding is a problem.
- score = 100 × (0.4·D/P + 0.2·O/P + 0.1·S/P + 0.3·(1 − min(1, (F + 2·A) / V))), with the last
  term 1 when V = 0; no score when P = 0.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.core.scope import apply_scope
from jinggeng.field.models import AuditFinding, AuditStatus, Visit, VisitAudit, VisitKind, VisitStatus
from jinggeng.field.selectors.reports import rep_employee, reps_in_scope
from jinggeng.org.models import Employee
from jinggeng.org.scope import scope_for

MAX_DAYS = 92
WEIGHTS = {"done": 0.4, "on_day": 0.2, "in_order": 0.1, "clean": 0.3}
AUDIT_WEIGHT = 2
FORMULA = "100 × (0.4·D/P + 0.2·O/P + 0.1·S/P + 0.3·(1 − min(1, (F + 2·A) / V)))"


@dataclass(frozen=True)
class PlanParams:
    date_from: dt.date
    date_to: dt.date
    org_unit_id: int | None = None
    rep_id: int | None = None


@dataclass(frozen=True)
class PlanRow:
    rep_id: int
    rep_name: str
    org_unit_id: int
    org_unit_name: str
    planned: int
    done: int
    on_day: int
    in_order: int
    visits_done: int
    flagged: int
    audit_problems: int
    score: float | None

    @property
    def done_rate(self) -> float | None:
        return round(100 * self.done / self.planned, 1) if self.planned else None

    @property
    def on_day_rate(self) -> float | None:
        return round(100 * self.on_day / self.planned, 1) if self.planned else None

    @property
    def in_order_rate(self) -> float | None:
        return round(100 * self.in_order / self.planned, 1) if self.planned else None


def execution_score(
    *, planned: int, done: int, on_day: int, in_order: int, visits_done: int, flagged: int, audit_problems: int
) -> float | None:
    """The execution score of `FORMULA`, rounded to one decimal; ``None`` without a plan."""
    if planned <= 0:
        return None
    clean = 1.0
    if visits_done > 0:
        clean = 1.0 - min(1.0, (flagged + AUDIT_WEIGHT * audit_problems) / visits_done)
    score = 100 * (
        WEIGHTS["done"] * min(1.0, done / planned)
        + WEIGHTS["on_day"] * min(1.0, on_day / planned)
        + WEIGHTS["in_order"] * min(1.0, in_order / planned)
        + WEIGHTS["clean"] * clean
    )
    return round(score, 1)


def in_route_order(day_visits: list[tuple[int | None, int | None]]) -> int:
    """How many of one day's completed visits, given as (planned_position, actual_position),
    have the same rank in both orders (visits without both positions never count)."""
    placed = [(p, a) for p, a in day_visits if p is not None and a is not None]
    by_plan = sorted(range(len(placed)), key=lambda i: (placed[i][0], i))
    by_actual = sorted(range(len(placed)), key=lambda i: (placed[i][1], i))
    return sum(1 for rank, i in enumerate(by_plan) if by_actual[rank] == i)


def _in_order_counts(day_visits: QuerySet[Visit]) -> list[tuple[int, int]]:
    """Per rep, the visits counted by `in_route_order`, in the database: two row numbers per
    (rep, day) — by planned position and by actual position, ties by id — and the visits where
    they agree. The one piece of SQL of this metric (window functions run on SQLite and
    PostgreSQL); the queryset is compiled by Django, so its parameters stay parameters."""
    partition = [F("rep_id"), F("visit_date")]
    ranked = (
        day_visits.filter(planned_position__isnull=False, actual_position__isnull=False)
        .annotate(
            rank_planned=Window(
                RowNumber(), partition_by=partition, order_by=[F("planned_position").asc(), F("id").asc()]
            ),
            rank_actual=Window(
                RowNumber(), partition_by=partition, order_by=[F("actual_position").asc(), F("id").asc()]
            ),
        )
        .values("rep_id", "rank_planned", "rank_actual")
        .order_by()
    )
    sql, sql_params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ranked.rep_id, COUNT(*) FROM (" + sql + ") ranked "  # noqa: S608 (compiled queryset)
            "WHERE ranked.rank_planned = ranked.rank_actual GROUP BY ranked.rep_id",
            sql_params,
        )
        return [(int(rep_id), int(n)) for rep_id, n in cursor.fetchall()]


def validate(params: PlanParams) -> None:
    errors: dict[str, list[str]] = {}
    if params.date_to < params.date_from:
        errors["date_to"] = [_("结束日期不能早于开始日期")]
    elif (params.date_to - params.date_from).days >= MAX_DAYS:
        errors["date_to"] = [_("一次最多查看 %(n)d 天") % {"n": MAX_DAYS}]
    if errors:
        raise ValidationFailed(_("查询条件有误"), errors=errors)


def run(*, actor: Any, params: PlanParams) -> list[PlanRow]:
    """One row per rep in scope (by unit and name): five grouped queries in all."""
    validate(params)
    if not actor.has_perm("field.view_visit"):
        return []
    employees: list[Employee]
    if params.rep_id is not None:
        employees = [rep_employee(actor=actor, rep=params.rep_id)]
    else:
        employees = reps_in_scope(actor=actor, org_unit_id=params.org_unit_id)
    if not employees:
        return []
    rep_ids = [e.user_id for e in employees]
    scope = scope_for(actor)
    visits = apply_scope(Visit.objects.filter(rep_id__in=rep_ids), scope, owner_field="rep")
    period = Q(planned_date__gte=params.date_from, planned_date__lte=params.date_to)
    done_q = Q(status=VisitStatus.COMPLETED)

    plan: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in (
        visits.filter(period, kind=VisitKind.PLANNED)
        .values("rep_id")
        .annotate(
            planned=Count("id", filter=Q(carried_from__isnull=True) & ~Q(status=VisitStatus.CANCELLED)),
            done=Count("id", filter=done_q),
            on_day=Count("id", filter=done_q & Q(visit_date=F("planned_date"))),
        )
        .order_by()
    ):
        plan[r["rep_id"]].update(planned=r["planned"], done=r["done"], on_day=r["on_day"])

    for rep_id, n in _in_order_counts(
        visits.filter(period, done_q, kind=VisitKind.PLANNED, visit_date=F("planned_date"))
    ):
        plan[rep_id]["in_order"] = n

    for v in (
        visits.filter(done_q, visit_date__gte=params.date_from, visit_date__lte=params.date_to)
        .values("rep_id")
        .annotate(n=Count("id"), flagged=Count("id", filter=Q(flag_count__gt=0)))
        .order_by()
    ):
        plan[v["rep_id"]].update(visits_done=v["n"], flagged=v["flagged"])

    audits = apply_scope(
        VisitAudit.objects.filter(
            rep_id__in=rep_ids,
            status=AuditStatus.DONE,
            visit__visit_date__gte=params.date_from,
            visit__visit_date__lte=params.date_to,
        ).exclude(finding=AuditFinding.CONFIRMED),
        scope,
        owner_field="rep",
    )
    for a in audits.values("rep_id").annotate(n=Count("id")).order_by():
        plan[a["rep_id"]]["audit_problems"] = a["n"]

    rows = []
    for e in employees:
        f = plan.get(e.user_id, {})
        figures = {
            k: int(f.get(k, 0))
            for k in ("planned", "done", "on_day", "in_order", "visits_done", "flagged", "audit_problems")
        }
        rows.append(
            PlanRow(
                rep_id=e.user_id,
                rep_name=e.name,
                org_unit_id=e.org_unit_id,
                org_unit_name=e.org_unit.display_name,
                score=execution_score(**figures),
                **figures,
            )
        )
    return rows
