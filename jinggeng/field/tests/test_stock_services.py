"""Stock counts, suggested orders and competitor notes at a visit: services, with exact figures."""

# ruff: noqa: F811  (the shared fixtures are imported from factories_stock)

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from jinggeng.catalog.models import ProductStatus
from jinggeng.catalog.tests.factories import BrandFactory
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.field.models import (
    CompetitorNote,
    OutletCoverage,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.field.services import stock as services
from jinggeng.field.tests.factories_stock import (  # noqa: F401 (fixtures)
    DAY,
    cola,
    history,
    outlet,
    record_today,
    tea,
    visit,
)
from jinggeng.orders.models import OrderLine, OrderStatus, SalesOrder
from jinggeng.orders.tests.factories import PriceListFactory, PriceListItemFactory


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_record_stock_in_pieces_and_units_writes_the_steps_and_audit(rep, visit, cola, tea):
    counts = services.stock_count_record(
        actor=rep,
        visit=visit,
        lines=[
            {
                "sku": "COLA",
                "stock_cases": "1",
                "stock_packs": 2,
                "stock_pieces": 3,
                "received_cases": 2,
                "facings": 4,
                "price_seen": "3.80",
            },
            {"sku_id": tea.pk, "stock": 0, "received": 12},
        ],
    )
    assert [(c.sku.code, c.stock, c.received, c.facings, c.price_seen) for c in counts] == [
        ("COLA", 24 + 12 + 3, 48, 4, Decimal("3.80")),
        ("TEA", 0, 12, None, None),
    ]
    rows = StockCount.objects.filter(visit=visit).order_by("sku__code")
    assert [(r.account_id, r.counted_on, r.stock) for r in rows] == [
        (visit.account_id, DAY, 39),
        (visit.account_id, DAY, 0),
    ]
    stock_step = VisitStep.objects.get(visit=visit, kind=VisitStepKind.STOCK)
    assert stock_step.data == {"skus": 2, "stock_pieces": 39, "received_pieces": 60, "out_of_stock": ["TEA"]}
    shelf = VisitStep.objects.get(visit=visit, kind=VisitStepKind.SHELF)
    assert shelf.data == {"facings": {"COLA": 4}, "prices": {"COLA": "3.80"}}
    log = AuditLog.objects.get(entity="field.visit", entity_id=str(visit.pk))
    assert log.action == "create"
    assert log.changes == {"stock_counts": [None, ["COLA: 39/48 f4 ¥3.80", "TEA: 0/12"]]}
    # The steps it wrote carry their own records, as steps recorded by hand do.
    step_logs = AuditLog.objects.filter(entity="field.visitstep")
    assert sorted((x.entity_id, x.action) for x in step_logs) == sorted(
        [(str(stock_step.pk), "create"), (str(shelf.pk), "create")]
    )


def test_recording_again_replaces_the_visits_lines_and_audits_old_and_new(rep, visit, cola, tea):
    services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 5}, {"sku": "TEA", "stock": 7}])
    services.stock_count_record(actor=rep, visit=visit.pk, lines=[{"sku": "COLA", "stock": 6}])
    assert list(StockCount.objects.filter(visit=visit).values_list("sku__code", "stock")) == [("COLA", 6)]
    logs = AuditLog.objects.filter(entity="field.visit", entity_id=str(visit.pk)).order_by("id")
    assert [log.action for log in logs] == ["create", "update"]
    assert logs[1].changes == {"stock_counts": [["COLA: 5/0", "TEA: 7/0"], ["COLA: 6/0"]]}
    assert VisitStep.objects.get(visit=visit, kind=VisitStepKind.STOCK).data["skus"] == 1
    assert not VisitStep.objects.filter(visit=visit, kind=VisitStepKind.SHELF).exists()


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        ([{"sku": "COLA", "stock": -1}], {"lines.0.stock": ["第 1 行（COLA）：库存不能为负数"]}),
        ([{"sku": "NOPE", "stock": 1}], {"lines.0.sku": ["第 1 行：SKU 不存在：NOPE"]}),
        (
            [{"sku": "COLA", "stock": 1}, {"sku": "TEA", "stock": 2}, {"sku": "COLA", "stock": 3}],
            {"lines.2.sku": ["第 3 行：SKU COLA 与第 1 行重复"]},
        ),
        ([{"sku": "COLA", "stock": "1.5"}], {"lines.0.stock": ["第 1 行（COLA）：库存应为整数"]}),
        ([{"sku": "COLA"}], {"lines.0.stock": ["第 1 行（COLA）：请填写库存"]}),
        (
            [{"sku": "COLA", "stock": 1, "received_packs": -2, "price_seen": "-1"}],
            {
                "lines.0.received_packs": ["第 1 行（COLA）：进货不能为负数"],
                "lines.0.price_seen": ["第 1 行（COLA）：零售价不能为负数"],
            },
        ),
        (
            [{"sku": "COLA", "stock": 1, "price_seen": "abc"}],
            {"lines.0.price_seen": ["第 1 行（COLA）：零售价应为数字"]},
        ),
        ([], {"lines": ["请至少盘点一个 SKU"]}),
        ("COLA", {"lines": ["请至少盘点一个 SKU"]}),
        ([{"sku": "TEA", "stock": 1}, "x"], {"lines.1": ["第 2 行格式有误"]}),
    ],
)
def test_bad_stock_lines_are_refused_naming_the_line_and_nothing_is_saved(rep, visit, cola, tea, lines, errors):
    services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "TEA", "stock": 9}])
    before_logs = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.stock_count_record(actor=rep, visit=visit, lines=lines)
    assert exc.value.field_errors == errors
    assert list(StockCount.objects.filter(visit=visit).values_list("sku__code", "stock")) == [("TEA", 9)]
    assert AuditLog.objects.count() == before_logs


