"""The field analytics: 3E card, plan vs actual with the execution score, coverage, competitor
digest — exact figures, scope (the outsider sees nothing), pages and API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jinggeng.catalog.tests.factories import BrandFactory
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import (
    AuditFinding,
    AuditStatus,
    CompetitorNote,
    DailyReport,
    OutletCoverage,
    ReportStatus,
    VisitAudit,
    VisitKind,
    VisitStatus,
)
from jinggeng.field.tests.factories import VisitFactory
from jinggeng.insights.queries import competitor_digest, coverage, plan_vs_actual, three_e
from jinggeng.insights.queries.plan_vs_actual import execution_score, in_route_order

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)


def visit(rep, org, day=DAY, **extra):
    extra.setdefault("account", AccountFactory(owner=rep))
    extra.setdefault("org_unit", org.shanghai)
    extra.setdefault("status", VisitStatus.COMPLETED)
    return VisitFactory(rep=rep, visit_date=day, **extra)


# --------------------------------------------------------------------------- 3E card


def test_three_e_card_has_every_rep_every_day_with_exact_figures(
    rep, teammate, org, area_manager, django_assert_max_num_queries
):
    visit(rep, org, flag_count=1)
    visit(rep, org, status=VisitStatus.MISSED)
    visit(teammate, org, day=DAY - dt.timedelta(days=1))
    DailyReport.objects.create(
        rep=rep, org_unit=org.shanghai, day=DAY, status=ReportStatus.SUBMITTED, figures={},
        deadline_at=timezone.now(), submitted_at=timezone.now(), late=True,
    )  # fmt: skip
    params = three_e.ThreeEParams(date_from=DAY - dt.timedelta(days=1), date_to=DAY)
    with django_assert_max_num_queries(14):
        rows = three_e.run(actor=area_manager, params=params)
    got = [(r.day, r.rep_name, r.figures["visits_planned"], r.figures["visits_done"], r.figures["flagged_visits"],
            r.figures["visits_missed"], r.report_status, r.report_late) for r in rows]  # fmt: skip
    assert got == [
        (DAY, "张三", 2, 1, 1, 1, "submitted", True),
        (DAY, "李四", 0, 0, 0, 0, "", False),
        (DAY - dt.timedelta(days=1), "张三", 0, 0, 0, 0, "", False),
        (DAY - dt.timedelta(days=1), "李四", 1, 1, 0, 0, "", False),
    ]
    totals = three_e.totals(rows)
    assert (totals["visits_planned"], totals["visits_done"], totals["reports_submitted"], totals["reports_late"]) == (
        3,
        2,
        1,
        1,
    )
    # A rep sees only their own rows.
    mine = three_e.run(actor=rep, params=params)
    assert {r.rep_id for r in mine} == {rep.pk} and len(mine) == 2


def test_three_e_card_scope_and_bad_ranges(rep, outsider, org, area_manager, client_for):
    visit(rep, org)
    params = three_e.ThreeEParams(date_from=DAY, date_to=DAY)
    assert three_e.run(actor=outsider, params=params) == []
    with pytest.raises(NotFound):
        three_e.run(actor=outsider, params=three_e.ThreeEParams(date_from=DAY, date_to=DAY, rep_id=rep.pk))
    with pytest.raises(ValidationFailed):
        three_e.run(actor=area_manager, params=three_e.ThreeEParams(date_from=DAY, date_to=DAY - dt.timedelta(1)))
    with pytest.raises(ValidationFailed):
        three_e.run(actor=area_manager, params=three_e.ThreeEParams(date_from=DAY - dt.timedelta(40), date_to=DAY))

    client = client_for(outsider)
    assert client.get(f"/insights/3e/?rep={rep.pk}&day={DAY}").status_code == 404
    assert client.get(f"/api/v1/insights/3e?rep={rep.pk}&date_to={DAY}").status_code == 404
    body = client.get(f"/api/v1/insights/3e?date_to={DAY}").json()
    assert body["rows"] == []

    manager = client_for(area_manager)
    page = manager.get(f"/insights/3e/?day={DAY}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "张三" in html and f"/field/visits/?rep={rep.pk}&amp;day={DAY}" in html
    assert manager.get(f"/insights/3e/?date_from={DAY}&date_to=2020-01-01").status_code == 200  # error shown
    api = manager.get(f"/api/v1/insights/3e?date_from={DAY}&date_to={DAY}").json()
    assert [(r["rep_name"], r["figures"]["visits_done"]) for r in api["rows"]] == [("张三", 1)]


# --------------------------------------------------------------------------- plan vs actual


def test_in_route_order_compares_ranks():
    assert in_route_order([(1, 1), (2, 2), (3, 3)]) == 3
    assert in_route_order([(1, 1), (2, 3), (3, 2), (4, 4)]) == 2
    assert in_route_order([(1, 1), (3, 2), (4, 3)]) == 3  # stop 2 skipped: still in order
    assert in_route_order([(1, None), (2, 1)]) == 1
    assert in_route_order([]) == 0


def test_execution_score_formula():
    assert execution_score(planned=0, done=0, on_day=0, in_order=0, visits_done=3, flagged=0, audit_problems=0) is None
    full = execution_score(planned=10, done=10, on_day=10, in_order=10, visits_done=10, flagged=0, audit_problems=0)
    assert full == 100.0
    # 0.4·8/10 + 0.2·6/10 + 0.1·5/10 + 0.3·(1 − (1 + 2·1)/9) = 0.32 + 0.12 + 0.05 + 0.2 = 0.69
    assert execution_score(planned=10, done=8, on_day=6, in_order=5, visits_done=9, flagged=1, audit_problems=1) == 69.0


def test_plan_vs_actual_per_rep(rep, teammate, outsider, org, area_manager):
    d1, d2 = DAY - dt.timedelta(days=1), DAY
    # Day 1: stops 1..3 planned; 1 and 3 done in order, 2 missed and carried to day 2 (done there).
    visit(rep, org, d1, kind=VisitKind.PLANNED, planned_position=1, actual_position=1)
    missed = visit(rep, org, d1, kind=VisitKind.PLANNED, planned_position=2, status=VisitStatus.MISSED)
    visit(rep, org, d1, kind=VisitKind.PLANNED, planned_position=3, actual_position=2, flag_count=2)
    visit(rep, org, d2, kind=VisitKind.PLANNED, planned_date=d1, carried_from=missed, planned_position=2,
          actual_position=3)  # fmt: skip
    # Day 2: stops 1, 2 done in swapped order; an ad-hoc visit; a cancelled plan.
    a = visit(rep, org, d2, kind=VisitKind.PLANNED, planned_position=1, actual_position=2)
    visit(rep, org, d2, kind=VisitKind.PLANNED, planned_position=2, actual_position=1)
    visit(rep, org, d2, kind=VisitKind.AD_HOC, planned_date=None)
    visit(rep, org, d2, kind=VisitKind.PLANNED, planned_position=9, status=VisitStatus.CANCELLED)
    VisitAudit.objects.create(visit=a, rep=rep, org_unit=org.shanghai, supervisor=area_manager, reason="random",
                              status=AuditStatus.DONE, finding=AuditFinding.NOT_VISITED)  # fmt: skip
    params = plan_vs_actual.PlanParams(date_from=d1, date_to=d2)
    rows = {r.rep_name: r for r in plan_vs_actual.run(actor=area_manager, params=params)}
    r = rows["张三"]
    assert (r.planned, r.done, r.on_day, r.in_order, r.visits_done, r.flagged, r.audit_problems) == (
        5,
        5,
        4,
        2,
        6,
        1,
        1,
    )
    # 0.4·5/5 + 0.2·4/5 + 0.1·2/5 + 0.3·(1 − 3/6) = 0.4 + 0.16 + 0.04 + 0.15
    assert r.score == 75.0
    assert rows["李四"].planned == 0 and rows["李四"].score is None
    assert plan_vs_actual.run(actor=outsider, params=params) == []
    with pytest.raises(NotFound):
        plan_vs_actual.run(actor=outsider, params=plan_vs_actual.PlanParams(date_from=d1, date_to=d2, rep_id=rep.pk))


def test_plan_vs_actual_page_shows_the_formula(rep, org, area_manager, client_for):
    visit(rep, org, kind=VisitKind.PLANNED, planned_position=1, actual_position=1)
    html = client_for(area_manager).get(f"/insights/plan-vs-actual/?date_from={DAY}&date_to={DAY}").content.decode()
    assert plan_vs_actual.FORMULA in html and "张三" in html and "100.0" in html
    api = client_for(area_manager).get(f"/api/v1/insights/plan-vs-actual?date_from={DAY}&date_to={DAY}").json()
    assert api["formula"] == plan_vs_actual.FORMULA
    assert [(r["rep_name"], r["score"]) for r in api["rows"]] == [("张三", 100.0)]


# --------------------------------------------------------------------------- coverage


def cover(rep, unit, due_on):
    return OutletCoverage.objects.create(
        account=AccountFactory(owner=rep), rep=rep, org_unit=unit, cycle_days=7, due_on=due_on
    )


def test_coverage_lists_overdue_outlets_by_area_in_keyset_pages(rep, outsider, org, area_manager, client_for):
    today = DAY
    late = [cover(rep, org.shanghai, today - dt.timedelta(days=d)) for d in (5, 1, 3, 3)]
    cover(rep, org.shanghai, today)  # due today: not overdue
    far = cover(outsider, org.beijing, today - dt.timedelta(days=9))

    first = coverage.run(actor=area_manager, params=coverage.CoverageParams(today=today, limit=3))
    expected = [late[0].pk, *sorted([late[2].pk, late[3].pk]), late[1].pk]
    assert [r.account_id for r in first.items] == expected[:3]
    assert [r.days_overdue for r in first.items] == [5, 3, 3]
    assert first.next_cursor
    second = coverage.run(
        actor=area_manager, params=coverage.CoverageParams(today=today, limit=3, cursor=first.next_cursor)
    )
    assert [r.account_id for r in second.items] == expected[3:] and second.next_cursor is None
    assert [(a.org_unit_name, a.outlets, a.max_days_overdue) for a in coverage.areas(
        actor=area_manager, params=coverage.CoverageParams(today=today))] == [("上海区域", 4, 5)]  # fmt: skip

    # The outsider sees only their own region.
    theirs = coverage.run(actor=outsider, params=coverage.CoverageParams(today=today))
    assert [r.account_id for r in theirs.items] == [far.pk]
    with pytest.raises(ValidationFailed):
        coverage.run(actor=area_manager, params=coverage.CoverageParams(today=today, cursor="bm9wZQ"))

    api = client_for(outsider).get("/api/v1/insights/coverage").json()
    assert {i["account_id"] for i in api["items"]} == {far.pk}
    assert client_for(area_manager).get("/api/v1/insights/coverage?cursor=zzz").status_code == 422
    page = client_for(area_manager).get(f"/insights/coverage/?org_unit={org.shanghai.pk}")
    assert page.status_code == 200 and late[0].account.name in page.content.decode()


# --------------------------------------------------------------------------- competitor digest


def test_competitor_digest_by_area_and_brand(rep, teammate, outsider, org, area_manager, client_for):
    brand = BrandFactory(name="康师傅", is_own=False)
    shop1, shop2 = AccountFactory(owner=rep), AccountFactory(owner=teammate)

    def note(who, account, price, promotion="", unit=org.shanghai, day=DAY, **extra):
        return CompetitorNote.objects.create(
            account=account, rep=who, org_unit=unit, seen_on=day, price=price, promotion=promotion, **extra
        )

    note(rep, shop1, Decimal("3.00"), "买二送一", brand=brand)
    note(rep, shop1, Decimal("4.00"), "买二送一 ", brand=brand)
    note(teammate, shop2, Decimal("3.50"), "特价", brand=brand)
    note(teammate, shop2, None, brand_name=" 统一 ")
    note(teammate, shop2, Decimal("2.00"), brand_name="统一")
    note(rep, shop1, Decimal("9.00"), brand=brand, day=DAY - dt.timedelta(days=7))  # last week
    note(outsider, AccountFactory(owner=outsider), Decimal("1.00"), unit=org.beijing, brand=brand)

    rows = competitor_digest.run(actor=area_manager, params=competitor_digest.DigestParams(week=DAY))
    got = [(r.org_unit_name, r.brand, r.notes, r.outlets, r.price_min, r.price_median, r.price_max, r.promotions)
           for r in rows]  # fmt: skip
    assert got == [
        ("上海区域", "康师傅", 3, 2, Decimal("3.00"), Decimal("3.50"), Decimal("4.00"), ("买二送一", "特价")),
        ("上海区域", "统一", 2, 1, Decimal("2.00"), Decimal("2.00"), Decimal("2.00"), ()),
    ]
    outsider_rows = competitor_digest.run(actor=outsider, params=competitor_digest.DigestParams(week=DAY))
    assert [(r.org_unit_name, r.notes) for r in outsider_rows] == [("北京区域", 1)]
    api = client_for(area_manager).get(f"/api/v1/insights/competitors?week={DAY}").json()
    assert api["week_start"] == "2026-11-23" and api["rows"][0]["price_median"] == "3.50"
    assert client_for(area_manager).get(f"/insights/competitors/?week={DAY}").status_code == 200


def test_pages_change_nothing(rep, org, area_manager, client_for):
    logs = AuditLog.objects.count()
    client = client_for(area_manager)
    for url in ("/insights/3e/", "/insights/plan-vs-actual/", "/insights/coverage/", "/insights/competitors/"):
        assert client.get(url).status_code == 200
    assert AuditLog.objects.count() == logs


def test_pages_cost_the_same_queries_for_more_reps(org, area_manager, client_for, django_assert_max_num_queries):
    from jinggeng.org.tests.factories import make_employee

    reps = [make_employee(f"r{i}", "rep", org.shanghai, name=f"业务员{i}").user for i in range(6)]
    for i, r in enumerate(reps):
        visit(r, org, flag_count=i % 2)
        cover(r, org.shanghai, DAY - dt.timedelta(days=i + 1))
        CompetitorNote.objects.create(account=AccountFactory(owner=r), rep=r, org_unit=org.shanghai, seen_on=DAY)
    client = client_for(area_manager)
    with django_assert_max_num_queries(30):
        page = client.get(f"/insights/3e/?date_from={DAY - dt.timedelta(days=2)}&date_to={DAY}")
    assert page.status_code == 200 and page.content.decode().count("业务员5") == 3
    with django_assert_max_num_queries(20):
        assert client.get("/insights/plan-vs-actual/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/insights/coverage/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(f"/insights/competitors/?week={DAY}").status_code == 200


def test_the_three_e_page_is_paged(rep, teammate, org, area_manager, client_for, monkeypatch):
    from jinggeng.insights import views

    monkeypatch.setattr(views, "THREE_E_PAGE", 3)
    client = client_for(area_manager)
    url = f"/insights/3e/?date_from={DAY - dt.timedelta(days=1)}&date_to={DAY}"
    first = client.get(url).content.decode()
    assert first.count('data-label="业务员"') == 3 and "page=2" in first
    second = client.get(url + "&page=2").content.decode()
    assert second.count('data-label="业务员"') == 1 and "page=1" in second


def test_route_order_in_sql_agrees_with_its_definition(rep, teammate, org):
    import random

    from jinggeng.field.models import Visit
    from jinggeng.insights.queries.plan_vs_actual import _in_order_counts

    rng = random.Random(5)
    expected: dict[int, int] = {}
    for who in (rep, teammate):
        for d in range(4):
            day = DAY - dt.timedelta(days=d)
            n = rng.randint(1, 6)
            actual = list(range(1, n + 1))
            rng.shuffle(actual)
            pairs = [(p + 1, actual[p] if rng.random() > 0.15 else None) for p in range(n)]
            for planned_pos, actual_pos in pairs:
                visit(who, org, day, kind=VisitKind.PLANNED, planned_position=planned_pos, actual_position=actual_pos)
            expected[who.pk] = expected.get(who.pk, 0) + in_route_order(pairs)
    got = dict(_in_order_counts(Visit.objects.all()))
    assert got == {k: v for k, v in expected.items() if v}
