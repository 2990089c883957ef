"""Stock sheet (进销存), customer card and distribution (铺货率) reads, with exact figures."""

# ruff: noqa: F811  (the shared fixtures are imported from factories_stock)

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jinggeng.core.errors import NotFound
from jinggeng.customers.models import AccountStatus, AccountType
from jinggeng.customers.tests.factories import AccountFactory, ContactFactory
from jinggeng.field.selectors import stock as selectors
from jinggeng.field.tests.factories_stock import (  # noqa: F401 (fixtures)
    DAY,
    cola,
    history,
    outlet,
    past_count,
    record_today,
    tea,
    visit,
)


def test_stock_sheet_per_sku_per_visit_with_sold_computed(rep, visit, history):
    record_today(rep, visit)
    sheet = selectors.stock_sheet(actor=rep, account=visit.account, visits=3)
    assert sheet.days == [DAY, dt.date(2026, 11, 20), dt.date(2026, 11, 16)]
    rows = {row.sku.code: row for row in sheet.rows}
    assert [(e.day, e.stock, e.received, e.sold) for e in rows["COLA"].entries] == [
        (DAY, 20, 48, 36),
        (dt.date(2026, 11, 16), 8, 0, 14),  # sold from the 11-09 count, which is not shown
    ]
    assert [(e.day, e.stock, e.received, e.sold) for e in rows["TEA"].entries] == [
        (DAY, 10, 0, 20),
        (dt.date(2026, 11, 20), 30, 0, None),  # no earlier count: sold unknown
    ]


def test_stock_sheet_out_of_scope_is_not_found(outsider, teammate, outlet, history):
    for intruder in (outsider, teammate):
        with pytest.raises(NotFound):
            selectors.stock_sheet(actor=intruder, account=outlet)
        with pytest.raises(NotFound):
            selectors.customer_card(actor=intruder, account_id=outlet.pk)


def test_customer_card_collects_the_outlet(rep, area_manager, visit, history):
    ContactFactory(account=visit.account, name="王老板", is_primary=True)
    record_today(rep, visit)
    for actor in (rep, area_manager):
        card = selectors.customer_card(actor=actor, account_id=visit.account_id)
        assert card.account.pk == visit.account_id
        assert [c.name for c in card.contacts] == ["王老板"]
        assert [v.visit_date for v in card.visits][:2] == [DAY, dt.date(2026, 11, 20)]
        assert len(card.visits) == 6
        assert card.sheet is not None and [r.sku.code for r in card.sheet.rows] == ["COLA", "TEA"]


def test_visit_for_pages_is_scoped(rep, teammate, outsider, area_manager, visit):
    assert selectors.stock_visit_get(actor=rep, visit_id=visit.pk).pk == visit.pk
    assert selectors.stock_visit_get(actor=area_manager, visit_id=visit.pk).pk == visit.pk
    for intruder in (teammate, outsider):
        with pytest.raises(NotFound):
            selectors.stock_visit_get(actor=intruder, visit_id=visit.pk)


# --------------------------------------------------------------------------- distribution


