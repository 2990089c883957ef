"""The price of a SKU for an account on a date: a small pipeline of pricing steps.

`price_for` runs the steps of `PRICING_STEPS` in order. Each step gets the request
(`PricingRequest`) and the quote so far (``None`` at the start) and returns a quote. Today:

1. `step_price_list` — the price from the most specific valid price list holding the SKU;
2. `step_base_price` — if no list has it, the SKU's base price.

Rebates and price floors will be further steps appended to the tuple (for example a floor step
that raises the price to the floor and says so in ``reason``), without changing callers.

**Which list wins.** A list applies to an account when it is active, valid on the date
(``valid_from <= date <= valid_to``, an empty ``valid_to`` meaning open-ended), and each of its
criteria is empty or matches the account: customer type, grade, and division (a province code
``310000`` matches every account in 31xxxx, a city code ``310100`` every account in 3101xx, a
county code only that county). Among the lists that apply and hold the SKU, the most specific
wins: a base list (no criteria) < a list by type < by grade < by division, and a more precise
division (county > city > province) beats a coarser one; criteria add up (grade and type beats
grade alone). This order is stored on each list as ``specificity`` (see `list_specificity`).
Lists of equal specificity are ordered by their ``priority`` (higher first), then the later
``valid_from``, then the higher id. Within the winning list, the item with the largest
``min_quantity`` not above the ordered quantity (in pieces) is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from jinggeng.orders.models import PriceList, PriceListItem


@dataclass(frozen=True)
class PricingRequest:
    account: Any  # customers.Account
    sku: Any  # catalog.Sku
    on_date: dt.date
    quantity_pieces: Decimal | None = None
    # The account's valid price-list items of this SKU in precedence order, when the caller
    # fetched them for many SKUs at once (`price_items_for`); None: the step queries itself.
    candidates: tuple[PriceListItem, ...] | None = None


@dataclass(frozen=True)
class PriceQuote:
    """A price per piece, the list it came from (None for the SKU's base price) and why."""

    price: Decimal
    price_list: PriceList | None
    reason: str


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: ``100``, ``2.5``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


PricingStep = Callable[[PricingRequest, PriceQuote | None], PriceQuote | None]


def division_level(code: str) -> int:
    """0 none, 1 province, 2 city, 3 county."""
    if not code:
        return 0
    if code.endswith("0000"):
        return 1
    if code.endswith("00"):
        return 2
    return 3


def list_specificity(*, account_type: str, grade: str, division: str) -> int:
    """base 0 < type 1 < grade 2 (grade + type 3) < division 4‥15 (province / city / county,
    each with grade and type adding 2 and 1)."""
    return division_level(division) * 4 + (2 if grade else 0) + (1 if account_type else 0)


def division_candidates(code: str) -> list[str]:
    """The list divisions that match an account in ``code``: none, province, city, county."""
    return ["", code[:2] + "0000", code[:4] + "00", code]


PRECEDENCE = (
    "-price_list__specificity",
    "-price_list__priority",
    "-price_list__valid_from",
    "-price_list_id",
    "-min_quantity",
)


def _valid_items(account: Any, day: dt.date) -> QuerySet[PriceListItem]:
    return PriceListItem.objects.filter(
        price_list__active=True,
        price_list__valid_from__lte=day,
        price_list__account_type__in=["", account.account_type],
        price_list__grade__in=["", account.grade],
        price_list__division__in=division_candidates(account.division_id),
    ).filter(Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=day))


def price_items_for(*, account: Any, on_date: dt.date, sku_ids: Any) -> dict[int, tuple[PriceListItem, ...]]:
    """Every price-list item valid for ``account`` on ``on_date`` for these SKUs, per SKU in
    precedence order: one query for a whole order instead of one per line."""
    found: dict[int, list[PriceListItem]] = {}
    rows = _valid_items(account, on_date).filter(sku_id__in=sorted(set(sku_ids)))
    for item in rows.select_related("price_list").order_by(*PRECEDENCE):
        found.setdefault(item.sku_id, []).append(item)
    return {sku_id: tuple(items) for sku_id, items in found.items()}


def _first_applicable(items: tuple[PriceListItem, ...], quantity_pieces: Decimal | None) -> PriceListItem | None:
    for item in items:
        if (quantity_pieces is None and item.min_quantity == 0) or (
            quantity_pieces is not None and item.min_quantity <= quantity_pieces
        ):
            return item
    return None


def step_price_list(request: PricingRequest, quote: PriceQuote | None) -> PriceQuote | None:
    if quote is not None:
        return quote
    item: PriceListItem | None
    if request.candidates is not None:
        item = _first_applicable(request.candidates, request.quantity_pieces)
    else:
        items = _valid_items(request.account, request.on_date).filter(sku_id=request.sku.pk)
        if request.quantity_pieces is not None:
            items = items.filter(min_quantity__lte=request.quantity_pieces)
        else:
            items = items.filter(min_quantity=0)
        item = items.select_related("price_list").order_by(*PRECEDENCE).first()
    if item is None:
        return None
    pl = item.price_list
    criteria = []
    if pl.division:
        criteria.append(_("区划 %(code)s") % {"code": pl.division})
    if pl.grade:
        criteria.append(_("等级 %(grade)s") % {"grade": pl.grade})
    if pl.account_type:
        criteria.append(_("类型 %(type)s") % {"type": pl.account_type})
    reason = _("价格表 %(code)s（%(criteria)s）") % {
        "code": pl.code,
        "criteria": "、".join(criteria) if criteria else _("基础价格表"),
    }
    if item.min_quantity:
        reason += _("，起订 %(qty)s 件") % {"qty": plain(item.min_quantity)}
    return PriceQuote(price=item.price, price_list=pl, reason=reason)


def step_base_price(request: PricingRequest, quote: PriceQuote | None) -> PriceQuote | None:
    if quote is not None:
        return quote
    return PriceQuote(price=request.sku.base_price, price_list=None, reason=_("无适用价格表，使用 SKU 基准价"))


PRICING_STEPS: tuple[PricingStep, ...] = (step_price_list, step_base_price)


def price_for(
    *,
    account: Any,
    sku: Any,
    on_date: dt.date,
    quantity_pieces: Decimal | None = None,
    steps: tuple[PricingStep, ...] | None = None,
    candidates: tuple[PriceListItem, ...] | None = None,
) -> PriceQuote:
    """The price per piece of ``sku`` for ``account`` on ``on_date`` (see the module docstring).
    ``candidates``: this SKU's entry of `price_items_for`, when pricing many lines at once."""
    request = PricingRequest(
        account=account, sku=sku, on_date=on_date, quantity_pieces=quantity_pieces, candidates=candidates
    )
    quote: PriceQuote | None = None
    for step in steps or PRICING_STEPS:
        quote = step(request, quote)
    if quote is None:  # pragma: no cover - the base-price step always answers
        raise LookupError("no pricing step produced a price")
    return quote
