"""Competitor digest (竞品周报): a week's competitor notes by area and brand — how many notes,
at how many outlets, the prices seen (lowest, median, highest) and the promotions seen.

A brand is the catalogue brand when the note names one, else the brand name typed by the rep
(compared without case or surrounding spaces).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinggeng.core.scope import apply_scope
from jinggeng.field.models import CompetitorNote
from jinggeng.org.models import OrgUnit
from jinggeng.org.scope import scope_for

PROMOTIONS_SHOWN = 5


@dataclass(frozen=True)
class DigestParams:
    week: dt.date  # any day of the week; the digest runs Monday to Sunday
    org_unit_id: int | None = None

    @property
    def week_start(self) -> dt.date:
        return self.week - dt.timedelta(days=self.week.isoweekday() - 1)

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=6)


@dataclass(frozen=True)
class DigestRow:
    org_unit_id: int
    org_unit_name: str
    brand_id: int | None
    brand: str
    notes: int
    outlets: int
    price_min: Decimal | None
    price_median: Decimal | None
    price_max: Decimal | None
    promotions: tuple[str, ...]
    promotion_count: int


def run(*, actor: Any, params: DigestParams) -> list[DigestRow]:
    """Rows by area, then the most noted brand first. One query for the week's notes in scope."""
    if not actor.has_perm("field.view_competitornote"):
        return []
    qs = apply_scope(
        CompetitorNote.objects.filter(seen_on__gte=params.week_start, seen_on__lte=params.week_end),
        scope_for(actor),
        owner_field="rep",
    )
    if params.org_unit_id is not None:
        unit = OrgUnit.objects.filter(pk=params.org_unit_id).first()
        if unit is None:
            return []
        qs = qs.filter(org_unit_id__in=OrgUnit.objects.filter(path__startswith=unit.path).values("id"))
    groups: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: {"notes": 0, "outlets": set(), "prices": [], "promotions": {}, "brand_id": None, "brand": ""}
    )
    units: dict[int, str] = {}
    for unit_id, unit_name, brand_id, brand_label, brand_name, account_id, price, promotion in qs.values_list(
        "org_unit_id", "org_unit__name", "brand_id", "brand__name", "brand_name", "account_id", "price", "promotion"
    ).order_by("id"):
        units[unit_id] = unit_name
        label = (brand_label or brand_name or "").strip()
        key = (unit_id, f"b{brand_id}" if brand_id else f"n{label.casefold()}")
        g = groups[key]
        g["notes"] += 1
        g["outlets"].add(account_id)
        g["brand_id"] = brand_id
        g["brand"] = g["brand"] or label
        if price is not None:
            g["prices"].append(price)
        promotion = (promotion or "").strip()
        if promotion:
            g["promotions"].setdefault(promotion.casefold(), promotion)
    rows = []
    for (unit_id, _key), g in groups.items():
        prices = sorted(g["prices"])
        promotions = list(g["promotions"].values())
        rows.append(
            DigestRow(
                org_unit_id=unit_id,
                org_unit_name=units[unit_id],
                brand_id=g["brand_id"],
                brand=g["brand"],
                notes=g["notes"],
                outlets=len(g["outlets"]),
                price_min=prices[0] if prices else None,
                price_median=Decimal(statistics.median(prices)).quantize(Decimal("0.01")) if prices else None,
                price_max=prices[-1] if prices else None,
                promotions=tuple(promotions[:PROMOTIONS_SHOWN]),
                promotion_count=len(promotions),
            )
        )
    rows.sort(key=lambda r: (r.org_unit_name, r.org_unit_id, -r.notes, r.brand))
    return rows