def test_discontinued_sku_is_refused(rep, visit, cola):
    cola.status = ProductStatus.DISCONTINUED
    cola.save()
    with pytest.raises(ValidationFailed) as exc:
        services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 1}])
    assert exc.value.field_errors == {"lines.0.sku": ["第 1 行：SKU 已停产：COLA"]}
    assert StockCount.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"check_in_at": None, "status": VisitStatus.PLANNED}, "visit_not_checked_in"),
        ({"status": VisitStatus.COMPLETED}, "visit_closed"),
        ({"status": VisitStatus.CANCELLED}, "visit_closed"),
    ],
)
def test_visit_must_be_checked_in_and_open(rep, visit, cola, fields, code):
    Visit.objects.filter(pk=visit.pk).update(**fields)
    with pytest.raises(ValidationFailed) as exc:
        services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 1}])
    assert exc.value.code == code
    with pytest.raises(ValidationFailed):
        services.competitor_note_add(actor=rep, visit=visit, data={"brand_name": "竞品甲"})
    assert StockCount.objects.count() == 0
    assert CompetitorNote.objects.count() == 0
    assert VisitStep.objects.count() == 0


def test_outsider_and_teammate_get_not_found_and_nothing_changes(rep, teammate, outsider, visit, cola):
    services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 4}])
    logs = AuditLog.objects.count()
    for intruder in (outsider, teammate):
        with pytest.raises(NotFound):
            services.stock_count_record(actor=intruder, visit=visit, lines=[{"sku": "COLA", "stock": 99}])
        with pytest.raises(NotFound):
            services.suggested_order_compute(actor=intruder, visit=visit)
        with pytest.raises(NotFound):
            services.suggested_order_accept(actor=intruder, visit=visit, quantities={})
        with pytest.raises(NotFound):
            services.competitor_note_add(actor=intruder, visit=visit, data={"brand_name": "竞品甲"})
    assert list(StockCount.objects.values_list("stock", flat=True)) == [4]
    assert SuggestedOrderLine.objects.count() == 0
    assert CompetitorNote.objects.count() == 0
    assert SalesOrder.objects.count() == 0
    assert AuditLog.objects.count() == logs


def test_area_manager_may_record_at_a_visit_in_their_subtree(area_manager, visit, cola):
    counts = services.stock_count_record(actor=area_manager, visit=visit, lines=[{"sku": "COLA", "stock": 2}])
    assert [c.stock for c in counts] == [2]


def test_without_permission_it_is_refused(rep, visit, cola):
    rep.groups.clear()
    with pytest.raises(PermissionDenied):
        services.stock_count_record(actor=fresh(rep), visit=visit, lines=[{"sku": "COLA", "stock": 2}])
    assert StockCount.objects.count() == 0


def test_idempotency_key_replays_the_first_recording(rep, visit, cola):
    lines = [{"sku": "COLA", "stock": 3}]
    services.stock_count_record(actor=rep, visit=visit, lines=lines, idempotency_key="stock-key-1")
    services.stock_count_record(actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 8}])
    logs = AuditLog.objects.count()
    again = services.stock_count_record(actor=rep, visit=visit, lines=lines, idempotency_key="stock-key-1")
    assert [c.stock for c in again] == [8]  # the retry of the old request did not overwrite the newer count
    assert AuditLog.objects.count() == logs
    with pytest.raises(Conflict):
        services.stock_count_record(
            actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 1}], idempotency_key="stock-key-1"
        )


# --------------------------------------------------------------------------- suggested orders


