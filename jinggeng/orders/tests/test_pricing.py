"""price_for: the most specific valid price list wins; the SKU's base price otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jinggeng.orders.pricing import PRICING_STEPS, PriceQuote, list_specificity, price_for
from jinggeng.orders.tests.factories import PriceListFactory, PriceListItemFactory

DAY = dt.date(2026, 3, 1)


def add(sku, price, **criteria):
    return PriceListItemFactory(price_list=PriceListFactory(**criteria), sku=sku, price=Decimal(price))


@pytest.mark.django_db
def test_base_price_when_no_list_applies(account, sku):
    quote = price_for(account=account, sku=sku, on_date=DAY)
    assert quote.price == Decimal("3.50")
    assert quote.price_list is None
    assert "基准价" in quote.reason


@pytest.mark.django_db
def test_most_specific_list_wins_step_by_step(account, sku):
    add(sku, "3.00")
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("3.00")
    add(sku, "2.90", account_type="outlet")
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("2.90")
    add(sku, "2.50", account_type="distributor")  # another type: never applies
    add(sku, "2.80", grade="B")
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("2.80")
    add(sku, "2.75", grade="B", account_type="outlet")
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("2.75")
    add(sku, "2.70", division="310000")  # 上海市: the province
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("2.70")
    add(sku, "2.10", division="110000")  # 北京: not this account's
    add(sku, "2.65", division="310100")  # the city
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("2.65")
    item = add(sku, "2.60", division="310115")  # 浦东新区: the county
    quote = price_for(account=account, sku=sku, on_date=DAY)
    assert (quote.price, quote.price_list) == (Decimal("2.60"), item.price_list)
    assert quote.reason == f"价格表 {item.price_list.code}（区划 310115）"


@pytest.mark.django_db
def test_validity_activity_priority_and_quantity_tiers(account, sku):
    add(sku, "3.00", valid_from=dt.date(2026, 4, 1))  # not yet valid
    add(sku, "3.10", valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 12, 31))  # expired
    add(sku, "3.20", active=False)
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("3.50")
    add(sku, "3.30", priority=1)
    low = add(sku, "3.40", priority=0)
    assert price_for(account=account, sku=sku, on_date=DAY).price == Decimal("3.30")
    PriceListItemFactory(price_list=low.price_list, sku=sku, price=Decimal("2.00"), min_quantity=Decimal("240"))
    assert price_for(account=account, sku=sku, on_date=DAY, quantity_pieces=Decimal("240")).price == Decimal("3.30")
    top = add(sku, "3.35", priority=5)
    PriceListItemFactory(price_list=top.price_list, sku=sku, price=Decimal("3.00"), min_quantity=Decimal("100"))
    assert price_for(account=account, sku=sku, on_date=DAY, quantity_pieces=Decimal("99")).price == Decimal("3.35")
    quote = price_for(account=account, sku=sku, on_date=DAY, quantity_pieces=Decimal("100"))
    assert quote.price == Decimal("3.00")
    assert "起订 100 件" in quote.reason


def test_specificity_order():
    base = list_specificity(account_type="", grade="", division="")
    by_type = list_specificity(account_type="outlet", grade="", division="")
    by_grade = list_specificity(account_type="", grade="A", division="")
    province = list_specificity(account_type="", grade="", division="310000")
    city = list_specificity(account_type="", grade="", division="310100")
    county = list_specificity(account_type="", grade="", division="310115")
    assert base < by_type < by_grade < province < city < county
    assert list_specificity(account_type="outlet", grade="A", division="") < province


@pytest.mark.django_db
def test_pipeline_takes_extra_steps(account, sku):
    """A later step (here a price floor) changes the quote without changing callers."""

    def floor(request, quote):
        if quote is not None and quote.price < Decimal("3.00"):
            return PriceQuote(price=Decimal("3.00"), price_list=quote.price_list, reason=quote.reason + "；价格下限")
        return quote

    add(sku, "2.00")
    quote = price_for(account=account, sku=sku, on_date=DAY, steps=(*PRICING_STEPS, floor))
    assert quote.price == Decimal("3.00")
    assert quote.reason.endswith("价格下限")


@pytest.mark.django_db
def test_prefetched_candidates_price_like_the_single_lookup(account, sku):
    """price_items_for fetches a whole order's prices at once; each line gets the same quote as
    its own lookup would, tiers and precedence included."""
    from jinggeng.orders.pricing import price_items_for

    add(sku, "3.30", priority=1)
    low = add(sku, "3.40")
    PriceListItemFactory(price_list=low.price_list, sku=sku, price=Decimal("2.00"), min_quantity=Decimal("240"))
    top = add(sku, "3.35", account_type="outlet")
    PriceListItemFactory(price_list=top.price_list, sku=sku, price=Decimal("3.00"), min_quantity=Decimal("100"))
    add(sku, "1.00", division="110000")  # another province: never a candidate
    candidates = price_items_for(account=account, on_date=DAY, sku_ids=[sku.pk])[sku.pk]
    assert len(candidates) == 5
    for pieces in (None, Decimal("1"), Decimal("99"), Decimal("100"), Decimal("240")):
        alone = price_for(account=account, sku=sku, on_date=DAY, quantity_pieces=pieces)
        batched = price_for(account=account, sku=sku, on_date=DAY, quantity_pieces=pieces, candidates=candidates)
        assert (batched.price, batched.price_list, batched.reason) == (alone.price, alone.price_list, alone.reason)


@pytest.mark.django_db
def test_order_lines_are_looked_up_in_a_constant_number_of_queries(rep, account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jinggeng.catalog.tests.factories import SkuFactory
    from jinggeng.orders import services

    skus = [SkuFactory(code=f"SKU-{n:02d}", base_price=Decimal("5.00")) for n in range(20)]
    for s in skus[:10]:
        add(s, "4.00")

    def create(n):
        data = {
            "account_id": account.pk,
            "order_date": DAY.isoformat(),
            "lines": [{"sku": s.code, "unit": "piece", "quantity": "2"} for s in skus[:n]],
        }
        with CaptureQueriesContext(connection) as queries:
            order, _created = services.order_create(actor=rep, data=data)
        return order, len(queries.captured_queries)

    create(1)  # the actor's permissions are cached from here on
    _two, two_queries = create(2)
    twenty, twenty_queries = create(20)
    assert twenty_queries == two_queries == 12
    prices = sorted(twenty.lines.values_list("list_price", flat=True))
    assert prices == [Decimal("4.00")] * 10 + [Decimal("5.00")] * 10
