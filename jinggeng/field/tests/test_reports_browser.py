"""The reports part's pages in a real headless browser at phone size (390×844): the rep's
daily report can be written and submitted, the supervisor's audit page and the managers'
analytics fit the screen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import page_overflow_px
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import DailyReport, OutletCoverage, VisitAudit, VisitFlag, VisitStatus
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.org.tests.factories import make_employee

pytestmark = pytest.mark.browser


def test_report_and_audit_pages_fit_a_phone(phone_browser, rep, org, area_manager, settings):
    settings.FIELD_REPORT_DEADLINE = "23:59"
    page = phone_browser
    today = timezone.localdate()
    visit = VisitFactory(account=AccountFactory(owner=rep, name="福来便利店"), rep=rep, org_unit=org.shanghai,
                         visit_date=today, status=VisitStatus.COMPLETED, flag_count=1)  # fmt: skip
    VisitFlag.objects.create(visit=visit, code="far_check_in", detail={"distance_m": 800})
    OutletCoverage.objects.create(account=visit.account, rep=rep, org_unit=org.shanghai, cycle_days=7,
                                  due_on=today - dt.timedelta(days=3))  # fmt: skip

    page.login(rep)
    page.goto(page.base_url + reverse("field:report"))
    assert page.locator("h1").first.is_visible()
    assert page_overflow_px(page) == 0
    page.fill('textarea[name="comments"]', "拜访五家, 一家断货")
    page.fill('textarea[name="plan_tomorrow"]', "浦东线")
    page.get_by_role("button", name="提交日报").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="重新提交").wait_for()
    report = DailyReport.objects.get(rep=rep, day=today)
    assert (report.comments, report.figures["visits_done"], report.late) == ("拜访五家, 一家断货", 1, False)
    assert page_overflow_px(page) == 0

    supervisor = make_employee("sup", "supervisor", org.shanghai, manager=area_manager.employee).user
    audit = VisitAudit.objects.create(visit=visit, rep=rep, org_unit=org.shanghai, supervisor=supervisor,
                                      reason="risk", risk_score=2.5)  # fmt: skip
    page.login(supervisor)
    for url in (reverse("field:audit_list"), reverse("field:audit_detail", args=[audit.pk])):
        page.goto(page.base_url + url)
        assert page.locator("h1").first.is_visible()
        assert page_overflow_px(page) == 0, url
    page.select_option('select[name="finding"]', "stock_mismatch")
    page.fill('textarea[name="notes"]', "库存对不上")
    page.get_by_role("button", name="保存结论").click()
    page.wait_for_load_state("networkidle")
    page.get_by_text("库存对不上").first.wait_for()
    audit.refresh_from_db()
    assert (audit.finding, audit.notes) == ("stock_mismatch", "库存对不上")

    page.login(area_manager)
    for url in (
        reverse("insights:three_e"),
        reverse("insights:plan_vs_actual"),
        reverse("insights:coverage"),
        reverse("insights:competitors"),
        reverse("field:audit_findings"),
    ):
        page.goto(page.base_url + url)
        assert page.locator("h1").first.is_visible()
        assert page_overflow_px(page) == 0, url
