"""Payment receipts, allocations (never over-allocated, same account only, concurrent-safe),
receivables ageing and overdue alerts."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog, Notification
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.orders import selectors, services
from jinggeng.orders.models import OrderStatus, PaymentAllocation, PaymentReceipt, SalesOrder
from jinggeng.orders.tests.conftest import fresh


def pay(actor, account, amount, **extra):
    receipt, _created = services.payment_create(
        actor=actor,
        data={
            "account_id": account.pk,
            "amount": amount,
            "received_on": "2026-03-10",
            "method": "bank_transfer",
            **extra,
        },
    )
    return receipt


@pytest.mark.django_db
def test_partial_allocations_and_balances(rep, account, make_order):
    a = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420.00
    b = make_order(rep, account, quantity="10", status=OrderStatus.SHIPPED)  # 840.00
    receipt = pay(rep, account, "1000")
    services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=a.pk, amount="420")
    services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=b.pk, amount="500.50")
    receipt.refresh_from_db()
    b.refresh_from_db()
    assert (receipt.allocated_amount, receipt.unallocated_amount) == (Decimal("920.50"), Decimal("79.50"))
    assert (b.allocated_amount, b.open_amount) == (Decimal("500.50"), Decimal("339.50"))
    assert receipt.number == f"PR20260310{receipt.pk:07d}"


@pytest.mark.django_db
def test_over_allocation_and_wrong_account_are_refused(rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420
    other_account = AccountFactory(name="张三的另一家店", owner=rep)
    other_order = make_order(rep, other_account, quantity="5", status=OrderStatus.APPROVED)
    draft = make_order(rep, account, quantity="1")
    receipt = pay(rep, account, "300")
    audits = AuditLog.objects.count()
    cases = [
        (order.pk, "300.01", "amount", "超过回款未核销余额 300.00"),
        (order.pk, "0", "amount", "必须大于 0"),
        (order.pk, "-5", "amount", "必须大于 0"),
        (other_order.pk, "10", "order_id", "属于另一个客户"),
        (draft.pk, "10", "order_id", "只有已审批"),
        (999999, "10", "order_id", "订单不存在"),
    ]
    for order_id, amount, field, fragment in cases:
        with pytest.raises(ValidationFailed) as info:
            services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order_id, amount=amount)
        assert fragment in info.value.field_errors[field][0], (amount, info.value.field_errors)
    big = pay(rep, account, "5000")
    with pytest.raises(ValidationFailed) as info:
        services.allocation_create(actor=rep, receipt_id=big.pk, order_id=order.pk, amount="420.01")
    assert info.value.field_errors == {"amount": ["超过订单未收金额 420.00"]}
    assert PaymentAllocation.objects.count() == 0
    assert AuditLog.objects.count() == audits + 1  # only the second receipt's creation
    order.refresh_from_db()
    assert order.allocated_amount == 0


@pytest.mark.django_db
def test_payment_bad_input_saves_nothing(rep, account, far_account):
    for data, field in [
        ({"amount": "0"}, "amount"),
        ({"amount": "-10"}, "amount"),
        ({"amount": "10", "method": "bitcoin"}, "method"),
        ({"amount": "10", "received_on": "2026-13-01"}, "received_on"),
        ({"amount": "10", "account_id": far_account.pk}, "account_id"),
    ]:
        with pytest.raises(ValidationFailed) as info:
            services.payment_create(actor=rep, data={"account_id": account.pk, **data})
        assert field in info.value.field_errors
    assert PaymentReceipt.objects.count() == 0


@pytest.mark.django_db
def test_payment_with_allocations_is_atomic(rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
    with pytest.raises(ValidationFailed) as info:
        services.payment_create(
            actor=rep,
            data={"account_id": account.pk, "amount": "100", "allocations": [{"order_id": order.pk, "amount": "150"}]},
        )
    assert "allocations.0.amount" in info.value.field_errors
    assert PaymentReceipt.objects.count() == 0 and PaymentAllocation.objects.count() == 0
    receipt, _ = services.payment_create(
        actor=rep,
        data={"account_id": account.pk, "amount": "100", "allocations": [{"order_id": order.pk, "amount": "60"}]},
    )
    assert receipt.allocated_amount == Decimal("60")


@pytest.mark.django_db
def test_outsider_cannot_see_or_touch_payments(rep, outsider, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
    receipt = pay(rep, account, "100")
    allocation = services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order.pk, amount="50")
    audits = AuditLog.objects.count()
    with pytest.raises(NotFound):
        selectors.payment_get(actor=outsider, receipt_id=receipt.pk)
    with pytest.raises(NotFound):
        services.allocation_create(actor=outsider, receipt_id=receipt.pk, order_id=order.pk, amount="10")
    with pytest.raises(NotFound):
        services.allocation_delete(actor=outsider, allocation_id=allocation.pk)
    with pytest.raises(NotFound):
        services.payment_update(actor=outsider, receipt_id=receipt.pk, data={"reference": "x"})
    receipt.refresh_from_db()
    assert (receipt.allocated_amount, receipt.reference) == (Decimal("50"), "")
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_allocation_delete_restores_balances(rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
    receipt = pay(rep, account, "100")
    allocation = services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order.pk, amount="100")
    services.allocation_delete(actor=rep, allocation_id=allocation.pk)
    receipt.refresh_from_db()
    order.refresh_from_db()
    assert (receipt.allocated_amount, order.allocated_amount) == (0, 0)


@pytest.mark.django_db
def test_ageing_buckets_scope_and_drill_down(rep, teammate, area_manager, outsider, account, make_order):
    as_of = dt.date(2026, 6, 30)
    # order_date + 30 days = due date; days past due on 30 June:
    due = {
        "not_due": dt.date(2026, 6, 15),  # due 15 July
        "d0_30": dt.date(2026, 5, 20),  # due 19 June: 11 days
        "d31_60": dt.date(2026, 4, 20),  # due 20 May: 41 days
        "d61_90": dt.date(2026, 3, 20),  # due 19 April: 72 days
        "d90_plus": dt.date(2026, 1, 5),  # due 4 Feb: 146 days
    }
    orders = {
        name: make_order(rep, account, quantity="1", order_date=day, status=OrderStatus.APPROVED)
        for name, day in due.items()
    }
    services.allocation_create(
        actor=rep, receipt_id=pay(rep, account, "50").pk, order_id=orders["d31_60"].pk, amount="50"
    )
    make_order(rep, account, quantity="1", order_date=dt.date(2026, 1, 5))  # draft: not a receivable
    mate_account = AccountFactory(name="李四的店", owner=teammate)
    make_order(teammate, mate_account, quantity="2", order_date=dt.date(2026, 1, 5), status=OrderStatus.SHIPPED)
    data = selectors.receivables_ageing(actor=rep, group_by="owner", as_of=as_of)
    assert len(data["rows"]) == 1
    row = data["rows"][0]
    assert (row["label"], row["orders"]) == ("张三", 5)
    assert [row[n] for n in ("not_due", "d0_30", "d31_60", "d61_90", "d90_plus", "total")] == [
        Decimal("84.00"),
        Decimal("84.00"),
        Decimal("34.00"),
        Decimal("84.00"),
        Decimal("84.00"),
        Decimal("370.00"),
    ]
    managed = selectors.receivables_ageing(actor=area_manager, group_by="owner", as_of=as_of)
    assert [(r["label"], r["d90_plus"]) for r in managed["rows"]] == [
        ("张三", Decimal("84.00")),
        ("李四", Decimal("168.00")),
    ]
    assert managed["totals"]["d90_plus"] == Decimal("252.00")
    assert selectors.receivables_ageing(actor=outsider, group_by="owner", as_of=as_of)["rows"] == []
    by_unit = selectors.receivables_ageing(actor=area_manager, group_by="org_unit", as_of=as_of)
    assert [(r["label"], r["total"]) for r in by_unit["rows"]] == [("上海区域", Decimal("538.00"))]
    page = selectors.receivable_orders(
        actor=area_manager, as_of=as_of, bucket="d90_plus", filters=selectors.ReceivableFilters(owner=rep.pk)
    )
    assert [o.pk for o in page.items] == [orders["d90_plus"].pk]
    assert selectors.receivable_orders(actor=outsider, as_of=as_of, bucket="d90_plus").items == []


@pytest.mark.django_db
def test_overdue_alert_once_per_order_and_bucket(rep, area_manager, account, make_order):
    order = make_order(rep, account, quantity="1", order_date=dt.date(2026, 1, 5), status=OrderStatus.APPROVED)
    make_order(rep, account, quantity="1", order_date=dt.date(2026, 6, 15), status=OrderStatus.APPROVED)  # not due
    assert services.receivables_alert_overdue(today=dt.date(2026, 2, 14)) == 2  # 10 days: owner + manager
    assert services.receivables_alert_overdue(today=dt.date(2026, 2, 20)) == 0  # same bucket: nothing new
    assert services.receivables_alert_overdue(today=dt.date(2026, 3, 10)) == 2  # 34 days: next bucket
    keys = sorted(Notification.objects.filter(user=rep).values_list("dedupe_key", flat=True))
    assert keys == [f"orders.overdue:{order.pk}:d0_30", f"orders.overdue:{order.pk}:d31_60"]
    assert Notification.objects.filter(user=area_manager, kind="receivable_overdue").count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_allocations_never_over_allocate(restored_defaults, rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420
    receipts = [pay(rep, account, "300") for _ in range(4)]
    errors: list[str] = []
    barrier = threading.Barrier(4)

    def allocate(receipt_id: int) -> None:
        try:
            barrier.wait()
            services.allocation_create(actor=fresh(rep), receipt_id=receipt_id, order_id=order.pk, amount="300")
        except ValidationFailed as exc:
            errors.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=allocate, args=(r.pk,)) for r in receipts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order.refresh_from_db()
    assert order.allocated_amount == Decimal("300")
    assert PaymentAllocation.objects.count() == 1
    assert errors == ["over_allocated"] * 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_retries_create_one_order(restored_defaults, rep, account, sku):
    data = {"account_id": account.pk, "lines": [{"sku": sku.code, "quantity": "1"}]}
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        try:
            barrier.wait()
            order, created = services.order_create(actor=fresh(rep), data=data, idempotency_key="retry-abcdef")
            results.append((order.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert SalesOrder.objects.count() == 1
    assert len(results) == 6
    assert {pk for pk, _ in results} == {SalesOrder.objects.get().pk}
    assert sorted(created for _, created in results) == [False] * 5 + [True]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_retries_create_one_payment(restored_defaults, rep, account):
    data = {"account_id": account.pk, "amount": "88.00", "method": "cash"}
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        try:
            barrier.wait()
            receipt, created = services.payment_create(actor=fresh(rep), data=data, idempotency_key="pay-retry-0001")
            results.append((receipt.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert PaymentReceipt.objects.count() == 1
    assert sorted(created for _, created in results) == [False, False, False, True]


@pytest.mark.django_db
def test_allocation_history_survives_removal_and_is_scoped(client_for, rep, outsider, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
    receipt = pay(rep, account, "100")
    allocation = services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order.pk, amount="40")
    services.allocation_delete(actor=rep, allocation_id=allocation.pk)
    assert [h.action for h in selectors.allocation_history(actor=rep, allocation_id=allocation.pk)] == [
        "delete",
        "create",
    ]
    with pytest.raises(NotFound):
        selectors.allocation_history(actor=outsider, allocation_id=allocation.pk)
    url = f"/api/v1/orders/allocations/{allocation.pk}/history"
    assert len(client_for(rep).get(url).json()) == 2
    assert client_for(outsider).get(url).status_code == 404
