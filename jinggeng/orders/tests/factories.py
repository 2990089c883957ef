"""Factories for order-to-cash records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.orders.models import ApprovalRule, Contract, ContractStatus, PriceList, PriceListItem
from jinggeng.orders.pricing import list_specificity


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    code = factory.Sequence(lambda n: f"PL{n:03d}")
    name = factory.Sequence(lambda n: f"价格表{n}")
    valid_from = dt.date(2026, 1, 1)
    valid_to = None
    account_type = ""
    grade = ""
    division = ""
    specificity = factory.LazyAttribute(
        lambda o: list_specificity(account_type=o.account_type, grade=o.grade, division=o.division)
    )


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    sku = factory.SubFactory(SkuFactory)
    price = Decimal("10.00")
    min_quantity = Decimal("0")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    code = factory.Sequence(lambda n: f"HT{n:04d}")
    title = factory.Sequence(lambda n: f"年度合同{n}")
    period_from = dt.date(2026, 1, 1)
    period_to = dt.date(2026, 12, 31)
    amount = Decimal("500000")
    status = ContractStatus.ACTIVE


class ApprovalRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalRule

    name = factory.Sequence(lambda n: f"规则{n}")