@pytest.fixture
def area(rep, outsider, cola, tea):
    """Four active outlets of the rep in Shanghai, a closed one and a distributor (not counted),
    and one outlet in Beijing with COLA in stock.

    A: 11-10 COLA 5 (+10), TEA 0 (+12); 11-25 COLA 0, TEA 3 (+6)  → latest: TEA only; weight 28
    B: 11-20 COLA 8 (+24)                                           → latest: COLA; weight 24
    C: 10-01 COLA 5 (outside the 30-day window)                     → not counted; weight 0
    D: never visited                                                → weight 0
    """
    a, b, c, _d = (AccountFactory(owner=rep, name=f"门店{x}") for x in "ABCD")
    closed = AccountFactory(owner=rep, name="已关闭", status=AccountStatus.CLOSED)
    dealer = AccountFactory(owner=rep, name="经销商", account_type=AccountType.DISTRIBUTOR)
    far = AccountFactory(owner=outsider, name="北京门店", division_id="110105", city_code="110100")
    past_count(account=a, rep=rep, sku=cola, day=dt.date(2026, 11, 10), stock=5, received=10)
    a_first = a.visits.get()
    from jinggeng.field.tests.factories_stock import StockCountFactory

    StockCountFactory(visit=a_first, sku=tea, stock=0, received=12)
    second = past_count(account=a, rep=rep, sku=cola, day=dt.date(2026, 11, 25), stock=0)
    StockCountFactory(visit=second.visit, sku=tea, stock=3, received=6)
    past_count(account=b, rep=rep, sku=cola, day=dt.date(2026, 11, 20), stock=8, received=24)
    past_count(account=c, rep=rep, sku=cola, day=dt.date(2026, 10, 1), stock=5)
    past_count(account=closed, rep=rep, sku=cola, day=dt.date(2026, 11, 20), stock=50, received=100)
    past_count(account=dealer, rep=rep, sku=cola, day=dt.date(2026, 11, 20), stock=50, received=100)
    past_count(account=far, rep=outsider, sku=cola, day=dt.date(2026, 11, 20), stock=7, received=48)


def test_distribution_numeric_and_weighted_exact(rep, org, area, cola, tea):
    table = selectors.distribution_table(actor=rep, org_unit=org.shanghai, window_days=30, on=DAY)
    assert (table.start, table.end, table.outlets, table.outlets_counted, table.weight_total) == (
        dt.date(2026, 11, 1),
        DAY,
        4,
        2,
        52,
    )
    rows = {r.sku.code: r for r in table.rows}
    assert (rows["COLA"].outlets_in_stock, rows["COLA"].weight_in_stock) == (1, 24)
    assert (rows["COLA"].numeric, rows["COLA"].weighted) == (Decimal("25.0"), Decimal("46.2"))
    assert (rows["TEA"].outlets_in_stock, rows["TEA"].weight_in_stock) == (1, 28)
    assert (rows["TEA"].numeric, rows["TEA"].weighted) == (Decimal("25.0"), Decimal("53.8"))
    assert "数值铺货率" in table.numeric_definition and "加权铺货率" in table.weighted_definition
    one = selectors.distribution_rate(actor=rep, org_unit=org.shanghai, sku=cola, window_days=30, on=DAY)
    assert (one.outlets_in_stock, one.outlets, one.numeric, one.weighted) == (1, 4, Decimal("25.0"), Decimal("46.2"))


def test_distribution_is_scoped_to_the_actor(rep, teammate, outsider, general_manager, org, area, cola):
    # The general manager sees the same Shanghai figures; company-wide, Beijing's outlet counts too.
    gm = selectors.distribution_rate(actor=general_manager, org_unit=org.shanghai, sku=cola, window_days=30, on=DAY)
    assert (gm.outlets_in_stock, gm.outlets) == (1, 4)
    everywhere = selectors.distribution_rate(actor=general_manager, org_unit=None, sku=cola, window_days=30, on=DAY)
    assert (everywhere.outlets_in_stock, everywhere.outlets, everywhere.weight_in_stock, everywhere.weight_total) == (
        2,
        5,
        72,
        100,
    )
    # Others see none of the rep's outlets.
    for intruder in (teammate, outsider):
        row = selectors.distribution_rate(actor=intruder, org_unit=org.shanghai, sku=cola, window_days=30, on=DAY)
        assert (row.outlets_in_stock, row.outlets, row.numeric, row.weighted) == (0, 0, None, None)


def test_distribution_window_moves(rep, org, area, cola):
    # A 90-day window reaches C's count of 10-01 (COLA 5 in stock).
    row = selectors.distribution_rate(actor=rep, org_unit=org.shanghai, sku=cola, window_days=90, on=DAY)
    assert (row.outlets_in_stock, row.outlets_counted, row.numeric) == (2, 3, Decimal("50.0"))
