"""Factories for field records. Parts may add their own factories in ``factories_<part>.py``."""

from __future__ import annotations

import datetime as dt

import factory

from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import Route, RouteStop, Visit, VisitCycle, VisitStandard, VisitStepKind
from jinggeng.org.tests.factories import OrgUnitFactory, UserFactory


class VisitStandardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitStandard

    code = factory.Sequence(lambda n: f"STD{n:03d}")
    name = factory.Sequence(lambda n: f"拜访标准{n}")
    required_steps = factory.LazyFunction(lambda: [VisitStepKind.CARD, VisitStepKind.STOCK, VisitStepKind.FAREWELL])
    optional_steps = factory.LazyFunction(lambda: [VisitStepKind.COMPETITOR, VisitStepKind.ORDER])
    visit_minutes = 15
    min_minutes = 5


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    code = factory.Sequence(lambda n: f"R{n:04d}")
    name = factory.Sequence(lambda n: f"线路{n}")
    rep = factory.SubFactory(UserFactory)
    org_unit = factory.SubFactory(OrgUnitFactory)
    cycle = VisitCycle.WEEKLY
    weekdays = factory.LazyFunction(lambda: [1])
    anchor_date = dt.date(2026, 1, 5)


class RouteStopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RouteStop

    route = factory.SubFactory(RouteFactory)
    account = factory.SubFactory(AccountFactory)
    position = factory.Sequence(lambda n: n + 1)


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    account = factory.SubFactory(AccountFactory)
    rep = factory.SubFactory(UserFactory)
    org_unit = factory.SubFactory(OrgUnitFactory)
    visit_date = dt.date(2026, 11, 23)
    planned_date = factory.LazyAttribute(lambda o: o.visit_date)


def shanghai_outlets(owner, n: int, *, lat: float = 31.20, lng: float = 121.45, step: float = 0.01, **extra):
    """``n`` outlets of ``owner`` on a small grid in Shanghai (about a kilometre apart)."""
    return [
        AccountFactory(
            name=f"{owner.username}的门店{i + 1}",
            owner=owner,
            latitude=round(lat + (i % 5) * step, 6),
            longitude=round(lng + (i // 5) * step, 6),
            **extra,
        )
        for i in range(n)
    ]
