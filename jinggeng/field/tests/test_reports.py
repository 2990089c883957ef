"""Daily figures and daily reports (日报): exact figures, deadline and lateness, resubmission,
the outsider."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.customers.models import Account
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import (
    AuditFinding,
    AuditStatus,
    CompetitorNote,
    DailyReport,
    ReportStatus,
    StockCount,
    VisitAudit,
    VisitKind,
    VisitStatus,
)
from jinggeng.field.selectors.reports import daily_report_figures, rep_day_figures, report_deadline
from jinggeng.field.services.reports import daily_report_submit
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.orders.models import OrderStatus, SalesOrder
from jinggeng.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=timezone.get_current_timezone())


def order(account, rep, day, amount, status=OrderStatus.DRAFT, n=[0]):
    n[0] += 1
    return SalesOrder.objects.create(
        number=f"SO-T{n[0]:05d}",
        account=account,
        owner=rep,
        org_unit=rep.employee.org_unit,
        order_date=day,
        due_date=day + dt.timedelta(days=30),
        total_amount=Decimal(amount),
        created_by=rep,
        status=status,
    )


def build_day(rep, org, day=DAY):
    """The rep's day: 4 planned visits (3 done, 1 missed), 1 ad-hoc visit done, flags on two
    visits, 2 stock-outs at one outlet, 1 competitor note, 2 orders (one from a visit), 1 new
    outlet, 1 confirmed audit problem and 1 audit found fine."""
    unit = org.shanghai
    accounts = [AccountFactory(owner=rep) for _ in range(5)]
    visits = []
    for i, status in enumerate(
        [VisitStatus.COMPLETED, VisitStatus.COMPLETED, VisitStatus.COMPLETED, VisitStatus.MISSED]
    ):
        visits.append(
            VisitFactory(
                account=accounts[i],
                rep=rep,
                org_unit=unit,
                visit_date=day,
                kind=VisitKind.PLANNED,
                status=status,
                planned_position=i + 1,
                actual_position=i + 1 if status == VisitStatus.COMPLETED else None,
            )
        )
    visits.append(
        VisitFactory(
            account=accounts[4],
            rep=rep,
            org_unit=unit,
            visit_date=day,
            kind=VisitKind.AD_HOC,
            status=VisitStatus.COMPLETED,
            planned_date=None,
        )
    )
    visits[0].flag_count = 2
    visits[0].save(update_fields=["flag_count"])
    visits[4].flag_count = 1
    visits[4].save(update_fields=["flag_count"])
    sku1, sku2, sku3 = SkuFactory(), SkuFactory(), SkuFactory()
    for sku, stock in ((sku1, 0), (sku2, 0), (sku3, 5)):
        StockCount.objects.create(visit=visits[1], account=accounts[1], sku=sku, counted_on=day, stock=stock)
    CompetitorNote.objects.create(
        visit=visits[2], account=accounts[2], rep=rep, org_unit=unit, seen_on=day, brand_name="康师傅", price="3.00"
    )
    linked = order(accounts[0], rep, day, "120.50")
    visits[0].order = linked
    visits[0].save(update_fields=["order"])
    order(accounts[1], rep, day, "79.50")
    order(accounts[1], rep, day, "999.00", status=OrderStatus.CANCELLED)
    order(accounts[1], rep, day - dt.timedelta(days=1), "5.00")
    new = AccountFactory(owner=rep)
    Account.objects.filter(pk=new.pk).update(created_at=at(day, 10))
    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(created_at=at(day - dt.timedelta(days=40), 10))
    manager = org_manager = rep.employee.manager.user
    VisitAudit.objects.create(
        visit=visits[1], rep=rep, org_unit=unit, supervisor=manager, reason="random",
        status=AuditStatus.DONE, finding=AuditFinding.STOCK_MISMATCH, notes="x",
    )  # fmt: skip
    VisitAudit.objects.create(
        visit=visits[2], rep=rep, org_unit=unit, supervisor=org_manager, reason="random",
        status=AuditStatus.DONE, finding=AuditFinding.CONFIRMED,
    )  # fmt: skip
    return visits


EXPECTED = {
    "visits_planned": 4,
    "visits_done": 4,
    "planned_done": 3,
    "ad_hoc_done": 1,
    "visits_missed": 1,
    "flagged_visits": 2,
    "flags": 3,
    "orders": 2,
    "order_amount": "200.00",
    "stockouts": 2,
    "stockout_outlets": 1,
    "competitor_notes": 1,
    "new_outlets": 1,
    "audit_problems": 1,
}


def test_the_figures_of_a_day_are_exact(rep, org, area_manager, teammate):
    build_day(rep, org)
    VisitFactory(
        account=AccountFactory(owner=teammate), rep=teammate, org_unit=org.shanghai, visit_date=DAY,
        status=VisitStatus.COMPLETED,
    )  # fmt: skip
    VisitFactory(
        account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=DAY + dt.timedelta(days=1)
    )
    assert daily_report_figures(actor=rep, rep=rep, day=DAY) == EXPECTED
    assert daily_report_figures(actor=area_manager, rep=rep, day=DAY) == EXPECTED
    nothing = daily_report_figures(actor=rep, rep=rep, day=DAY - dt.timedelta(days=2))
    assert nothing["visits_done"] == 0 and nothing["order_amount"] == "0.00"


def test_figures_for_many_reps_take_a_fixed_number_of_queries(
    rep, teammate, org, area_manager, django_assert_max_num_queries
):
    build_day(rep, org)
    build_day(teammate, org, day=DAY - dt.timedelta(days=1))
    with django_assert_max_num_queries(9):
        figures = rep_day_figures(
            actor=area_manager, rep_ids=[rep.pk, teammate.pk], date_from=DAY - dt.timedelta(days=1), date_to=DAY
        )
    assert figures[(rep.pk, DAY)] == EXPECTED
    assert figures[(teammate.pk, DAY - dt.timedelta(days=1))] == EXPECTED
    # build_day also leaves an order of the day before.
    assert set(figures) == {
        (rep.pk, DAY),
        (rep.pk, DAY - dt.timedelta(days=1)),
        (teammate.pk, DAY - dt.timedelta(days=1)),
    }
    assert figures[(rep.pk, DAY - dt.timedelta(days=1))]["orders"] == 1


def test_the_outsider_and_a_teammate_cannot_see_a_reps_figures(rep, teammate, outsider, org):
    build_day(rep, org)
    with pytest.raises(NotFound):
        daily_report_figures(actor=outsider, rep=rep, day=DAY)
    with pytest.raises(NotFound):
        daily_report_figures(actor=teammate, rep=rep, day=DAY)
    assert rep_day_figures(actor=outsider, rep_ids=[rep.pk], date_from=DAY, date_to=DAY) == {}


def test_submit_before_the_deadline_snapshots_the_figures(rep, org, settings):
    settings.FIELD_REPORT_DEADLINE = "21:00"
    build_day(rep, org)
    audits = AuditLog.objects.filter(entity="field.dailyreport").count()
    report = daily_report_submit(actor=rep, day=DAY, comments=" 跑了五家 ", plan_tomorrow="浦东线", now=at(DAY, 20, 30))
    report.refresh_from_db()
    assert (report.status, report.late, report.version) == (ReportStatus.SUBMITTED, False, 1)
    assert report.figures == EXPECTED
    assert (report.comments, report.plan_tomorrow) == ("跑了五家", "浦东线")
    assert report.submitted_at == at(DAY, 20, 30)
    assert report.deadline_at == at(DAY, 21, 0) == report_deadline(DAY)
    assert report.org_unit_id == org.shanghai.pk
    assert AuditLog.objects.filter(entity="field.dailyreport").count() == audits + 1

    # Submitting again before the deadline: a new version, audited, new figures.
    CompetitorNote.objects.create(
        account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, seen_on=DAY, brand_name="统一"
    )
    again = daily_report_submit(
        actor=rep, day=DAY, comments="补充", plan_tomorrow="浦东线", expected_version=1, now=at(DAY, 20, 59)
    )
    again.refresh_from_db()
    assert (again.pk, again.version, again.late, again.comments) == (report.pk, 2, False, "补充")
    assert again.figures["competitor_notes"] == 2
    log = AuditLog.objects.filter(entity="field.dailyreport").order_by("-id").first()
    assert log is not None and log.action == "update" and log.changes["comments"] == ["跑了五家", "补充"]

    # A stale version is refused; after the deadline the report is closed.
    with pytest.raises(Conflict) as stale:
        daily_report_submit(actor=rep, day=DAY, comments="x", expected_version=1, now=at(DAY, 20, 59))
    assert stale.value.code == "version_conflict"
    with pytest.raises(Conflict) as closed:
        daily_report_submit(actor=rep, day=DAY, comments="太晚", now=at(DAY, 21, 1))
    assert closed.value.code == "report_closed"
    again.refresh_from_db()
    assert (again.version, again.comments) == (2, "补充")
    assert AuditLog.objects.filter(entity="field.dailyreport").count() == audits + 2


def test_a_report_first_submitted_after_the_deadline_is_late(rep, org, settings):
    settings.FIELD_REPORT_DEADLINE = "21:00"
    report = daily_report_submit(
        actor=rep,
        day=DAY,
        comments="晚了",
        now=at(
            DAY,
            21,
            0,
        )
        + dt.timedelta(seconds=1),
    )
    assert report.late is True
    on_time = daily_report_submit(actor=rep, day=DAY - dt.timedelta(days=1), comments="", now=at(DAY, 8))
    assert on_time.late is True  # yesterday's report submitted this morning
    exactly = daily_report_submit(actor=rep, day=DAY + dt.timedelta(days=1), now=at(DAY + dt.timedelta(days=1), 21))
    assert exactly.late is False


def test_bad_input_and_missing_permission_save_nothing(rep, org):
    stranger = UserFactory()  # no role, no permission
    with pytest.raises(PermissionDenied):
        daily_report_submit(actor=stranger, day=DAY, now=at(DAY, 20))
    with pytest.raises(ValidationFailed) as bad:
        daily_report_submit(actor=rep, day=DAY + dt.timedelta(days=1), comments="x" * 4001, now=at(DAY, 20))
    assert set(bad.value.field_errors) == {"day", "comments"}
    assert DailyReport.objects.count() == 0
    assert not AuditLog.objects.filter(entity="field.dailyreport").exists()
