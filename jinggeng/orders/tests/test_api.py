"""The orders API for every persona: scope, problem details, idempotency, locking."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jinggeng.core.models import AuditLog
from jinggeng.orders.models import (
    ApprovalRule,
    Contract,
    OrderStatus,
    PaymentAllocation,
    PaymentReceipt,
    PriceList,
    SalesOrder,
)
from jinggeng.orders.tests.factories import ContractFactory, PriceListFactory, PriceListItemFactory

API = "/api/v1/orders"


def post(client, url, data, **headers):
    return client.post(url, data=json.dumps(data), content_type="application/json", **headers)


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def order_body(account, sku, **extra):
    return {
        "account_id": account.pk,
        "order_date": "2026-03-01",
        "lines": [{"sku": sku.code, "unit": "case", "quantity": "2", "discount_percent": "5"}],
        **extra,
    }


@pytest.mark.django_db
def test_order_create_get_list_and_history(client_for, rep, teammate, area_manager, outsider, account, sku):
    c = client_for(rep)
    response = post(c, API, order_body(account, sku))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["total_amount"] == "159.84"  # 48 × 3.33 (3.50 × 0.95, per piece to the cent)
    assert body["lines"][0]["quantity_pieces"] == "48.000"
    assert body["lines"][0]["price_reason"] == "无适用价格表，使用 SKU 基准价"
    order_id = body["id"]
    assert c.get(f"{API}/{order_id}").json()["number"] == body["number"]
    assert [o["id"] for o in c.get(API).json()["items"]] == [order_id]
    assert [o["id"] for o in client_for(area_manager).get(API).json()["items"]] == [order_id]
    assert client_for(teammate).get(API).json()["items"] == []
    assert client_for(outsider).get(API).json()["items"] == []
    assert [h["action"] for h in c.get(f"{API}/{order_id}/history").json()] == ["create"]
    assert [t["to_status"] for t in c.get(f"{API}/{order_id}/transitions").json()] == ["draft"]


@pytest.mark.django_db
def test_list_filters_and_query_count(client_for, rep, account, make_order, django_assert_max_num_queries):
    for _ in range(5):
        make_order(rep, account)
    make_order(rep, account, status=OrderStatus.APPROVED)
    c = client_for(rep)
    assert len(c.get(f"{API}?status=approved").json()["items"]) == 1
    assert len(c.get(f"{API}?status=draft&limit=3").json()["items"]) == 3
    page = c.get(f"{API}?limit=4").json()
    rest = c.get(f"{API}?limit=4&cursor={page['next_cursor']}").json()
    assert len(page["items"]) == 4 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert c.get(f"{API}?status=weird").status_code == 422
    with django_assert_max_num_queries(8):
        assert len(c.get(API).json()["items"]) == 6


@pytest.mark.django_db
def test_outsider_gets_404_everywhere_and_nothing_changes(client_for, rep, outsider, account, make_order, sku):
    order = make_order(rep, account, status=OrderStatus.APPROVED)
    receipt = PaymentReceipt.objects.create(
        number="PR-1",
        account=account,
        owner=rep,
        org_unit=account.org_unit,
        amount=100,
        received_on="2026-03-02",
        method="cash",
    )
    contract = ContractFactory(account=account)
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    for url in (
        f"{API}/{order.pk}",
        f"{API}/{order.pk}/history",
        f"{API}/{order.pk}/transitions",
        f"{API}/payments/{receipt.pk}",
        f"{API}/payments/{receipt.pk}/history",
        f"{API}/contracts/{contract.pk}",
        f"{API}/contracts/{contract.pk}/history",
        f"{API}/price?account_id={account.pk}&sku={sku.code}",
    ):
        response = c.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/problem+json"
    for action in ("submit", "approve", "reject", "ship", "complete", "cancel"):
        assert post(c, f"{API}/{order.pk}/{action}", {"note": "x"}).status_code == 404, action
    assert patch(c, f"{API}/{order.pk}", {"notes": "x"}).status_code == 404
    assert post(c, f"{API}/{order.pk}/lines", {"sku": sku.code, "quantity": "1"}).status_code == 404
    assert c.delete(f"{API}/{order.pk}").status_code == 404
    assert patch(c, f"{API}/payments/{receipt.pk}", {"reference": "x"}).status_code == 404
    assert post(c, f"{API}/payments/{receipt.pk}/allocations", {"order_id": order.pk, "amount": "1"}).status_code == 404
    assert c.delete(f"{API}/payments/{receipt.pk}").status_code == 404
    assert patch(c, f"{API}/contracts/{contract.pk}", {"title": "x"}).status_code == 404
    assert c.delete(f"{API}/contracts/{contract.pk}").status_code == 404
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4 x", content_type="application/pdf")
    assert c.post(f"{API}/contracts/{contract.pk}/attachments", {"file": upload}).status_code == 404
    assert c.get(f"{API}/payments").json()["items"] == []
    assert c.get(f"{API}/contracts").json()["items"] == []
    assert c.get(f"{API}/receivables/ageing").json()["rows"] == []
    order.refresh_from_db()
    receipt.refresh_from_db()
    contract.refresh_from_db()
    assert (order.status, order.version, receipt.reference, contract.version) == ("approved", 1, "", 1)
    assert PaymentAllocation.objects.count() == 0
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "0"}, "lines.0.quantity"),
        ({"quantity": "-1"}, "lines.0.quantity"),
        ({"quantity": "many"}, "lines.0.quantity"),
        ({"unit": "barrel"}, "lines.0.unit"),
        ({"list_price": "-0.01"}, "lines.0.list_price"),
    ],
)
def test_bad_order_input_is_a_problem_naming_the_field(client_for, rep, account, sku, line, field):
    body = order_body(account, sku)
    body["lines"][0].update(line)
    response = post(client_for(rep), API, body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert field in [e["field"] for e in problem["errors"]]
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_idempotent_order_creation_returns_the_first_result(client_for, rep, account, sku):
    c = client_for(rep)
    first = post(c, API, order_body(account, sku), HTTP_IDEMPOTENCY_KEY="order-key-0001")
    again = post(c, API, order_body(account, sku), HTTP_IDEMPOTENCY_KEY="order-key-0001")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert SalesOrder.objects.count() == 1
    other = post(c, API, order_body(account, sku, notes="不同"), HTTP_IDEMPOTENCY_KEY="order-key-0001")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert post(c, API, order_body(account, sku), HTTP_IDEMPOTENCY_KEY="order-key-0002").status_code == 201
    assert SalesOrder.objects.count() == 2


@pytest.mark.django_db
def test_idempotent_payment_creation(client_for, rep, account):
    c = client_for(rep)
    body = {"account_id": account.pk, "amount": "500", "received_on": "2026-03-05", "method": "cash"}
    first = post(c, f"{API}/payments", body, HTTP_IDEMPOTENCY_KEY="pay-key-0001")
    again = post(c, f"{API}/payments", body, HTTP_IDEMPOTENCY_KEY="pay-key-0001")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert PaymentReceipt.objects.count() == 1


@pytest.mark.django_db
def test_version_conflict_names_what_changed(client_for, rep, area_manager, account, sku):
    c = client_for(rep)
    order = post(c, API, order_body(account, sku)).json()
    assert (
        patch(client_for(area_manager), f"{API}/{order['id']}", {"notes": "经理备注", "version": 1}).status_code == 200
    )
    response = patch(c, f"{API}/{order['id']}", {"payment_terms_days": 45, "version": 1})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "version_conflict"
    assert problem["changed_fields"] == ["notes"] and problem["changed_by"] == ["李经理"]
    assert SalesOrder.objects.get().payment_terms_days == 30


@pytest.mark.django_db
def test_transitions_through_the_api(client_for, rep, area_manager, account, sku):
    ApprovalRule.objects.create(name="折扣", min_discount_percent=Decimal("3"), manager_level=1)
    c = client_for(rep)
    order = post(c, API, order_body(account, sku)).json()
    submitted = post(c, f"{API}/{order['id']}/submit", {"version": 1})
    assert submitted.status_code == 200
    assert submitted.json()["approval_reasons"] == ["折扣 5% 超过 3%（规则“折扣”，由 李经理 审批）"]
    assert submitted.json()["can_approve"] is False
    m = client_for(area_manager)
    assert m.get(f"{API}/{order['id']}").json()["can_approve"] is True
    assert [o["id"] for o in m.get(f"{API}?to_approve=true").json()["items"]] == [order["id"]]
    assert post(c, f"{API}/{order['id']}/approve", {}).status_code == 403
    bad = post(m, f"{API}/{order['id']}/ship", {})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_transition"
    assert bad.json()["errors"] == [{"field": "status", "message": "订单状态为“待审批”，不能变为“已发货”"}]
    assert post(m, f"{API}/{order['id']}/approve", {"note": "好"}).json()["status"] == "approved"
    assert post(m, f"{API}/{order['id']}/ship", {}).json()["status"] == "shipped"
    assert [t["to_status"] for t in c.get(f"{API}/{order['id']}/transitions").json()] == [
        "draft",
        "submitted",
        "approved",
        "shipped",
    ]


@pytest.mark.django_db
def test_payments_allocations_and_ageing(client_for, rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420
    c = client_for(rep)
    receipt = post(c, f"{API}/payments", {"account_id": account.pk, "amount": "300", "method": "cash"}).json()
    response = post(c, f"{API}/payments/{receipt['id']}/allocations", {"order_id": order.pk, "amount": "250"})
    assert response.status_code == 201
    over = post(c, f"{API}/payments/{receipt['id']}/allocations", {"order_id": order.pk, "amount": "60"})
    assert over.status_code == 422
    assert over.json()["errors"] == [{"field": "amount", "message": "超过回款未核销余额 50.00"}]
    detail = c.get(f"{API}/payments/{receipt['id']}").json()
    assert (detail["allocated_amount"], detail["unallocated_amount"]) == ("250.00", "50.00")
    assert [a["amount"] for a in detail["allocations"]] == ["250.00"]
    assert c.get(f"{API}/{order.pk}").json()["open_amount"] == "170.00"
    ageing = c.get(f"{API}/receivables/ageing?group_by=account&as_of=2026-06-20").json()
    assert ageing["rows"][0]["label"] == "张三的便利店"
    assert ageing["rows"][0]["d61_90"] == "170.00"
    drill = c.get(f"{API}/receivables/orders?bucket=d61_90&as_of=2026-06-20").json()
    assert [o["id"] for o in drill["items"]] == [order.pk]
    assert c.get(f"{API}/receivables/ageing?group_by=planet").status_code == 422


@pytest.mark.django_db
def test_price_lists_crud_quote_and_permissions(client_for, rep, general_manager, account, sku):
    gm = client_for(general_manager)
    created = post(
        gm,
        f"{API}/price-lists",
        {"code": "PL-SH", "name": "上海价", "valid_from": "2026-01-01", "division": "310000"},
    )
    assert created.status_code == 201, created.content
    pl = created.json()
    assert pl["specificity"] == 4
    assert post(gm, f"{API}/price-lists/{pl['id']}/items", {"sku": sku.code, "price": "3.10"}).status_code == 201
    bad = post(gm, f"{API}/price-lists/{pl['id']}/items", {"sku": sku.code, "price": "-1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "price"
    quote = client_for(rep).get(f"{API}/price?account_id={account.pk}&sku={sku.code}&quantity=1&unit=case").json()
    assert (quote["price"], quote["price_list"], quote["line_total"]) == ("3.10", "PL-SH", "74.40")
    # A rep reads price lists but may not change them.
    assert client_for(rep).get(f"{API}/price-lists/{pl['id']}").status_code == 200
    assert patch(client_for(rep), f"{API}/price-lists/{pl['id']}", {"name": "x"}).status_code == 403
    bad_period = patch(gm, f"{API}/price-lists/{pl['id']}", {"valid_to": "2025-01-01", "version": 1})
    assert bad_period.status_code == 422 and bad_period.json()["errors"][0]["field"] == "valid_to"
    assert patch(gm, f"{API}/price-lists/{pl['id']}", {"grade": "A", "version": 1}).json()["specificity"] == 6
    assert [h["action"] for h in gm.get(f"{API}/price-lists/{pl['id']}/history").json()] == ["update", "create"]
    assert gm.delete(f"{API}/price-lists/{pl['id']}").status_code == 204
    assert PriceList.objects.count() == 0


@pytest.mark.django_db
def test_contracts_and_attachments(client_for, rep, account, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ORDERS_ATTACHMENT_MAX_BYTES = 1024
    c = client_for(rep)
    body = {"account_id": account.pk, "code": "HT-1", "period_from": "2026-01-01", "period_to": "2026-12-31"}
    contract = post(c, f"{API}/contracts", body).json()
    assert contract["status"] == "draft"
    bad = post(c, f"{API}/contracts", {**body, "code": "HT-2", "period_to": "2025-12-31"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period_to"
    ok = c.post(
        f"{API}/contracts/{contract['id']}/attachments",
        {"file": SimpleUploadedFile("合同.pdf", b"%PDF-1.4 test", content_type="application/pdf")},
    )
    assert ok.status_code == 201 and ok.json()["name"] == "合同.pdf"
    for name, content, fragment in [
        ("x.exe", b"MZ", "不支持的文件类型"),
        ("fake.pdf", b"<html>", "不符"),
        ("big.pdf", b"%PDF" + b"x" * 2000, "文件过大"),
    ]:
        response = c.post(f"{API}/contracts/{contract['id']}/attachments", {"file": SimpleUploadedFile(name, content)})
        assert response.status_code == 422, name
        assert response.json()["errors"][0]["field"] == "file"
        assert fragment in response.json()["detail"]
    assert len(c.get(f"{API}/contracts/{contract['id']}").json()["attachments"]) == 1
    assert Contract.objects.count() == 1


@pytest.mark.django_db
def test_openapi_lists_the_orders_paths(client_for, rep):
    paths = client_for(rep).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/submit",
        "/api/v1/orders/price-lists",
        "/api/v1/orders/payments",
        "/api/v1/orders/receivables/ageing",
    ):
        assert path in paths, path


@pytest.mark.django_db
def test_pricelist_item_factory_sanity(sku):
    item = PriceListItemFactory(price_list=PriceListFactory(grade="A"), sku=sku)
    assert item.price_list.specificity == 2
