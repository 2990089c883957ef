"""Shared records for the order tests: a SKU (1 箱 = 4 提 = 24 瓶), the rep's account and the
outsider's account, and a helper that makes an approved order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.orders import services
from jinggeng.orders.models import OrderStatus, SalesOrder


def fresh(user):
    """The user again, without cached permissions or scope."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def sku(db):
    return SkuFactory(code="SKU-COLA", name="可乐 500ml", base_price=Decimal("3.50"))


@pytest.fixture
def account(rep):
    return AccountFactory(name="张三的便利店", owner=rep, grade="B", credit_limit=Decimal("0"))


@pytest.fixture
def far_account(outsider):
    return AccountFactory(name="北京某商店", owner=outsider, division_id="110105", city_code="110100")


@pytest.fixture
def make_order(sku):
    def make(actor, account, *, quantity="10", unit="case", discount="0", order_date=None, status=None, **extra):
        data = {
            "account_id": account.pk,
            "order_date": (order_date or dt.date(2026, 3, 1)).isoformat(),
            "lines": [{"sku": sku.code, "unit": unit, "quantity": quantity, "discount_percent": discount}],
            **extra,
        }
        order, _created = services.order_create(actor=actor, data=data)
        if status in (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            # Straight to the state (approval itself is tested on its own).
            SalesOrder.objects.filter(pk=order.pk).update(status=status)
            order.refresh_from_db()
        return order

    return make


@pytest.fixture
def restored_defaults(transactional_db):
    """pytest-django runs transactional tests last, after others of them may have flushed the
    database (post_migrate makes roles and permissions again, but divisions and the data of
    migrations are gone): put back what these tests need. Idempotent."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from jinggeng.orders.roles import grant_order_permissions
    from jinggeng.org.models import Division
    from jinggeng.org.roles import ensure_default_roles

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    ensure_default_roles()
    grant_order_permissions()
    for code, name, level, full_name in (
        ("310115", "浦东新区", "county", "上海市浦东新区"),
        ("110105", "朝阳区", "county", "北京市朝阳区"),
    ):
        Division.objects.get_or_create(code=code, defaults={"name": name, "level": level, "full_name": full_name})