def test_suggestion_exact_figures(rep, visit, history, settings):
    settings.FIELD_ORDER_LEAD_DAYS = 2
    settings.FIELD_SAFETY_DAYS = 3
    record_today(rep, visit)
    lines = services.suggested_order_compute(actor=rep, visit=visit)
    by_code = {ln.sku.code: ln for ln in lines}
    cola = by_code["COLA"]
    # rate 92/28 = 3.286; safety ⌈9.857⌉ = 10; need ⌈3.286 × (7 + 2) + 10 − 20⌉ = 20 pieces → 1 case of 24
    assert (cola.stock, cola.daily_rate, cola.days_to_next_visit, cola.lead_time_days) == (20, Decimal("3.286"), 7, 2)
    assert (cola.safety_stock, cola.suggested_pieces, cola.unit, cola.suggested_qty) == (10, 20, "case", 1)
    assert [iv["sold"] for iv in cola.inputs["intervals"]] == [42, 14, 36]
    tea = by_code["TEA"]
    # rate 20/10 = 2; safety 6; need 2 × 9 + 6 − 10 = 14 pieces → 2 cases of 12
    assert (tea.daily_rate, tea.safety_stock, tea.suggested_pieces, tea.suggested_qty) == (Decimal("2.000"), 6, 14, 2)


def test_days_to_next_visit_come_from_the_outlet_cycle(rep, visit, outlet, history, settings):
    settings.FIELD_ORDER_LEAD_DAYS = 2
    settings.FIELD_SAFETY_DAYS = 3
    OutletCoverage.objects.create(account=outlet, rep=rep, org_unit=outlet.org_unit, cycle_days=14, due_on=DAY)
    record_today(rep, visit)
    tea = {ln.sku.code: ln for ln in services.suggested_order_compute(actor=rep, visit=visit)}["TEA"]
    # 2 × (14 + 2) + 6 − 10 = 28 pieces → 3 cases of 12
    assert (tea.days_to_next_visit, tea.suggested_pieces, tea.suggested_qty) == (14, 28, 3)


def test_compute_needs_a_stock_count(rep, visit):
    with pytest.raises(ValidationFailed) as exc:
        services.suggested_order_compute(actor=rep, visit=visit)
    assert exc.value.code == "no_stock_count"


def test_accept_makes_one_draft_order_with_the_accepted_lines(rep, visit, history, cola, tea, settings):
    settings.FIELD_ORDER_LEAD_DAYS = 2
    settings.FIELD_SAFETY_DAYS = 3
    price_list = PriceListFactory(valid_from=dt.date(2026, 1, 1))
    PriceListItemFactory(price_list=price_list, sku=cola, price=Decimal("3.00"))
    record_today(rep, visit)
    services.suggested_order_compute(actor=rep, visit=visit)
    result = services.suggested_order_accept(actor=rep, visit=visit, quantities={"COLA": 2})  # TEA stays 2
    assert result.status == "ordered"
    assert result.created is True
    order = SalesOrder.objects.get()
    assert (order.status, order.account_id, order.order_date) == (OrderStatus.DRAFT, visit.account_id, DAY)
    lines = list(
        OrderLine.objects.filter(order=order)
        .order_by("line_no")
        .values_list("sku__code", "unit", "quantity", "quantity_pieces", "net_price")
    )
    assert lines == [
        ("COLA", "case", Decimal("2"), Decimal("48"), Decimal("3.00")),
        ("TEA", "case", Decimal("2"), Decimal("24"), Decimal("2.00")),
    ]
    assert order.total_amount == Decimal("192.00")  # 48 × 3.00 + 24 × 2.00
    visit.refresh_from_db()
    assert visit.order_id == order.pk
    assert dict(SuggestedOrderLine.objects.filter(visit=visit).values_list("sku__code", "accepted_qty")) == {
        "COLA": 2,
        "TEA": 2,
    }
    step = VisitStep.objects.get(visit=visit, kind=VisitStepKind.ORDER)
    assert step.data["order_id"] == order.pk
    assert step.data["status"] == "ordered"

    again = services.suggested_order_accept(actor=rep, visit=visit, quantities={"COLA": 2})
    assert again.order.pk == order.pk
    assert SalesOrder.objects.count() == 1
    assert OrderLine.objects.filter(order=order).count() == 2

    changed = services.suggested_order_accept(actor=rep, visit=visit, quantities={"COLA": 1, "TEA": 0})
    assert changed.order.pk == order.pk
    assert SalesOrder.objects.count() == 1
    assert list(OrderLine.objects.filter(order=order).values_list("sku__code", "quantity")) == [("COLA", Decimal("1"))]


def test_accept_computes_when_needed_and_refuses_bad_quantities(rep, visit, history):
    record_today(rep, visit)
    for quantities, errors in (
        ({"COLA": -1}, {"quantities.COLA": ["COLA 的确认数量不能为负数"]}),
        ({"NOPE": 1}, {"quantities.NOPE": ["SKU NOPE 不在建议订单中"]}),
        ({"TEA": "x"}, {"quantities.TEA": ["TEA 的确认数量应为整数"]}),
    ):
        with pytest.raises(ValidationFailed) as exc:
            services.suggested_order_accept(actor=rep, visit=visit, quantities=quantities)
        assert exc.value.field_errors == errors
    assert SalesOrder.objects.count() == 0
    assert not VisitStep.objects.filter(visit=visit, kind=VisitStepKind.ORDER).exists()
    assert SuggestedOrderLine.objects.filter(visit=visit, accepted_qty__isnull=False).count() == 0


