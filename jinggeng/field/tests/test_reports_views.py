"""Pages of the reports part: the rep's daily report, report detail, audits (to do, detail with
the finding form, findings, sampling) — and the outsider sees and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jinggeng.core.models import AuditLog
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import AuditStatus, DailyReport, VisitAudit, VisitFlag, VisitStatus
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.org.tests.factories import make_employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(org, area_manager):
    return make_employee("sup", "supervisor", org.shanghai, name="钱督导", manager=area_manager.employee).user


def test_the_rep_submits_today_report_on_the_phone_page(rep, org, client_for, settings):
    settings.FIELD_REPORT_DEADLINE = "23:59"
    today = timezone.localdate()
    VisitFactory(account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=today,
                 status=VisitStatus.COMPLETED)  # fmt: skip
    client = client_for(rep)
    page = client.get("/field/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "完成拜访" in html and "提交日报" in html

    response = client.post("/field/report/", {"day": today.isoformat(), "comments": "五家", "plan_tomorrow": "B线"})
    assert response.status_code == 302
    report = DailyReport.objects.get(rep=rep, day=today)
    assert (report.comments, report.figures["visits_done"], report.version) == ("五家", 1, 1)
    again = client.post(
        "/field/report/",
        {"day": today.isoformat(), "comments": "六家", "plan_tomorrow": "", "version": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert again.status_code == 204 and again["HX-Redirect"].startswith("/field/report/")
    report.refresh_from_db()
    assert (report.comments, report.version) == ("六家", 2)
    stale = client.post("/field/report/", {"day": today.isoformat(), "comments": "x", "version": "1"})
    assert stale.status_code == 409
    report.refresh_from_db()
    assert report.comments == "六家"


def test_report_detail_for_the_manager_not_the_outsider(rep, outsider, teammate, org, area_manager, client_for):
    report = DailyReport.objects.create(
        rep=rep, org_unit=org.shanghai, day=dt.date(2026, 11, 23), figures={"visits_done": 7},
        comments="总结", deadline_at=timezone.now(),
    )  # fmt: skip
    page = client_for(area_manager).get(f"/field/reports/{report.pk}/")
    assert page.status_code == 200 and "总结" in page.content.decode()
    assert client_for(outsider).get(f"/field/reports/{report.pk}/").status_code == 404
    assert client_for(teammate).get(f"/field/reports/{report.pk}/").status_code == 404


def test_audit_pages(rep, outsider, org, area_manager, supervisor, client_for):
    day = timezone.localdate() - dt.timedelta(days=1)
    visit = VisitFactory(account=AccountFactory(owner=rep, name="福来便利店"), rep=rep, org_unit=org.shanghai,
                         visit_date=day, status=VisitStatus.COMPLETED, flag_count=1)  # fmt: skip
    VisitFlag.objects.create(visit=visit, code="far_check_in", detail={"distance_m": 800})

    # Sampling: the rep cannot open the page; the manager samples.
    assert client_for(rep).get("/field/audits/sample/").status_code == 404
    manager = client_for(area_manager)
    assert manager.get("/field/audits/sample/").status_code == 200
    bad = manager.post("/field/audits/sample/", {"org_unit": org.shanghai.pk, "since": day.isoformat(),
                                                 "n_risk": "0", "n_random": "0"})  # fmt: skip
    assert bad.status_code == 422 and VisitAudit.objects.count() == 0
    done = manager.post("/field/audits/sample/", {"org_unit": org.shanghai.pk, "since": day.isoformat(),
                                                  "n_risk": "1", "n_random": "0", "seed": "1"})  # fmt: skip
    assert done.status_code == 200
    audit = VisitAudit.objects.get()
    assert (audit.visit_id, audit.supervisor_id, audit.reason) == (visit.pk, supervisor.pk, "risk")

    sup = client_for(supervisor)
    todo = sup.get("/field/audits/").content.decode()
    assert "福来便利店" in todo
    detail = sup.get(f"/field/audits/{audit.pk}/").content.decode()
    assert "签到距离过远" in detail

    logs = AuditLog.objects.count()
    for who in (outsider, rep):
        c = client_for(who)
        assert c.get(f"/field/audits/{audit.pk}/").status_code == 404
        assert c.post(f"/field/audits/{audit.pk}/", {"finding": "not_visited", "notes": "x"}).status_code == 404
        assert "福来便利店" not in c.get("/field/audits/findings/?problems=0").content.decode()
    audit.refresh_from_db()
    assert audit.status == AuditStatus.ASSIGNED and AuditLog.objects.count() == logs

    missing = sup.post(f"/field/audits/{audit.pk}/", {"finding": "fake_photo", "notes": ""})
    assert missing.status_code == 422
    ok = sup.post(f"/field/audits/{audit.pk}/", {"finding": "fake_photo", "notes": "翻拍", "version": "1"})
    assert ok.status_code == 302
    audit.refresh_from_db()
    assert (audit.status, audit.finding, audit.notes) == (AuditStatus.DONE, "fake_photo", "翻拍")
    findings = manager.get("/field/audits/findings/").content.decode()
    assert "福来便利店" in findings and "照片造假" in findings
