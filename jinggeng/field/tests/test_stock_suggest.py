"""The suggested-order arithmetic, with exact figures (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from jinggeng.field.suggest import Observation, daily_rate, intervals, merge_same_day, suggest

D = dt.date


def history() -> list[Observation]:
    return [
        Observation(D(2026, 10, 26), stock=100),
        Observation(D(2026, 11, 2), stock=40),  # sold 60 in 7 days: outside the last 3 intervals
        Observation(D(2026, 11, 9), stock=22, received=24),  # 40 + 24 − 22 = 42 in 7 days
        Observation(D(2026, 11, 16), stock=8),  # 22 − 8 = 14 in 7 days
        Observation(D(2026, 11, 30), stock=20, received=48),  # 8 + 48 − 20 = 36 in 14 days
    ]


def test_intervals_compute_sell_through_from_last_stock_plus_received_minus_stock():
    ivs = intervals(history())
    assert [(iv.days, iv.opening, iv.received, iv.closing, iv.sold) for iv in ivs] == [
        (7, 100, 0, 40, 60),
        (7, 40, 24, 22, 42),
        (7, 22, 0, 8, 14),
        (14, 8, 48, 20, 36),
    ]


def test_rate_uses_the_last_three_intervals_weighted_by_days():
    rate, used = daily_rate(history())
    assert len(used) == 3
    assert rate == Fraction(42 + 14 + 36, 7 + 7 + 14) == Fraction(23, 7)


def test_suggestion_exact_figures():
    s = suggest(history(), days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=24)
    assert s.stock == 20
    assert s.rate == Fraction(23, 7)
    assert s.rate_decimal == Decimal("3.286")
    assert s.safety_stock == 10  # ⌈23/7 × 3⌉ = ⌈9.857⌉
    assert s.need_pieces == 20  # ⌈23/7 × 9 + 10 − 20⌉ = ⌈19.571⌉
    assert s.quantity == 1  # one case of 24
    assert s.inputs()["rate"] == "3.286"
    assert [iv["sold"] for iv in s.inputs()["intervals"]] == [42, 14, 36]


def test_suggestion_rounds_up_to_the_order_unit_and_exact_multiples_stay():
    obs = [Observation(D(2026, 11, 1), stock=30), Observation(D(2026, 11, 11), stock=10)]  # 2 a day
    # 2 × (7 + 2) + ⌈2 × 3⌉ − 10 = 18 + 6 − 10 = 14 pieces
    s = suggest(obs, days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=6)
    assert (s.rate, s.safety_stock, s.need_pieces, s.quantity) == (Fraction(2), 6, 14, 3)
    s = suggest(obs, days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=7)
    assert s.quantity == 2
    s = suggest(obs, days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=1)
    assert s.quantity == 14


def test_enough_stock_suggests_nothing():
    obs = [Observation(D(2026, 11, 1), stock=30), Observation(D(2026, 11, 11), stock=100, received=90)]
    # sold 30 + 90 − 100 = 20 in 10 days: 2 a day; need 2 × 9 + 6 − 100 < 0
    s = suggest(obs, days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=24)
    assert (s.rate, s.need_pieces, s.quantity) == (Fraction(2), 0, 0)


def test_without_history_the_rate_is_zero_and_nothing_is_suggested():
    s = suggest([Observation(D(2026, 11, 11), stock=0)], days_to_next_visit=7, lead_days=2, safety_days=3)
    assert (s.rate, s.safety_stock, s.need_pieces, s.quantity, s.intervals) == (Fraction(0), 0, 0, 0, ())


def test_negative_sell_through_counts_as_zero():
    obs = [
        Observation(D(2026, 11, 1), stock=10),
        Observation(D(2026, 11, 8), stock=30),  # 20 more than possible: unrecorded delivery
        Observation(D(2026, 11, 15), stock=16),  # 14 sold in 7 days
    ]
    ivs = intervals(obs)
    assert [(iv.raw_sold, iv.sold) for iv in ivs] == [(-20, 0), (14, 14)]
    rate, _used = daily_rate(obs)
    assert rate == Fraction(14, 14) == 1


def test_counts_on_the_same_day_merge_their_receipts():
    obs = [
        Observation(D(2026, 11, 1), stock=20),
        Observation(D(2026, 11, 8), stock=12, received=6),
        Observation(D(2026, 11, 8), stock=30, received=18),  # a second visit that day, after a delivery
    ]
    merged = merge_same_day(obs)
    assert merged == [Observation(D(2026, 11, 1), 20, 0), Observation(D(2026, 11, 8), 30, 24)]
    rate, _used = daily_rate(obs)
    assert rate == Fraction(20 + 24 - 30, 7) == 2


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        suggest([], days_to_next_visit=7, lead_days=2, safety_days=3)
    with pytest.raises(ValueError):
        suggest([Observation(D(2026, 11, 1), 1)], days_to_next_visit=7, lead_days=2, safety_days=3, unit_pieces=0)