def test_without_order_permission_the_suggestion_stays_on_the_visit(rep, visit, history):
    record_today(rep, visit)
    group = rep.groups.get()
    group.permissions.remove(Permission.objects.get(content_type__app_label="orders", codename="add_salesorder"))
    actor = fresh(rep)
    result = services.suggested_order_accept(actor=actor, visit=visit, quantities={"COLA": 3})
    assert result.status == "no_order_permission"
    assert result.order is None
    assert result.message == "您没有创建订单的权限，建议订单已保存在拜访中"
    assert SalesOrder.objects.count() == 0
    assert dict(SuggestedOrderLine.objects.filter(visit=visit).values_list("sku__code", "accepted_qty")) == {
        "COLA": 3,
        "TEA": 2,
    }
    assert VisitStep.objects.get(visit=visit, kind=VisitStepKind.ORDER).data["status"] == "no_order_permission"


def test_all_zero_makes_no_order(rep, visit, history):
    record_today(rep, visit)
    result = services.suggested_order_accept(actor=rep, visit=visit, quantities={"COLA": 0, "TEA": 0})
    assert result.status == "nothing_to_order"
    assert SalesOrder.objects.count() == 0


def test_recount_drops_a_stale_suggestion_but_not_after_an_order(rep, visit, history):
    record_today(rep, visit)
    services.suggested_order_compute(actor=rep, visit=visit)
    record_today(rep, visit)
    assert SuggestedOrderLine.objects.filter(visit=visit).count() == 0
    services.suggested_order_accept(actor=rep, visit=visit, quantities={})
    record_today(rep, visit)
    assert SuggestedOrderLine.objects.filter(visit=visit).count() == 2
    with pytest.raises(ValidationFailed) as exc:
        services.suggested_order_compute(actor=rep, visit=visit)
    assert exc.value.code == "order_exists"


# --------------------------------------------------------------------------- competitor notes


def test_competitor_note_with_catalog_brand_and_free_name(rep, visit):
    rival = BrandFactory(code="RIVAL", name="竞品甲", is_own=False)
    note, created = services.competitor_note_add(
        actor=rep, visit=visit, data={"brand": "RIVAL", "product": "甲可乐", "price": "3.20", "promotion": "买二送一"}
    )
    assert created is True
    assert (note.brand_id, note.brand_name, note.price, note.rep_id, note.account_id, note.seen_on) == (
        rival.pk,
        "竞品甲",
        Decimal("3.20"),
        rep.pk,
        visit.account_id,
        DAY,
    )
    services.competitor_note_add(actor=rep, visit=visit, data={"brand_name": "小作坊", "notes": "新进店"})
    step = VisitStep.objects.get(visit=visit, kind=VisitStepKind.COMPETITOR)
    assert step.data == {"notes": 2, "brands": ["小作坊", "竞品甲"]}
    assert AuditLog.objects.filter(entity="field.competitornote").count() == 2


def test_competitor_note_bad_input(rep, visit):
    own = BrandFactory(code="OWN", name="精耕", is_own=True)
    cases = [
        ({}, {"brand": ["请选择竞品品牌或填写品牌名称"]}),
        ({"brand": "OWN"}, {"brand": [f"{own.name} 是本公司品牌，不是竞品"]}),
        ({"brand": "NOPE"}, {"brand": ["品牌不存在：NOPE"]}),
        ({"brand_name": "x", "price": "-1"}, {"price": ["价格不能为负数"]}),
        ({"brand_name": "x" * 61}, {"brand_name": ["品牌名称最多 60 个字"]}),
    ]
    for data, errors in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.competitor_note_add(actor=rep, visit=visit, data=data)
        assert exc.value.field_errors == errors
    assert CompetitorNote.objects.count() == 0
    assert VisitStep.objects.count() == 0


def test_competitor_note_retry_with_key_creates_one(rep, visit):
    data = {"brand_name": "竞品乙", "price": "2.5"}
    first, created = services.competitor_note_add(actor=rep, visit=visit, data=data, idempotency_key="note-key-01")
    again, created_again = services.competitor_note_add(
        actor=rep, visit=visit, data=data, idempotency_key="note-key-01"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert CompetitorNote.objects.count() == 1
    with pytest.raises(Conflict):
        services.competitor_note_add(actor=rep, visit=visit, data={"brand_name": "别的"}, idempotency_key="note-key-01")
    assert CompetitorNote.objects.count() == 1
