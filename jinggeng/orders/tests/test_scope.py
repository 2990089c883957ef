"""Scope edge cases and query counts of the list endpoints."""

from __future__ import annotations

import json

import pytest

from jinggeng.customers.models import AccountUser
from jinggeng.orders import services
from jinggeng.orders.models import OrderStatus, SalesOrder
from jinggeng.orders.tests.factories import ContractFactory, PriceListFactory, PriceListItemFactory
from jinggeng.org.tests.factories import make_employee

API = "/api/v1/orders"


@pytest.mark.django_db
def test_distributor_staff_see_their_company_orders_read_only(client_for, org, rep, account, make_order, sku):
    order = make_order(rep, account, status=OrderStatus.APPROVED)
    staff = make_employee("dist1", "distributor_user", org.shanghai, name="经销商小王").user
    AccountUser.objects.create(user=staff, account=account)
    c = client_for(staff)
    assert [o["id"] for o in c.get(API).json()["items"]] == [order.pk]
    assert c.get(f"{API}/{order.pk}").status_code == 200
    body = {"account_id": account.pk, "lines": [{"sku": sku.code, "quantity": "1"}]}
    response = c.post(API, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    assert SalesOrder.objects.count() == 1


@pytest.mark.django_db
def test_list_endpoints_query_counts(client_for, rep, account, make_order, sku, django_assert_max_num_queries):
    for i in range(8):
        order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)
        receipt, _ = services.payment_create(
            actor=rep, data={"account_id": account.pk, "amount": "10", "method": "cash"}
        )
        services.allocation_create(actor=rep, receipt_id=receipt.pk, order_id=order.pk, amount="10")
        ContractFactory(account=account)
        PriceListItemFactory(price_list=PriceListFactory(), sku=sku)
    c = client_for(rep)
    for url, count in (
        (f"{API}/payments", 8),
        (f"{API}/contracts", 8),
        (f"{API}/price-lists", 8),
        (f"{API}/allocations", 8),
        (f"{API}/receivables/ageing?group_by=account", 1),
        (f"{API}/receivables/orders", 8),
    ):
        with django_assert_max_num_queries(12):
            response = c.get(url)
        body = response.json()
        assert len(body.get("items", body.get("rows", []))) == count, url
