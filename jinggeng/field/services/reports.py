"""Writes of the field app: daily reports (日报 / 晚汇报) and the daily coverage alert.

A rep submits the report of a day: the day's figures are built from the records
(`daily_report_figures`) and kept as a snapshot with the rep's comments and tomorrow's plan.
The deadline is ``FIELD_REPORT_DEADLINE`` (local time) of that day: a report first submitted
after it is late; before it the rep may submit again (a new version, audited); after it a
submitted report is closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_create, audit_update, snapshot
from jinggeng.core.errors import Conflict, PermissionDenied, ValidationFailed
from jinggeng.core.notifications import notify
from jinggeng.field.models import DailyReport, ReportStatus
from jinggeng.field.selectors.reports import (
    coverage_overdue_by_unit,
    daily_report_figures,
    report_deadline,
    responsible_managers,
)
from jinggeng.org.models import Employee, OrgUnit

TEXT_MAX = 4000

__all__ = ["coverage_alert_send", "daily_report_figures", "daily_report_submit"]


@transaction.atomic
def daily_report_submit(
    *,
    actor: Any,
    day: dt.date,
    comments: str = "",
    plan_tomorrow: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> DailyReport:
    """Submit (or, before the deadline, submit again) the actor's own report of ``day``."""
    if not actor.has_perm("field.add_dailyreport"):
        raise PermissionDenied(_("没有执行此操作的权限"), extra={"permission": "field.add_dailyreport"})
    employee = Employee.objects.filter(user_id=actor.pk).first()
    now = now or timezone.now()
    today = timezone.localdate(now)
    comments = (comments or "").strip()
    plan_tomorrow = (plan_tomorrow or "").strip()
    errors: dict[str, list[str]] = {}
    if employee is None:
        errors.setdefault("rep", []).append(_("只有员工可以提交日报"))
    if day > today:
        errors.setdefault("day", []).append(_("不能提交未来日期的日报"))
    if len(comments) > TEXT_MAX:
        errors.setdefault("comments", []).append(_("不能超过 %(n)d 个字") % {"n": TEXT_MAX})
    if len(plan_tomorrow) > TEXT_MAX:
        errors.setdefault("plan_tomorrow", []).append(_("不能超过 %(n)d 个字") % {"n": TEXT_MAX})
    if errors:
        raise ValidationFailed(_("日报内容有误"), errors=errors)
    assert employee is not None

    deadline = report_deadline(day)
    report = DailyReport.objects.select_for_update().filter(rep_id=actor.pk, day=day).first()
    if report is not None and expected_version is not None and expected_version != report.version:
        raise Conflict(
            _("记录已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": report.version}
        )
    if report is not None and report.status == ReportStatus.SUBMITTED and now > report.deadline_at:
        raise Conflict(_("已过截止时间，已提交的日报不能再修改"), code="report_closed")

    figures = daily_report_figures(actor=actor, rep=actor, day=day)
    if report is None:
        try:
            with transaction.atomic():
                report = DailyReport.objects.create(
                    rep_id=actor.pk,
                    org_unit_id=employee.org_unit_id,
                    day=day,
                    status=ReportStatus.SUBMITTED,
                    figures=figures,
                    comments=comments,
                    plan_tomorrow=plan_tomorrow,
                    deadline_at=deadline,
                    submitted_at=now,
                    late=now > deadline,
                )
        except IntegrityError as exc:  # the same report submitted twice at the same moment
            raise Conflict(
                _("记录已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": 1}
            ) from exc
        audit_create(actor=actor, instance=report)
        return report

    before = snapshot(report)
    # A draft saved earlier becomes late only when first submitted after the deadline.
    late = report.late if report.status == ReportStatus.SUBMITTED else now > deadline
    report.status = ReportStatus.SUBMITTED
    report.figures = figures
    report.comments = comments
    report.plan_tomorrow = plan_tomorrow
    report.deadline_at = deadline
    report.submitted_at = now
    report.late = late
    report.version += 1
    report.save(
        update_fields=[
            "status",
            "figures",
            "comments",
            "plan_tomorrow",
            "deadline_at",
            "submitted_at",
            "late",
            "version",
            "updated_at",
        ]
    )
    audit_update(actor=actor, instance=report, before=before, reason=_("重新提交日报"))
    return report


# --------------------------------------------------------------------------- coverage alert


def _coverage_link(org_unit_id: int) -> str:
    try:
        return reverse("insights:coverage") + f"?org_unit={org_unit_id}"
    except NoReverseMatch:  # analytics not mounted in this installation
        return ""


def coverage_alert_send(*, today: dt.date | None = None) -> int:
    """Tell the responsible managers of each area (its own managers, else the nearest level up
    that has some) how many outlets were not visited within their cycle, with a link to the
    list: once per area and day (dedupe key), however often this runs. Returns how many
    notifications were created."""
    today = today or timezone.localdate()
    overdue = coverage_overdue_by_unit(today=today)
    if not overdue:
        return 0
    managers = responsible_managers(org_unit_ids=[o.org_unit_id for o in overdue])
    names = dict(OrgUnit.objects.filter(pk__in=[o.org_unit_id for o in overdue]).values_list("id", "name"))
    sent = 0
    for item in overdue:
        users = managers.get(item.org_unit_id) or []
        if not users:
            continue
        with transaction.atomic():
            created = notify(
                users=users,
                kind="field_coverage",
                title=_("%(unit)s：%(n)d 家客户未按周期拜访")
                % {"unit": names.get(item.org_unit_id, ""), "n": item.outlets},
                body=_("最早应访日期 %(due)s，已逾期 %(days)d 天。未访问客户为零是目标。")
                % {"due": item.oldest_due, "days": (today - item.oldest_due).days},
                link=_coverage_link(item.org_unit_id),
                dedupe_key=f"field.coverage:{item.org_unit_id}:{today.isoformat()}",
            )
        sent += len(created)
    return sent
