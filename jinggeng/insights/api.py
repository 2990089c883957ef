"""JSON API of the analytics (``/api/v1/insights/``): the same runners as the pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from jinggeng.core.api import Row
from jinggeng.insights.queries import competitor_digest, coverage, plan_vs_actual, three_e

router = Router(tags=["insights"])


class ThreeERowOut(Row):
    rep_id: int
    rep_name: str
    org_unit_id: int
    org_unit_name: str
    day: dt.date
    figures: dict[str, Any]
    report_id: int | None
    report_status: str
    report_late: bool
    report_submitted_at: dt.datetime | None


class ThreeEOut(Row):
    date_from: dt.date
    date_to: dt.date
    totals: dict[str, Any]
    rows: list[ThreeERowOut]


class PlanRowOut(Row):
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


class PlanOut(Row):
    date_from: dt.date
    date_to: dt.date
    formula: str
    rows: list[PlanRowOut]


class CoverageRowOut(Row):
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


class CoveragePageOut(Row):
    items: list[CoverageRowOut]
    next_cursor: str | None


class AreaOut(Row):
    org_unit_id: int
    org_unit_name: str
    outlets: int
    oldest_due: dt.date
    max_days_overdue: int


class DigestRowOut(Row):
    org_unit_id: int
    org_unit_name: str
    brand_id: int | None
    brand: str
    notes: int
    outlets: int
    price_min: str | None
    price_median: str | None
    price_max: str | None
    promotions: list[str]
    promotion_count: int


class DigestOut(Row):
    week_start: dt.date
    week_end: dt.date
    rows: list[DigestRowOut]


@router.get("/3e", response=ThreeEOut)
def three_e_card(
    request: HttpRequest,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    org_unit: int | None = None,
    rep: int | None = None,
) -> dict[str, Any]:
    """One row per rep per day in the actor's scope (at most 31 days)."""
    date_to = date_to or timezone.localdate()
    params = three_e.ThreeEParams(date_from=date_from or date_to, date_to=date_to, org_unit_id=org_unit, rep_id=rep)
    rows = three_e.run(actor=request.user, params=params)
    return {
        "date_from": params.date_from,
        "date_to": params.date_to,
        "totals": three_e.totals(rows),
        "rows": rows,  # dataclasses: Row validates their attributes (asdict deep-copied them)
    }


@router.get("/plan-vs-actual", response=PlanOut)
def plan_actual(
    request: HttpRequest,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    org_unit: int | None = None,
    rep: int | None = None,
) -> dict[str, Any]:
    """Plan vs actual per rep with the execution score (``formula`` says how it is computed)."""
    date_to = date_to or timezone.localdate()
    params = plan_vs_actual.PlanParams(
        date_from=date_from or date_to.replace(day=1), date_to=date_to, org_unit_id=org_unit, rep_id=rep
    )
    rows = plan_vs_actual.run(actor=request.user, params=params)
    return {
        "date_from": params.date_from,
        "date_to": params.date_to,
        "formula": plan_vs_actual.FORMULA,
        "rows": rows,  # dataclasses: Row validates their attributes (asdict deep-copied them)
    }


@router.get("/coverage", response=CoveragePageOut)
def coverage_list(
    request: HttpRequest,
    org_unit: int | None = None,
    rep: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Outlets not visited within their cycle, by area and due date (keyset pages)."""
    params = coverage.CoverageParams(
        today=timezone.localdate(),
        org_unit_id=org_unit,
        rep_id=rep,
        cursor=cursor,
        limit=max(1, min(limit, settings.PAGE_SIZE_MAX)),
    )
    page = coverage.run(actor=request.user, params=params)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/coverage/areas", response=list[AreaOut])
def coverage_areas(request: HttpRequest, org_unit: int | None = None, rep: int | None = None) -> list[Any]:
    """Per area: how many outlets are overdue, and the longest overdue in days."""
    params = coverage.CoverageParams(today=timezone.localdate(), org_unit_id=org_unit, rep_id=rep)
    return list(coverage.areas(actor=request.user, params=params))


@router.get("/competitors", response=DigestOut)
def competitors(request: HttpRequest, week: dt.date | None = None, org_unit: int | None = None) -> dict[str, Any]:
    """The week's competitor notes by area and brand (the week containing ``week``)."""
    params = competitor_digest.DigestParams(week=week or timezone.localdate(), org_unit_id=org_unit)
    rows = []
    for r in competitor_digest.run(actor=request.user, params=params):
        row = asdict(r)
        for key in ("price_min", "price_median", "price_max"):
            row[key] = None if row[key] is None else str(row[key])
        row["promotions"] = list(r.promotions)
        rows.append(row)
    return {"week_start": params.week_start, "week_end": params.week_end, "rows": rows}
