"""Sales orders through the services: lines and prices, bad input, transitions, approval
routing, credit check, idempotency and optimistic locking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog, Notification
from jinggeng.orders import services
from jinggeng.orders.models import OrderLine, OrderStatus, OrderTransition, SalesOrder
from jinggeng.orders.tests.conftest import fresh
from jinggeng.orders.tests.factories import (
    ApprovalRuleFactory,
    ContractFactory,
    PriceListFactory,
    PriceListItemFactory,
)


@pytest.mark.django_db
def test_create_converts_units_prices_and_totals(rep, account, sku):
    PriceListItemFactory(price_list=PriceListFactory(grade="B"), sku=sku, price=Decimal("3.00"))
    order, created = services.order_create(
        actor=rep,
        data={
            "account_id": account.pk,
            "order_date": "2026-03-01",
            "lines": [
                {"sku": "SKU-COLA", "unit": "case", "quantity": "2", "discount_percent": "10"},
                {"sku": sku.pk, "unit": "提", "quantity": "3"},
            ],
        },
    )
    assert created
    lines = list(order.lines.order_by("line_no"))
    assert [(ln.unit, ln.quantity_pieces, ln.list_price, ln.net_price, ln.line_total) for ln in lines] == [
        ("case", Decimal("48"), Decimal("3.00"), Decimal("2.70"), Decimal("129.60")),
        ("pack", Decimal("18"), Decimal("3.00"), Decimal("3.00"), Decimal("54.00")),
    ]
    assert (order.list_amount, order.discount_amount, order.total_amount) == (
        Decimal("198.00"),
        Decimal("14.40"),
        Decimal("183.60"),
    )
    assert order.status == OrderStatus.DRAFT
    assert order.owner == rep and order.org_unit == account.org_unit
    assert order.due_date == dt.date(2026, 3, 31)
    assert order.number == f"SO20260301{order.pk:07d}"
    assert [(t.from_status, t.to_status) for t in order.transitions.all()] == [("", "draft")]
    assert AuditLog.objects.filter(entity="orders.salesorder", entity_id=str(order.pk), action="create").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        ({"quantity": "0"}, "lines.0.quantity", "必须大于 0"),
        ({"quantity": "-3"}, "lines.0.quantity", "必须大于 0"),
        ({"quantity": "abc"}, "lines.0.quantity", "有效的数字"),
        ({"unit": "桶"}, "lines.0.unit", "未知单位"),
        ({"list_price": "-1"}, "lines.0.list_price", "不能小于 0"),
        ({"discount_percent": "120"}, "lines.0.discount_percent", "不能大于 100"),
        ({"sku": "NOPE"}, "lines.0.sku", "SKU 不存在"),
    ],
)
def test_bad_lines_name_the_field_and_save_nothing(rep, account, sku, line, field, fragment):
    row = {"sku": sku.code, "unit": "case", "quantity": "1", **line}
    audits = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.order_create(actor=rep, data={"account_id": account.pk, "lines": [row]})
    assert field in info.value.field_errors
    assert fragment in info.value.field_errors[field][0]
    assert SalesOrder.objects.count() == 0 and OrderLine.objects.count() == 0
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_accounts_outside_scope_and_contracts_of_others_are_refused(rep, account, far_account, sku):
    with pytest.raises(ValidationFailed) as info:
        services.order_create(actor=rep, data={"account_id": far_account.pk, "lines": []})
    assert info.value.field_errors == {"account_id": ["客户不存在"]}
    other = ContractFactory(account=far_account)
    with pytest.raises(ValidationFailed) as info:
        services.order_create(actor=rep, data={"account_id": account.pk, "contract_id": other.pk})
    assert "contract_id" in info.value.field_errors
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_outsider_cannot_touch_an_order(rep, outsider, account, make_order):
    order = make_order(rep, account)
    audits = AuditLog.objects.count()
    for action in ("submit", "approve", "ship", "cancel", "complete"):
        with pytest.raises(NotFound):
            services.ORDER_ACTIONS[action](actor=outsider, order_id=order.pk)
    with pytest.raises(NotFound):
        services.order_reject(actor=outsider, order_id=order.pk, note="x")
    with pytest.raises(NotFound):
        services.order_update(actor=outsider, order_id=order.pk, data={"notes": "x"})
    with pytest.raises(NotFound):
        services.order_line_add(actor=outsider, order_id=order.pk, data={"sku": "SKU-COLA", "quantity": 1})
    with pytest.raises(NotFound):
        services.order_delete(actor=outsider, order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.version, order.notes) == ("draft", 1, "")
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_submit_without_rules_is_approved_at_once(rep, account, make_order):
    order = services.order_submit(actor=rep, order_id=make_order(rep, account).pk)
    assert order.status == OrderStatus.APPROVED
    assert list(order.transitions.values_list("from_status", "to_status", "note")) == [
        ("", "draft", ""),
        ("draft", "submitted", ""),
        ("submitted", "approved", "无需审批"),
    ]


@pytest.mark.django_db
def test_amount_and_discount_rules_route_to_the_right_manager(
    rep, area_manager, general_manager, teammate, account, make_order
):
    ApprovalRuleFactory(name="大额", min_amount=Decimal("100000"), approver_role="general_manager")
    ApprovalRuleFactory(name="折扣", min_discount_percent=Decimal("10"), manager_level=1)
    # 10 cases × 24 × 3.50 = 840 at 15 % off: only the discount rule → the direct manager.
    order = make_order(rep, account, discount="15")
    order = services.order_submit(actor=rep, order_id=order.pk)
    assert order.status == OrderStatus.SUBMITTED
    assert order.approver == area_manager
    assert order.approval_reasons == ["折扣 15% 超过 10%（规则“折扣”，由 李经理 审批）"]
    assert Notification.objects.filter(user=area_manager, kind="order_approval").count() == 1
    with pytest.raises(PermissionDenied):
        services.order_approve(actor=fresh(rep), order_id=order.pk)
    with pytest.raises(NotFound):
        services.order_approve(actor=teammate, order_id=order.pk)
    approved = services.order_approve(actor=fresh(area_manager), order_id=order.pk, note="同意")
    assert (approved.status, approved.approved_by) == (OrderStatus.APPROVED, area_manager)
    # 1500 cases: above 100000 and 15 % off → routed to the general manager, both reasons shown.
    big = make_order(rep, account, quantity="1500", discount="15")
    big = services.order_submit(actor=rep, order_id=big.pk)
    assert big.approver == general_manager
    assert big.approval_reasons[0].startswith("金额 107280.00 超过 100000（规则“大额”")
    assert big.approval_reasons[1].startswith("折扣 15% 超过 10%")
    with pytest.raises(PermissionDenied) as info:
        services.order_approve(actor=fresh(area_manager), order_id=big.pk)
    assert "王总" in info.value.message
    # Large-deal alert for the manager chain, once.
    assert Notification.objects.filter(kind="large_order", dedupe_key=f"orders.large:{big.pk}").count() == 2
    rejected = services.order_reject(actor=fresh(general_manager), order_id=big.pk, note="价格太低")
    assert rejected.status == OrderStatus.DRAFT and rejected.approver is None
    assert OrderTransition.objects.filter(order=big, to_status="draft", note="价格太低").count() == 1


@pytest.mark.django_db
def test_transitions_not_allowed_from_the_state_are_refused(rep, area_manager, account, make_order):
    order = make_order(rep, account)
    with pytest.raises(ValidationFailed) as info:
        services.order_ship(actor=fresh(area_manager), order_id=order.pk)
    assert info.value.code == "invalid_transition"
    assert info.value.field_errors == {"status": ["订单状态为“草稿”，不能变为“已发货”"]}
    services.order_submit(actor=rep, order_id=order.pk)
    services.order_ship(actor=fresh(area_manager), order_id=order.pk)
    services.order_complete(actor=fresh(area_manager), order_id=order.pk)
    with pytest.raises(ValidationFailed) as info:
        services.order_cancel(actor=fresh(area_manager), order_id=order.pk)
    assert info.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.transitions.count() == 5
    with pytest.raises(ValidationFailed) as info:
        services.order_update(actor=rep, order_id=order.pk, data={"notes": "改"})
    assert info.value.code == "order_not_editable"


@pytest.mark.django_db
def test_credit_limit_needs_a_manager_with_the_right(rep, area_manager, general_manager, account, make_order):
    account.credit_limit = Decimal("1000")
    account.save()
    make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420 open
    order = make_order(rep, account, quantity="10")  # 840 → 1260 > 1000
    order = services.order_submit(actor=rep, order_id=order.pk)
    assert order.status == OrderStatus.SUBMITTED
    assert order.needs_credit_approval
    assert order.approval_reasons == ["信用：未结应收 420.00 + 本单 840.00 超过信用额度 1000.00"]
    # The area manager may approve orders but not over the credit limit; the GM (regional and up) may.
    assert order.approver == general_manager
    with pytest.raises(PermissionDenied):
        services.order_approve(actor=fresh(area_manager), order_id=order.pk)
    assert services.order_approve(actor=fresh(general_manager), order_id=order.pk).status == OrderStatus.APPROVED


@pytest.mark.django_db
def test_credit_policy_refuse(settings, rep, account, make_order):
    settings.ORDERS_CREDIT_POLICY = "refuse"
    account.credit_limit = Decimal("500")
    account.save()
    order = make_order(rep, account, quantity="10")
    audits = AuditLog.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.order_submit(actor=rep, order_id=order.pk)
    assert info.value.code == "credit_limit_exceeded"
    assert "total_amount" in info.value.field_errors
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT and order.transitions.count() == 1
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_idempotent_create_returns_the_first_order(rep, account, sku):
    data = {"account_id": account.pk, "lines": [{"sku": sku.code, "quantity": "1"}]}
    first, created = services.order_create(actor=rep, data=data, idempotency_key="key-12345678")
    again, created_again = services.order_create(actor=rep, data=data, idempotency_key="key-12345678")
    assert created and not created_again and first.pk == again.pk
    assert SalesOrder.objects.count() == 1
    with pytest.raises(Conflict) as info:
        services.order_create(actor=rep, data={**data, "notes": "不同"}, idempotency_key="key-12345678")
    assert info.value.code == "idempotency_key_reused"
    assert SalesOrder.objects.count() == 1


@pytest.mark.django_db
def test_stale_version_names_what_changed(rep, area_manager, account, make_order):
    order = make_order(rep, account)
    services.order_update(actor=fresh(area_manager), order_id=order.pk, data={"notes": "经理改了"}, expected_version=1)
    with pytest.raises(Conflict) as info:
        services.order_update(actor=rep, order_id=order.pk, data={"payment_terms_days": 60}, expected_version=1)
    assert info.value.code == "version_conflict"
    assert info.value.extra["changed_fields"] == ["notes"]
    assert info.value.extra["changed_by"] == ["李经理"]
    assert "notes" in info.value.message
    order.refresh_from_db()
    assert (order.payment_terms_days, order.notes, order.version) == (30, "经理改了", 2)


@pytest.mark.django_db
def test_line_add_update_delete_recompute_totals(rep, account, make_order, sku):
    order = make_order(rep, account, quantity="1")  # 24 × 3.50 = 84
    order = services.order_line_add(
        actor=rep, order_id=order.pk, data={"sku": sku.code, "unit": "piece", "quantity": "6"}, expected_version=1
    )
    assert (order.total_amount, order.version) == (Decimal("105.00"), 2)
    line = order.lines.get(line_no=2)
    order = services.order_line_update(
        actor=rep, order_id=order.pk, line_id=line.pk, data={"discount_percent": "50"}, expected_version=2
    )
    assert order.total_amount == Decimal("94.50")
    order = services.order_line_delete(actor=rep, order_id=order.pk, line_id=line.pk, expected_version=3)
    assert (order.total_amount, order.lines.count()) == (Decimal("84.00"), 1)
    with pytest.raises(ValidationFailed) as info:
        services.order_line_add(actor=rep, order_id=order.pk, data={"sku": sku.code, "quantity": "-1"})
    assert list(info.value.field_errors) == ["quantity"]
    assert order.lines.count() == 1
