"""Supervisor audits (稽查): risk-based and random sampling (deterministic with a seed),
assignment to the area's supervisors, findings, problems counting in the rep's figures, the
outsider."""

from __future__ import annotations

import datetime as dt

import pytest

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.core.errors import NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog, Notification
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import (
    AuditFinding,
    AuditReason,
    AuditStatus,
    PhotoKind,
    StockCount,
    VisitAudit,
    VisitPhoto,
    VisitStatus,
)
from jinggeng.field.selectors.reports import audit_list, daily_report_figures
from jinggeng.field.services.audits import audit_record_finding, audit_sample, stock_change_unusual
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.org.tests.factories import make_employee

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)
SINCE = dt.date(2026, 11, 17)


@pytest.fixture
def supervisor(org, area_manager):
    return make_employee("sup", "supervisor", org.shanghai, name="钱督导", manager=area_manager.employee).user


def visits_for(rep, org, n, **extra):
    out = []
    for i in range(n):
        out.append(
            VisitFactory(
                account=AccountFactory(owner=rep),
                rep=rep,
                org_unit=org.shanghai,
                visit_date=TODAY - dt.timedelta(days=1 + i % 5),
                status=VisitStatus.COMPLETED,
                duration_seconds=900,
                check_in_distance_m=30.0,
                **extra,
            )
        )
    return out


def test_sampling_takes_the_risky_first_then_random_and_is_deterministic(rep, teammate, org, area_manager, supervisor):
    normal = visits_for(rep, org, 12) + visits_for(teammate, org, 8)
    flagged = normal[0]
    flagged.flag_count = 2
    flagged.save(update_fields=["flag_count"])
    far = normal[13]
    far.check_in_distance_m = 1500.0
    far.save(update_fields=["check_in_distance_m"])
    short = normal[5]
    short.duration_seconds = 60
    short.save(update_fields=["duration_seconds"])
    reused = normal[7]
    VisitPhoto.objects.create(
        visit=reused, kind=PhotoKind.SHELF, file="x.jpg", sha256="a" * 64, size=10, content_type="image/jpeg",
        reused_from=VisitPhoto.objects.create(
            visit=normal[8], file="y.jpg", sha256="a" * 64, size=10, content_type="image/jpeg"
        ),
    )  # fmt: skip
    # An old visit, an uncompleted one, one out of the area: never candidates.
    VisitFactory(account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=SINCE - dt.timedelta(1),
                 status=VisitStatus.COMPLETED, flag_count=5)  # fmt: skip
    VisitFactory(account=AccountFactory(owner=rep), rep=rep, org_unit=org.shanghai, visit_date=TODAY, flag_count=5)

    audits = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=3, n_risk=4, seed=7, today=TODAY
    )
    risky = [a for a in audits if a.reason == AuditReason.RISK]
    assert [a.visit_id for a in risky] == [far.pk, flagged.pk, reused.pk, short.pk]  # 2.5+, 2, 2 (tie by seed), 1
    assert [a.risk_score for a in risky] == [2.5, 2.0, 2.0, 1.0]  # far: 1 + 1.5 km
    randoms = [a for a in audits if a.reason == AuditReason.RANDOM]
    assert len(randoms) == 3 and not {a.visit_id for a in randoms} & {a.visit_id for a in risky}
    assert {a.supervisor_id for a in audits} == {supervisor.pk}
    assert all(a.status == AuditStatus.ASSIGNED and a.rep_id == a.visit.rep_id for a in audits)
    assert AuditLog.objects.filter(entity="field.visitaudit", action="create").count() == 7
    (note,) = Notification.objects.filter(user=supervisor, kind="field_audit")
    assert "7" in note.title and note.link == "/field/audits/"

    # Same seed on the same candidates: the same sample (after undoing the first one).
    first = sorted((a.visit_id, a.reason) for a in audits)
    VisitAudit.objects.all().delete()
    again = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=3, n_risk=4, seed=7, today=TODAY
    )
    assert sorted((a.visit_id, a.reason) for a in again) == first
    # Visits already audited are not sampled twice.
    more = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=50, n_risk=0, seed=1, today=TODAY
    )
    assert len(more) == 20 - 7
    assert VisitAudit.objects.count() == 20


def test_without_supervisors_the_area_manager_gets_the_audits(rep, org, area_manager):
    visits_for(rep, org, 3)
    audits = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=3, n_risk=0, seed=1, today=TODAY
    )
    assert {a.supervisor_id for a in audits} == {area_manager.pk}


