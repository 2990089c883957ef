"""Factories for the stock part: checked-in visits set up by their fields, stock counts and
competitor notes."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.field.models import CompetitorNote, StockCount, VisitStatus
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
