"""JSON API of the field app: daily reports and supervisor audits.

- ``GET /reports/figures?day=&rep=`` — a rep's figures of a day (the actor's own by default)
- ``GET /reports`` / ``GET /reports/{id}`` — reports in scope; ``POST /reports`` — submit (again)
- ``GET /audits`` / ``GET /audits/{id}`` — audits assigned to me or in scope;
  ``POST /audits/sample`` — sample visits; ``POST /audits/{id}/finding`` — record a finding
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status

from jinggeng.field.selectors import reports as selectors
from jinggeng.field.services.audits import audit_record_finding, audit_sample
from jinggeng.field.services.reports import daily_report_submit

router = Router()

LIST_MAX = 200


class FiguresOut(Schema):
    rep_id: int
    day: dt.date
    figures: dict[str, Any]


class ReportIn(Schema):
    day: dt.date
    comments: str = ""
    plan_tomorrow: str = ""
    expected_version: int | None = None


class ReportOut(Schema):
    id: int
    rep_id: int
    org_unit_id: int
    day: dt.date
    status: str
    figures: dict[str, Any]
    comments: str
    plan_tomorrow: str
    deadline_at: dt.datetime
    submitted_at: dt.datetime | None
    late: bool
    version: int


class SampleIn(Schema):
    org_unit_id: int
    since: dt.date
    n_random: int = 0
    n_risk: int = 0
    seed: int | None = None


class FindingIn(Schema):
    finding: str
    notes: str = ""
    expected_version: int | None = None


class AuditOut(Schema):
    id: int
    visit_id: int
    rep_id: int
    org_unit_id: int
    supervisor_id: int
    reason: str
    risk_score: float
    status: str
    finding: str
    notes: str
    done_at: dt.datetime | None
    version: int
    visit_date: dt.date
    account_id: int

    @staticmethod
    def resolve_visit_date(obj: Any) -> dt.date:
        return obj.visit.visit_date  # type: ignore[no-any-return]

    @staticmethod
    def resolve_account_id(obj: Any) -> int:
        return obj.visit.account_id  # type: ignore[no-any-return]


@router.get("/reports/figures", response=FiguresOut)
def report_figures(request: HttpRequest, day: dt.date | None = None, rep: int | None = None) -> dict[str, Any]:
    day = day or timezone.localdate()
    rep_id = rep if rep is not None else request.user.pk
    figures = selectors.daily_report_figures(actor=request.user, rep=rep_id, day=day)
    return {"rep_id": rep_id, "day": day, "figures": figures}


@router.get("/reports", response=list[ReportOut])
def report_list(
    request: HttpRequest,
    rep: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Any:
    """Newest first, at most 200; narrow with ``rep`` and the dates."""
    return list(
        selectors.daily_report_list(actor=request.user, rep_id=rep, date_from=date_from, date_to=date_to)[:LIST_MAX]
    )


@router.post("/reports", response={200: ReportOut})
def report_submit(request: HttpRequest, payload: ReportIn) -> Any:
    """Submit the actor's report of ``day`` (again before the deadline: a new version)."""
    return daily_report_submit(actor=request.user, **payload.dict())


@router.get("/reports/{report_id}", response=ReportOut)
def report_get(request: HttpRequest, report_id: int) -> Any:
    return selectors.daily_report_get(actor=request.user, report_id=report_id)


@router.get("/audits", response=list[AuditOut])
def audit_list(
    request: HttpRequest,
    mine: bool = False,
    status: str = "",
    finding: str = "",
    problems: bool = False,
    rep: int | None = None,
    org_unit: int | None = None,
) -> Any:
    """Audits assigned to me (``mine``) or in my scope, open ones first, at most 200."""
    qs = selectors.audit_list(
        actor=request.user,
        supervisor_id=request.user.pk if mine else None,
        status=status,
        finding=finding,
        problems_only=problems,
        rep_id=rep,
        org_unit_id=org_unit,
    )
    return list(qs[:LIST_MAX])


@router.post("/audits/sample", response={201: list[AuditOut]})
def audit_sample_create(request: HttpRequest, payload: SampleIn) -> Status[Any]:
    data = payload.dict()
    audits = audit_sample(actor=request.user, org_unit=data.pop("org_unit_id"), **data)
    return Status(201, audits)


@router.get("/audits/{audit_id}", response=AuditOut)
def audit_get(request: HttpRequest, audit_id: int) -> Any:
    return selectors.audit_get(actor=request.user, audit_id=audit_id)


@router.post("/audits/{audit_id}/finding", response=AuditOut)
def audit_finding(request: HttpRequest, audit_id: int, payload: FindingIn) -> Any:
    return audit_record_finding(actor=request.user, audit_id=audit_id, **payload.dict())