def test_unusual_stock_changes():
    assert stock_change_unusual(previous=None, received=0, stock=500) is False
    assert stock_change_unusual(previous=10, received=0, stock=11) is True  # more than was there
    assert stock_change_unusual(previous=10, received=100, stock=60) is True  # six-fold, +50
    assert stock_change_unusual(previous=10, received=20, stock=25) is False
    assert stock_change_unusual(previous=200, received=0, stock=100) is False  # sold 100 of 200
    assert stock_change_unusual(previous=20, received=100, stock=0) is False  # sold out: a fall of 20
    assert stock_change_unusual(previous=40, received=0, stock=0) is False


def test_a_stock_jump_raises_the_risk(rep, org, area_manager, supervisor):
    first, second, _plain = visits_for(rep, org, 3)
    sku = SkuFactory()
    first.visit_date, second.visit_date = SINCE - dt.timedelta(days=3), TODAY - dt.timedelta(days=1)
    second.account = first.account
    first.save(update_fields=["visit_date"])
    second.save(update_fields=["visit_date", "account"])
    StockCount.objects.create(visit=first, account=first.account, sku=sku, counted_on=first.visit_date, stock=5)
    StockCount.objects.create(visit=second, account=first.account, sku=sku, counted_on=second.visit_date, stock=90)
    audits = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=0, n_risk=5, seed=1, today=TODAY
    )
    assert [(a.visit_id, a.risk_score) for a in audits] == [(second.pk, 1.0)]


def test_findings_count_in_the_reps_figures(rep, org, area_manager, supervisor):
    visit = visits_for(rep, org, 1)[0]
    (audit,) = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=1, n_risk=0, seed=3, today=TODAY
    )
    day = visit.visit_date
    assert daily_report_figures(actor=area_manager, rep=rep, day=day)["audit_problems"] == 0

    with pytest.raises(ValidationFailed) as bad:
        audit_record_finding(actor=supervisor, audit_id=audit.pk, finding="fake_photo", notes="")
    assert set(bad.value.field_errors) == {"notes"}
    with pytest.raises(ValidationFailed):
        audit_record_finding(actor=supervisor, audit_id=audit.pk, finding="nonsense", notes="x")

    done = audit_record_finding(
        actor=supervisor, audit_id=audit.pk, finding=AuditFinding.FAKE_PHOTO, notes="照片是上周的"
    )
    assert (done.status, done.finding, done.version) == (AuditStatus.DONE, "fake_photo", 2)
    assert done.done_at is not None
    assert daily_report_figures(actor=area_manager, rep=rep, day=day)["audit_problems"] == 1
    assert list(audit_list(actor=area_manager, problems_only=True)) == [done]

    # Corrected to confirmed: no longer a problem.
    audit_record_finding(actor=area_manager, audit_id=audit.pk, finding=AuditFinding.CONFIRMED, expected_version=2)
    assert daily_report_figures(actor=area_manager, rep=rep, day=day)["audit_problems"] == 0
    assert AuditLog.objects.filter(entity="field.visitaudit", action="update").count() == 2


def test_the_rep_and_the_outsider_cannot_sample_see_or_record(rep, teammate, outsider, org, area_manager, supervisor):
    visits_for(rep, org, 2)
    logs = AuditLog.objects.count()
    with pytest.raises(NotFound):
        audit_sample(actor=outsider, org_unit=org.shanghai, since=SINCE, n_random=2, n_risk=0, today=TODAY)
    with pytest.raises(PermissionDenied):
        audit_sample(actor=rep, org_unit=org.shanghai, since=SINCE, n_random=2, n_risk=0, today=TODAY)
    assert VisitAudit.objects.count() == 0 and AuditLog.objects.count() == logs

    audits = audit_sample(
        actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=2, n_risk=0, seed=1, today=TODAY
    )
    logs = AuditLog.objects.count()
    for actor in (outsider, rep, teammate):
        assert list(audit_list(actor=actor)) == []
        with pytest.raises(NotFound):
            audit_record_finding(actor=actor, audit_id=audits[0].pk, finding=AuditFinding.NOT_VISITED, notes="x")
    assert list(audit_list(actor=supervisor, supervisor_id=supervisor.pk)) == sorted(
        audits, key=lambda a: (-a.created_at.timestamp(), -a.pk)
    )
    audits[0].refresh_from_db()
    assert (audits[0].status, audits[0].version) == (AuditStatus.ASSIGNED, 1)
    assert AuditLog.objects.count() == logs


def test_bad_sampling_parameters(org, area_manager):
    with pytest.raises(ValidationFailed) as bad:
        audit_sample(
            actor=area_manager,
            org_unit=org.shanghai,
            since=TODAY + dt.timedelta(1),
            n_random=-1,
            n_risk=999,
            today=TODAY,
        )
    assert set(bad.value.field_errors) == {"since", "n_random", "n_risk"}
    with pytest.raises(ValidationFailed) as none:
        audit_sample(actor=area_manager, org_unit=org.shanghai, since=SINCE, n_random=0, n_risk=0, today=TODAY)
    assert set(none.value.field_errors) == {"n_random"}
