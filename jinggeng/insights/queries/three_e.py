"""The 3E card (everyone, every day, everything): one row per rep per day with the day's
figures (visits planned and done, flags, orders, stock-outs seen, competitor notes, new
outlets, confirmed audit problems) and the state of the rep's daily report.

The figures come from `jinggeng.field.selectors.reports.rep_day_figures` (a fixed number of
grouped queries; one rep walks the ``(rep, visit_date)`` index), the reports from one more
query: the card never costs a query per row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.field.selectors.reports import (
    daily_report_list,
    empty_figures,
    rep_day_figures,
    rep_employee,
    reps_in_scope,
)
from jinggeng.org.models import Employee

MAX_DAYS = 31


@dataclass(frozen=True)
class ThreeEParams:
    date_from: dt.date
    date_to: dt.date
    org_unit_id: int | None = None
    rep_id: int | None = None


@dataclass(frozen=True)
class ThreeERow:
    rep_id: int
    rep_name: str
    org_unit_id: int
    org_unit_name: str
    day: dt.date
    figures: dict[str, Any] = field(default_factory=dict)
    report_id: int | None = None
    report_status: str = ""
    report_late: bool = False
    report_submitted_at: dt.datetime | None = None


def validate(params: ThreeEParams) -> None:
    errors: dict[str, list[str]] = {}
    if params.date_to < params.date_from:
        errors["date_to"] = [_("结束日期不能早于开始日期")]
    elif (params.date_to - params.date_from).days >= MAX_DAYS:
        errors["date_to"] = [_("一次最多查看 %(n)d 天") % {"n": MAX_DAYS}]
    if errors:
        raise ValidationFailed(_("查询条件有误"), errors=errors)


def run(*, actor: Any, params: ThreeEParams) -> list[ThreeERow]:
    """Rows by day (newest first), then by unit and rep name. Every rep in the actor's scope
    appears every day, with zeros when there is nothing (a rep with no record is news too)."""
    validate(params)
    if not actor.has_perm("field.view_visit"):
        return []
    employees: list[Employee]
    if params.rep_id is not None:
        employees = [rep_employee(actor=actor, rep=params.rep_id)]  # NotFound when out of scope
    else:
        employees = reps_in_scope(actor=actor, org_unit_id=params.org_unit_id)
    if not employees:
        return []
    rep_ids = [e.user_id for e in employees]
    figures = rep_day_figures(actor=actor, rep_ids=rep_ids, date_from=params.date_from, date_to=params.date_to)
    reports = {
        (r.rep_id, r.day): r
        for r in daily_report_list(actor=actor, date_from=params.date_from, date_to=params.date_to).filter(
            rep_id__in=rep_ids
        )
    }
    days = [params.date_to - dt.timedelta(days=i) for i in range((params.date_to - params.date_from).days + 1)]
    rows: list[ThreeERow] = []
    for day in days:
        for e in employees:
            report = reports.get((e.user_id, day))
            rows.append(
                ThreeERow(
                    rep_id=e.user_id,
                    rep_name=e.name,
                    org_unit_id=e.org_unit_id,
                    org_unit_name=e.org_unit.display_name,
                    day=day,
                    figures=figures.get((e.user_id, day)) or empty_figures(),
                    report_id=report.pk if report else None,
                    report_status=report.status if report else "",
                    report_late=bool(report and report.late),
                    report_submitted_at=report.submitted_at if report else None,
                )
            )
    return rows


def totals(rows: list[ThreeERow]) -> dict[str, Any]:
    """The sums of the figures over the rows (order amounts as a decimal string)."""
    result = empty_figures()
    amount = Decimal("0")
    for row in rows:
        for key, value in row.figures.items():
            if key == "order_amount":
                amount += Decimal(str(value))
            else:
                result[key] += value
    result["order_amount"] = str(amount.quantize(Decimal("0.01")))
    result["reports_submitted"] = sum(1 for r in rows if r.report_status == "submitted")
    result["reports_late"] = sum(1 for r in rows if r.report_late)
    return result
