"""The demo company's field execution (small scale): routes for every rep, visits with the planted
problems found exactly by the real flag rules and the audits, a coherent 进销存, reproducible."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from itertools import pairwise
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from jinggeng.customers.models import Account, AccountStatus
from jinggeng.demo.builder import demo_build
from jinggeng.demo.field import FIELD_SCALES, FLAG_OF_PLANT, ROUTE_TYPES, WORKDAYS, field_build, field_exists
from jinggeng.field import rules
from jinggeng.field.models import (
    AuditFinding,
    AuditStatus,
    DailyReport,
    OutletCoverage,
    Route,
    RouteStop,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitAudit,
    VisitFlag,
    VisitPhoto,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.org.models import Employee, RoleCode

SPEC = FIELD_SCALES["small"]


@pytest.fixture
def company(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    demo_build(scale="small", only="accounts")


def rules_flags() -> set[tuple[int, str]]:
    """Run the real flag rules over every completed visit, as the visit services would."""
    outlets = {a: (lat, lng) for a, lat, lng in Account.objects.values_list("id", "latitude", "longitude")}
    found: set[tuple[int, str]] = set()
    previous: dict[tuple[int, dt.date], rules.PreviousVisit] = {}  # within a day, as the services
    visits = (
        Visit.objects.filter(status=VisitStatus.COMPLETED)
        .select_related("standard")
        .order_by("rep_id", "check_in_device_at", "id")
    )
    for v in visits:
        at = rules.event_time(v.check_in_at, v.check_in_device_at)
        out = rules.event_time(v.check_out_at, v.check_out_device_at)
        lat, lng = outlets[v.account_id]
        hits = rules.check_in_flags(
            lat=v.check_in_latitude,
            lng=v.check_in_longitude,
            accuracy_m=v.check_in_accuracy_m,
            at=at,
            outlet_lat=lat,
            outlet_lng=lng,
            previous=previous.get((v.rep_id, v.visit_date)),
        ) + rules.check_out_flags(
            check_in_at=at,
            check_out_at=out,
            accuracy_m=v.check_out_accuracy_m,
            min_minutes=v.standard.min_minutes if v.standard else None,
        )
        found |= {(v.pk, hit.code) for hit in hits}
        previous[(v.rep_id, v.visit_date)] = rules.PreviousVisit(v.pk, v.check_in_latitude, v.check_in_longitude, out)
    # A photo whose content was already used at another visit.
    seen: dict[str, int] = {}
    for visit_id, sha in VisitPhoto.objects.order_by("taken_at", "id").values_list("visit_id", "sha256"):
        if sha in seen and seen[sha] != visit_id:
            found.add((visit_id, "reused_photo"))
        seen.setdefault(sha, visit_id)
    return found


def stock_chains() -> tuple[int, int]:
    """(rows with sold ≥ 0, rows with sold < 0) over every (outlet, SKU) chain of counts."""
    chains: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    for row in StockCount.objects.order_by("counted_on", "visit__check_in_device_at", "id").values_list(
        "account_id", "sku_id", "stock", "received"
    ):
        chains[(row[0], row[1])].append(row)
    good = bad = 0
    for rows in chains.values():
        assert rows[0][3] == 0  # nothing received before the first count
        for (_a, _s, last, _r), (_a2, _s2, current, received) in pairwise(rows):
            sold = last + received - current
            if sold >= 0:
                good += 1
            else:
                bad += 1
    return good, bad


def test_field_demo_plants_exactly_what_the_rules_and_audits_find(company) -> None:
    result = field_build(scale="small")
    today = timezone.localdate()
    planted = result.planted
    quotas = SPEC.planted

    # Counts: every rep with outlets has routes; every route outlet has one coverage row.
    reps = set(Employee.objects.filter(role__code=RoleCode.REP).values_list("user_id", flat=True))
    route_accounts = Account.objects.filter(
        account_type__in=ROUTE_TYPES, status=AccountStatus.ACTIVE, owner_id__in=reps, latitude__isnull=False
    )
    owners = set(route_accounts.values_list("owner_id", flat=True))
    assert owners and set(Route.objects.values_list("rep_id", flat=True).distinct()) == owners
    assert RouteStop.objects.count() == route_accounts.count() == OutletCoverage.objects.count()
    assert not RouteStop.objects.exclude(account__owner_id=F("route__rep_id")).exists()
    for weekdays in Route.objects.values_list("weekdays", flat=True):
        assert len(weekdays) == 1 and weekdays[0] in WORKDAYS
    assert result.counts["visits"] == Visit.objects.count() > 1000
    assert result.counts["visit_flags"] == VisitFlag.objects.count()
    assert VisitStep.objects.exists() and SuggestedOrderLine.objects.count() == StockCount.objects.count()
    assert not Visit.objects.filter(visit_date__lt=today, status=VisitStatus.PLANNED).exists()
    assert not Visit.objects.filter(visit_date__gte=today).exclude(status=VisitStatus.PLANNED).exists()
    if today.isoweekday() in WORKDAYS:
        assert Visit.objects.filter(visit_date=today, status=VisitStatus.PLANNED).count() > 50

    # Each planted kind exactly as many times as the scale asks.
    for kind in ("far_check_in", "reused_photo", "impossible_travel", "short_visit", "outside_hours"):
        assert planted[kind] == getattr(quotas, kind), kind
    assert planted["poor_accuracy"] == quotas.poor_accuracy
    assert planted["missed"] == quotas.missed
    assert planted["stock_mismatch"] == quotas.stock_mismatch
    assert planted["late_reports"] == quotas.late_reports

    # The real rules over the generated visits find exactly the planted flags, and the
    # VisitFlag rows are exactly what they find.
    found = rules_flags()
    by_code = Counter(code for _v, code in found)
    assert by_code == Counter({FLAG_OF_PLANT[k].value: planted[k] for k in FLAG_OF_PLANT})
    assert set(VisitFlag.objects.values_list("visit_id", "code")) == found
    for visit in Visit.objects.filter(flag_count__gt=0):
        assert visit.flags.count() == visit.flag_count
    assert Visit.objects.filter(flag_count__gt=0).count() == len(found)

    # Missed visits: planned, never done, carried over (done the next working day, or for the
    # lapsed outlets missed again every day up to today's plan), and lapsed outlets overdue.
    missed = Visit.objects.filter(status=VisitStatus.MISSED)
    assert missed.count() == planted["missed"] + planted["lapsed_missed_rows"]
    assert not missed.filter(check_in_at__isnull=False).exists()
    carried = {v.carried_from_id: v for v in Visit.objects.filter(carried_from__isnull=False)}
    for m in missed:
        follow = carried[m.pk]
        assert follow.visit_date > m.visit_date and follow.account_id == m.account_id
        assert follow.planned_date == m.planned_date
    assert Counter(v.status for v in carried.values()) == {
        VisitStatus.COMPLETED: planted["missed"],
        VisitStatus.MISSED: planted["lapsed_missed_rows"] - quotas.lapsed,
        VisitStatus.PLANNED: quotas.lapsed,
    }
    overdue = OutletCoverage.objects.filter(due_on__lt=today)
    assert overdue.count() == quotas.lapsed
    lapsed_outlets = set(missed.values_list("account_id", flat=True)) - {
        v.account_id for v in carried.values() if v.status == VisitStatus.COMPLETED
    }
    assert set(overdue.values_list("account_id", flat=True)) == lapsed_outlets

    # Audits: every planted visit audited for risk; the problem findings are exactly the far
    # check-ins, impossible travel, reused photos and stock mismatches.
    problems = VisitAudit.objects.filter(status=AuditStatus.DONE).exclude(finding=AuditFinding.CONFIRMED)
    assert Counter(problems.values_list("finding", flat=True)) == {
        AuditFinding.NOT_VISITED: planted["far_check_in"] + planted["impossible_travel"],
        AuditFinding.FAKE_PHOTO: planted["reused_photo"],
        AuditFinding.STOCK_MISMATCH: planted["stock_mismatch"],
    }
    flagged_ids = {v for v, _c in found}
    assert flagged_ids <= set(VisitAudit.objects.filter(reason="risk").values_list("visit_id", flat=True))
    assert VisitAudit.objects.filter(reason="random").exists()

    # 进销存: sold = last + received − current ≥ 0 everywhere but the planted mismatches.
    good, bad = stock_chains()
    assert bad == planted["stock_mismatch"] and good > 1000

    # Steps: a completed visit has every required step of its standard; stock counted ⇔ STOCK.
    detailed = Visit.objects.filter(status=VisitStatus.COMPLETED, steps__isnull=False).distinct()
    assert detailed.count() > Visit.objects.filter(status=VisitStatus.COMPLETED).count() * SPEC.detail_share * 0.8
    for visit in detailed.select_related("standard")[:300]:
        kinds = set(visit.steps.values_list("kind", flat=True))
        assert set(visit.standard.required_steps) <= kinds
        assert (VisitStepKind.STOCK in kinds) == visit.stock_counts.exists()

    # Daily reports: late exactly when submitted after the deadline; the planted late ones.
    assert DailyReport.objects.filter(late=True).count() == planted["late_reports"]
    assert not DailyReport.objects.filter(late=True, submitted_at__lte=F("deadline_at")).exists()
    assert not DailyReport.objects.filter(late=False, submitted_at__gt=F("deadline_at")).exists()

    # Photos: written through the storage, content-hashed, unique except the planted reuses.
    photos = list(VisitPhoto.objects.all())
    assert len({p.sha256 for p in photos}) == len(photos) - planted["reused_photo"]
    for photo in photos[:20]:
        with default_storage.open(photo.file.name) as fh:
            content = fh.read()
        assert hashlib.sha256(content).hexdigest() == photo.sha256 and len(content) == photo.size < 20_000

    # No visit to an outlet before the day it was opened (a few were opened in the last weeks).
    recent = 0
    for visit_date, created in Visit.objects.values_list("visit_date", "account__created_at"):
        opened = timezone.localdate(created)
        assert visit_date >= opened
        recent += opened > today - dt.timedelta(days=28)
    assert recent

    # Positions: unflagged check-ins lie near the outlet.
    for v in Visit.objects.filter(status=VisitStatus.COMPLETED, flag_count=0)[:500]:
        assert v.check_in_distance_m is not None and v.check_in_distance_m < 100

    # Refuses to build twice.
    assert field_exists()


def digest() -> list[tuple[Any, ...]]:
    return [
        *Visit.objects.order_by("id").values_list(
            "id", "account_id", "rep_id", "status", "visit_date", "check_in_device_at", "check_in_latitude"
        ),
        *VisitFlag.objects.order_by("id").values_list("visit_id", "code"),
        *StockCount.objects.order_by("id").values_list("visit_id", "sku_id", "stock", "received"),
        *VisitPhoto.objects.order_by("id").values_list("visit_id", "sha256"),
        *Route.objects.order_by("id").values_list("code", "rep_id"),
    ]


def clear_field() -> None:
    for model in (VisitAudit, DailyReport, VisitFlag, VisitPhoto, StockCount, Visit, OutletCoverage, Route):
        model.objects.all().delete()


def test_field_demo_is_reproducible_by_seed(company) -> None:
    today = dt.date(2026, 11, 18)  # a Wednesday
    field_build(scale="small", seed=42, today=today)
    first = digest()
    clear_field()
    field_build(scale="small", seed=42, today=today)
    assert digest() == first
    clear_field()
    field_build(scale="small", seed=7, today=today)
    assert digest() != first


def test_busy_reps_get_longer_cycles_and_still_only_planted_flags(company, monkeypatch) -> None:
    """With more outlets than a rep can visit in a week (as at large scale), the least important
    outlets move to two- and four-weekly routes; each coverage row has its route's cycle."""
    from jinggeng.demo import field as demo_field
    from jinggeng.field.models import VisitCycle

    monkeypatch.setattr(demo_field, "WEEK_CAPACITY", 12)
    result = field_build(scale="small", today=dt.date(2026, 11, 18))
    cycles = Counter(Route.objects.values_list("cycle", flat=True))
    assert cycles[VisitCycle.FOUR_WEEKLY] > 0 and cycles[VisitCycle.BIWEEKLY] > 0
    days = {VisitCycle.WEEKLY: 7, VisitCycle.BIWEEKLY: 14, VisitCycle.FOUR_WEEKLY: 28}
    for cycle, cycle_days in OutletCoverage.objects.values_list("route__cycle", "cycle_days"):
        assert days[cycle] == cycle_days
    # Four-weekly routes are anchored a week apart, so each outlet is planned once in any 28 days.
    first = dt.date(2026, 11, 18) - dt.timedelta(days=28)
    planned = Counter(
        Visit.objects.filter(
            route__cycle=VisitCycle.FOUR_WEEKLY, planned_date__gt=first, carried_from__isnull=True
        ).values_list("account_id", flat=True)
    )
    assert planned and max(planned.values()) == 1
    found = rules_flags()
    assert Counter(code for _v, code in found) == Counter(
        {FLAG_OF_PLANT[k].value: result.planted[k] for k in FLAG_OF_PLANT}
    )
