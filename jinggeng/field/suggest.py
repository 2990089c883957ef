"""Suggested order arithmetic (建议订单), pure: plain values in, plain values out.

For one SKU at one outlet, from its stock counts ordered by day (the last one is today's):

- **Sell-through of an interval** (动销) between two consecutive counts:
  ``sold = previous stock + received since + ... − current stock`` (pieces). Several counts on
  the same day are merged first (their receipts add up, the last stock stands), so a second
  visit on one day neither loses receipts nor makes a zero-day interval. A negative sell-through
  (more on the shelf than could be there: an unrecorded delivery or a miscount) counts as 0.
- **Daily rate** over the last ``RATE_INTERVALS`` (3) intervals, weighted by their length in
  days: ``rate = Σ sold / Σ days``, so a 14-day interval weighs twice a 7-day one. With no
  earlier count the rate is unknown and taken as 0 (no suggestion without history).
- **Safety stock** ``S = ⌈rate × safety days⌉`` pieces (``FIELD_SAFETY_DAYS``).
- **Suggestion** ``need = max(0, rate × (days to next visit + lead days) + S − current stock)``
  pieces, rounded up to whole pieces, then up to whole order units (a case by default):
  ``quantity = ⌈need / pieces per unit⌉``.

The rate is kept exact (a fraction) through the arithmetic; it is shown rounded to 3 decimals.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

RATE_INTERVALS = 3


@dataclass(frozen=True)
class Observation:
    """One stock count: the day, the stock counted and the pieces received since the last visit."""

    day: dt.date
    stock: int
    received: int = 0


@dataclass(frozen=True)
class Interval:
    start: dt.date
    end: dt.date
    days: int
    opening: int
    received: int
    closing: int
    sold: int
    """Sell-through of the interval, never below 0."""
    raw_sold: int
    """``opening + received − closing`` before clamping (negative = miscount or unrecorded delivery)."""


@dataclass(frozen=True)
class Suggestion:
    stock: int
    rate: Fraction
    days_to_next_visit: int
    lead_days: int
    safety_days: int
    safety_stock: int
    need_pieces: int
    unit_pieces: int
    quantity: int
    intervals: tuple[Interval, ...] = field(default=())

    @property
    def rate_decimal(self) -> Decimal:
        return fraction_decimal(self.rate, places=3)

    def inputs(self) -> dict[str, object]:
        """JSON-safe inputs, stored with the suggestion and shown beside it."""
        return {
            "stock": self.stock,
            "rate": str(self.rate_decimal),
            "days_to_next_visit": self.days_to_next_visit,
            "lead_days": self.lead_days,
            "safety_days": self.safety_days,
            "safety_stock": self.safety_stock,
            "need_pieces": self.need_pieces,
            "unit_pieces": self.unit_pieces,
            "quantity": self.quantity,
            "intervals": [
                {
                    "start": iv.start.isoformat(),
                    "end": iv.end.isoformat(),
                    "days": iv.days,
                    "opening": iv.opening,
                    "received": iv.received,
                    "closing": iv.closing,
                    "sold": iv.sold,
                }
                for iv in self.intervals
            ],
        }


def fraction_decimal(value: Fraction, *, places: int = 3) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def merge_same_day(observations: Iterable[Observation]) -> list[Observation]:
    """Order by day; counts on one day become one: receipts summed, the last stock kept."""
    merged: list[Observation] = []
    for obs in sorted(observations, key=lambda o: o.day):  # stable: same-day order kept
        if merged and merged[-1].day == obs.day:
            merged[-1] = Observation(day=obs.day, stock=obs.stock, received=merged[-1].received + obs.received)
        else:
            merged.append(obs)
    return merged


def intervals(observations: Iterable[Observation]) -> list[Interval]:
    """The intervals between consecutive counts (after merging same-day counts)."""
    merged = merge_same_day(observations)
    result = []
    for previous, current in itertools.pairwise(merged):
        raw = previous.stock + current.received - current.stock
        result.append(
            Interval(
                start=previous.day,
                end=current.day,
                days=(current.day - previous.day).days,
                opening=previous.stock,
                received=current.received,
                closing=current.stock,
                sold=max(0, raw),
                raw_sold=raw,
            )
        )
    return result


def daily_rate(observations: Iterable[Observation], *, last: int = RATE_INTERVALS) -> tuple[Fraction, list[Interval]]:
    """Pieces sold per day over the last ``last`` intervals, weighted by days; with the
    intervals used. 0 without an earlier count."""
    used = intervals(observations)[-last:] if last > 0 else []
    days = sum(iv.days for iv in used)
    if days <= 0:
        return Fraction(0), used
    return Fraction(sum(iv.sold for iv in used), days), used


def suggest(
    observations: Iterable[Observation],
    *,
    days_to_next_visit: int,
    lead_days: int,
    safety_days: int,
    unit_pieces: int = 1,
    last: int = RATE_INTERVALS,
) -> Suggestion:
    """The suggested order for one SKU. The current stock is the last observation's."""
    merged = merge_same_day(observations)
    if not merged:
        raise ValueError("at least one stock count is needed")
    if unit_pieces < 1 or days_to_next_visit < 0 or lead_days < 0 or safety_days < 0:
        raise ValueError("days must not be negative and a unit holds at least one piece")
    stock = merged[-1].stock
    rate, used = daily_rate(merged, last=last)
    safety_stock = math.ceil(rate * safety_days)
    need = rate * (days_to_next_visit + lead_days) + safety_stock - stock
    need_pieces = max(0, math.ceil(need))
    quantity = -(-need_pieces // unit_pieces)
    return Suggestion(
        stock=stock,
        rate=rate,
        days_to_next_visit=days_to_next_visit,
        lead_days=lead_days,
        safety_days=safety_days,
        safety_stock=safety_stock,
        need_pieces=need_pieces,
        unit_pieces=unit_pieces,
        quantity=quantity,
        intervals=tuple(used),
    )
