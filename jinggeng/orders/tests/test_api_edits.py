"""Edits through the API: payments, contracts, price list items and approval rules, each with
optimistic locking, history and the outsider; the approval inbox."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from jinggeng.core.models import AuditLog
from jinggeng.orders import services
from jinggeng.orders.models import ApprovalRule, OrderStatus
from jinggeng.orders.tests.factories import ContractFactory, PriceListFactory, PriceListItemFactory

API = "/api/v1/orders"


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.mark.django_db
def test_payment_patch_locking_and_amount_floor(client_for, rep, outsider, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
    receipt, _ = services.payment_create(actor=rep, data={"account_id": account.pk, "amount": "200", "method": "cash"})
    services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order.pk, amount="150")
    c = client_for(rep)
    url = f"{API}/payments/{receipt.pk}"
    assert patch(c, url, {"reference": "BANK-1", "version": 1}).json()["reference"] == "BANK-1"
    stale = patch(c, url, {"reference": "BANK-2", "version": 1})
    assert stale.status_code == 409 and stale.json()["changed_fields"] == ["reference"]
    low = patch(c, url, {"amount": "100"})
    assert low.status_code == 422 and low.json()["errors"] == [
        {"field": "amount", "message": "不能小于已核销金额 150.00"}
    ]
    assert patch(client_for(outsider), url, {"reference": "x"}).status_code == 404
    assert [h["action"] for h in c.get(f"{url}/history").json()] == ["update", "update", "create"]
    assert c.delete(url).status_code == 403  # reps may not delete receipts


@pytest.mark.django_db
def test_contract_patch_and_delete_rules(client_for, rep, area_manager, account, make_order):
    contract = ContractFactory(account=account)
    c = client_for(rep)
    url = f"{API}/contracts/{contract.pk}"
    assert patch(c, url, {"status": "terminated", "version": 1}).json()["status"] == "terminated"
    assert patch(c, url, {"status": "bogus"}).json()["errors"][0]["field"] == "status"
    assert patch(c, url, {"amount": "-1"}).json()["errors"][0]["field"] == "amount"
    make_order(rep, account, contract_id=ContractFactory(account=account).pk)
    used = account.contracts.exclude(pk=contract.pk).get()
    response = client_for(area_manager).delete(f"{API}/contracts/{used.pk}")
    assert response.status_code == 422 and response.json()["code"] == "contract_in_use"
    assert client_for(area_manager).delete(url).status_code == 204


@pytest.mark.django_db
def test_price_item_patch_and_rules_crud(client_for, general_manager, rep, sku):
    gm = client_for(general_manager)
    item = PriceListItemFactory(price_list=PriceListFactory(), sku=sku, price=Decimal("3.00"))
    url = f"{API}/price-list-items/{item.pk}"
    assert patch(gm, url, {"price": "2.95", "version": 1}).json()["price"] == "2.95"
    assert patch(gm, url, {"price": "-1"}).status_code == 422
    assert patch(client_for(rep), url, {"price": "1"}).status_code == 403
    rule = post(
        gm, f"{API}/approval-rules", {"name": "大额", "min_amount": "50000", "approver_role": "regional_manager"}
    )
    assert rule.status_code == 201
    rule_id = rule.json()["id"]
    empty = post(gm, f"{API}/approval-rules", {"name": "空规则"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "min_amount"
    bad_role = post(gm, f"{API}/approval-rules", {"name": "x", "min_amount": "1", "approver_role": "king"})
    assert bad_role.json()["errors"][0]["field"] == "approver_role"
    assert patch(gm, f"{API}/approval-rules/{rule_id}", {"active": False, "version": 1}).json()["active"] is False
    assert post(client_for(rep), f"{API}/approval-rules", {"name": "x", "min_amount": "1"}).status_code == 403
    assert [h["action"] for h in gm.get(f"{API}/approval-rules/{rule_id}/history").json()] == ["update", "create"]
    assert gm.delete(f"{API}/approval-rules/{rule_id}").status_code == 204
    assert ApprovalRule.objects.count() == 0


@pytest.mark.django_db
def test_approval_inbox_for_the_approver_and_those_above(
    client_for, rep, teammate, area_manager, general_manager, account, make_order
):
    ApprovalRule.objects.create(name="折扣", min_discount_percent=Decimal("10"), manager_level=1)
    order = make_order(rep, account, discount="20")
    services.order_submit(actor=rep, order_id=order.pk)
    inbox = f"{API}?to_approve=true"
    assert [o["id"] for o in client_for(area_manager).get(inbox).json()["items"]] == [order.pk]
    assert [o["id"] for o in client_for(general_manager).get(inbox).json()["items"]] == [order.pk]
    assert client_for(rep).get(inbox).json()["items"] == []
    assert client_for(teammate).get(inbox).json()["items"] == []


@pytest.mark.django_db
def test_overdue_alert_command(rep, account, make_order, capsys):
    import datetime as dt

    make_order(rep, account, quantity="1", order_date=dt.date(2020, 1, 1), status=OrderStatus.APPROVED)
    call_command("orders_overdue_alerts")
    assert "notifications=2" in capsys.readouterr().out
    call_command("orders_overdue_alerts")
    assert "notifications=0" in capsys.readouterr().out


@pytest.mark.django_db
def test_order_patch_replaces_lines_and_reprices(client_for, rep, account, make_order, sku):
    order = make_order(rep, account, quantity="1")
    PriceListItemFactory(price_list=PriceListFactory(), sku=sku, price=Decimal("2.00"))
    c = client_for(rep)
    body = patch(c, f"{API}/{order.pk}", {"order_date": "2026-03-02", "version": 1}).json()
    assert body["total_amount"] == "48.00"  # repriced from the new list: 24 × 2.00
    body = patch(
        c, f"{API}/{order.pk}", {"lines": [{"sku": sku.code, "unit": "pack", "quantity": "2"}], "version": 2}
    ).json()
    assert [ln["quantity_pieces"] for ln in body["lines"]] == ["12.000"]
    history = c.get(f"{API}/{order.pk}/history").json()
    assert history[0]["changes"]["lines"][1] == [f"{sku.code} × 2 pack @ 2.00"]
    audits = AuditLog.objects.count()
    bad = patch(c, f"{API}/{order.pk}", {"lines": [{"sku": sku.code, "unit": "pack", "quantity": "0"}], "version": 3})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines.0.quantity"
    assert AuditLog.objects.count() == audits
    assert c.get(f"{API}/{order.pk}").json()["lines"][0]["quantity"] == "2.000"
