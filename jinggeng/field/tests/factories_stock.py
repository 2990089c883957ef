"""Factories for the stock part: checked-in visits set up by their fields, stock counts and
competitor notes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
import pytest
from django.utils import timezone

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import CompetitorNote, StockCount, VisitStatus
from jinggeng.field.services import stock as services
from jinggeng.field.tests.factories import VisitFactory


class CheckedInVisitFactory(VisitFactory):
    """A visit in progress: checked in at the outlet (set by fields, not by the visit service)."""

    status = VisitStatus.IN_PROGRESS
    check_in_at = factory.LazyFunction(timezone.now)
    check_in_latitude = factory.LazyAttribute(lambda o: o.account.latitude)
    check_in_longitude = factory.LazyAttribute(lambda o: o.account.longitude)
    check_in_accuracy_m = 10.0
    check_in_distance_m = 0.0


class StockCountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockCount

    visit = factory.SubFactory(VisitFactory)
    account = factory.LazyAttribute(lambda o: o.visit.account)
    sku = factory.SubFactory(SkuFactory)
    counted_on = factory.LazyAttribute(lambda o: o.visit.visit_date)
    stock = 10
    received = 0


class CompetitorNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompetitorNote

    visit = factory.SubFactory(VisitFactory)
    account = factory.LazyAttribute(lambda o: o.visit.account)
    rep = factory.LazyAttribute(lambda o: o.visit.rep)
    org_unit = factory.LazyAttribute(lambda o: o.visit.org_unit)
    seen_on = factory.LazyAttribute(lambda o: o.visit.visit_date)
    brand_name = "竞品甲"
    product = "竞品可乐 500ml"


def past_count(*, account, rep, sku, day: dt.date, stock: int, received: int = 0) -> StockCount:
    """A completed earlier visit of ``rep`` to ``account`` with one SKU counted."""
    visit = VisitFactory(
        account=account, rep=rep, org_unit=rep.employee.org_unit, visit_date=day, status=VisitStatus.COMPLETED
    )
    return StockCountFactory(visit=visit, sku=sku, stock=stock, received=received)


# --------------------------------------------------------------------------- shared fixtures
# Import them into a test module: `from jinggeng.field.tests.factories_stock import cola, ...`.

DAY = dt.date(2026, 11, 30)


@pytest.fixture
def cola(db):
    return SkuFactory(code="COLA", name="可乐 500ml", base_price=Decimal("3.50"))  # 1 箱 = 4 提 = 24 瓶


@pytest.fixture
def tea(db):
    return SkuFactory(code="TEA", name="冰红茶", pieces_per_pack=1, packs_per_case=12, base_price=Decimal("2.00"))


@pytest.fixture
def outlet(rep):
    return AccountFactory(name="张三的便利店", owner=rep)


@pytest.fixture
def visit(rep, outlet):
    return CheckedInVisitFactory(account=outlet, rep=rep, org_unit=rep.employee.org_unit, visit_date=DAY)


@pytest.fixture
def history(rep, outlet, cola, tea):
    """COLA: 40 on 11-02; 22 (+24) on 11-09; 8 on 11-16 → today 20 (+48): 92 sold in 28 days."""
    past_count(account=outlet, rep=rep, sku=cola, day=dt.date(2026, 10, 26), stock=100)
    past_count(account=outlet, rep=rep, sku=cola, day=dt.date(2026, 11, 2), stock=40)
    past_count(account=outlet, rep=rep, sku=cola, day=dt.date(2026, 11, 9), stock=22, received=24)
    past_count(account=outlet, rep=rep, sku=cola, day=dt.date(2026, 11, 16), stock=8)
    # TEA: 30 on 11-20 → today 10: 2 a day.
    past_count(account=outlet, rep=rep, sku=tea, day=dt.date(2026, 11, 20), stock=30)


def record_today(rep, visit):
    """Today's count at ``visit``: COLA 20 (+48 received), TEA 10."""
    return services.stock_count_record(
        actor=rep, visit=visit, lines=[{"sku": "COLA", "stock": 20, "received": 48}, {"sku": "TEA", "stock": 10}]
    )
