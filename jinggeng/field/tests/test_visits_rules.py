"""The flag rules (`jinggeng.field.rules`): exact figures, thresholds at their edges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from jinggeng.field import rules
from jinggeng.field.rules import FlagHit, PreviousVisit

SH = ZoneInfo("Asia/Shanghai")
# People's Square, Shanghai; 0.002° north of it is 222.4 m away.
LAT, LNG = 31.2304, 121.4737


def at(hour: int, minute: int = 0, second: int = 0, day: int = 23) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=SH)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.FIELD_CHECKIN_MAX_DISTANCE_M = 200
    settings.FIELD_WORK_START = "08:00"
    settings.FIELD_WORK_END = "19:00"
    settings.FIELD_MAX_SPEED_KMH = 80
    settings.FIELD_MAX_ACCURACY_M = 100


# --------------------------------------------------------------------------- distance


def test_one_degree_of_latitude_is_the_earth_radius_times_pi_over_180():
    assert rules.distance_m(0, 0, 1, 0) == pytest.approx(111_195.080, abs=0.001)
    assert rules.distance_m(0, 0, 0, 1) == pytest.approx(111_195.080, abs=0.001)


def test_distance_beijing_to_shanghai_and_symmetry_and_decimals():
    beijing_shanghai = rules.distance_m(39.9042, 116.4074, LAT, LNG)
    assert round(beijing_shanghai) == 1_067_312
    assert rules.distance_m(LAT, LNG, 39.9042, 116.4074) == pytest.approx(beijing_shanghai)
    as_decimals = rules.distance_m(Decimal("39.904200"), Decimal("116.407400"), Decimal("31.230400"), Decimal(LNG))
    assert as_decimals == pytest.approx(beijing_shanghai)
    assert rules.distance_m(LAT, LNG, LAT, LNG) == 0.0
    assert round(rules.distance_m(LAT, LNG, LAT + 0.002, LNG), 1) == 222.4


def test_antipodes_are_half_the_circumference():
    assert rules.distance_m(0, 0, 0, 180) == pytest.approx(rules.EARTH_RADIUS_M * 3.141592653589793)


# --------------------------------------------------------------------------- positions


def test_position_problems():
    assert rules.position_problems(LAT, LNG, 12) == {}
    assert rules.position_problems(LAT, LNG, None) == {}
    assert rules.position_problems(None, None, 5) == {"latitude": "missing", "longitude": "missing"}
    assert rules.position_problems(90.5, 181, 5) == {"latitude": "out_of_range", "longitude": "out_of_range"}
    assert rules.position_problems(-90, -180, 0) == {}
    assert rules.position_problems(0, 0, 5) == {"latitude": "null_island", "longitude": "null_island"}
    assert rules.position_problems(LAT, LNG, -1) == {"accuracy_m": "absurd"}
    assert rules.position_problems(LAT, LNG, 10_000) == {}
    assert rules.position_problems(LAT, LNG, 10_000.5) == {"accuracy_m": "absurd"}
    assert rules.position_problems(float("nan"), LNG, float("inf")) == {
        "latitude": "out_of_range",
        "accuracy_m": "absurd",
    }


def test_has_position():
    assert rules.has_position(LAT, LNG)
    assert not rules.has_position(None, LNG)
    assert not rules.has_position(Decimal("0"), Decimal("0.000000"))
    assert rules.has_position(0, 1)


def test_event_time_believes_a_plausible_device_clock_only():
    server = at(12)
    assert rules.event_time(server, None) == server
    assert rules.event_time(server, at(11)) == at(11)  # queued offline an hour ago
    assert rules.event_time(server, at(12, 5)) == at(12, 5)  # 5 minutes fast: within the skew
    assert rules.event_time(server, at(12, 5, 1)) == server  # in the future
    assert rules.event_time(server, at(11, 59, 59, day=22)) == server  # more than a day old


# --------------------------------------------------------------------------- rules


def test_no_position():
    assert rules.rule_no_position(LAT, LNG) is None
    assert rules.rule_no_position(None, None) == FlagHit("no_position", {})
    assert rules.rule_no_position(0, 0) == FlagHit("no_position", {})


def test_far_check_in_at_the_threshold():
    near = rules.rule_far_check_in(lat=LAT + 0.0017, lng=LNG, outlet_lat=LAT, outlet_lng=LNG)
    assert near is None  # 189.0 m
    far = rules.rule_far_check_in(lat=LAT + 0.002, lng=LNG, outlet_lat=LAT, outlet_lng=LNG)
    assert far == FlagHit("far_check_in", {"distance_m": 222.4, "max_distance_m": 200.0})
    assert rules.rule_far_check_in(lat=LAT + 0.002, lng=LNG, outlet_lat=LAT, outlet_lng=LNG, max_m=250) is None
    assert rules.rule_far_check_in(lat=LAT, lng=LNG, outlet_lat=None, outlet_lng=None) is None


def test_far_check_in_reads_the_setting(settings):
    settings.FIELD_CHECKIN_MAX_DISTANCE_M = 500
    assert rules.rule_far_check_in(lat=LAT + 0.002, lng=LNG, outlet_lat=LAT, outlet_lng=LNG) is None


def test_poor_accuracy():
    assert rules.rule_poor_accuracy(None) is None
    assert rules.rule_poor_accuracy(100) is None
    assert rules.rule_poor_accuracy(100.04) == FlagHit("poor_accuracy", {"accuracy_m": 100.0, "max_accuracy_m": 100.0})
    assert rules.rule_poor_accuracy(350, max_m=400) is None


def test_short_visit():
    assert rules.rule_short_visit(check_in_at=at(10), check_out_at=at(10, 5), min_minutes=5) is None
    hit = rules.rule_short_visit(check_in_at=at(10), check_out_at=at(10, 4, 30), min_minutes=5)
    assert hit == FlagHit("short_visit", {"minutes": 4.5, "min_minutes": 5.0})
    assert rules.rule_short_visit(check_in_at=at(10), check_out_at=at(10, 0, 1), min_minutes=0) is None


def test_outside_hours_in_the_local_time_zone():
    assert rules.rule_outside_hours(check_in_at=at(8)) is None
    assert rules.rule_outside_hours(check_in_at=at(19)) is None
    assert rules.rule_outside_hours(check_in_at=at(7, 59)) == FlagHit(
        "outside_hours", {"check_in_local": "07:59", "work_start": "08:00", "work_end": "19:00"}
    )
    # 11:30 UTC is 19:30 in Shanghai
    utc = dt.datetime(2026, 11, 23, 11, 30, tzinfo=dt.UTC)
    assert rules.rule_outside_hours(check_in_at=utc) == FlagHit(
        "outside_hours", {"check_in_local": "19:30", "work_start": "08:00", "work_end": "19:00"}
    )
    # the same instant is 06:30 in New York: outside too, read in the given zone
    assert rules.rule_outside_hours(check_in_at=utc, tz="America/New_York").detail["check_in_local"] == "06:30"
    assert rules.rule_outside_hours(check_in_at=utc, start="09:00", end="20:00") is None


def test_outside_hours_by_check_out():
    assert rules.rule_outside_hours(check_in_at=at(18, 50), check_out_at=at(19)) is None
    assert rules.rule_outside_hours(check_in_at=at(18, 50), check_out_at=at(19, 10)) == FlagHit(
        "outside_hours", {"check_out_local": "19:10", "work_start": "08:00", "work_end": "19:00"}
    )
    # checked out the next morning at 09:00: a different day is outside the working hours
    hit = rules.rule_outside_hours(check_in_at=at(18, 50), check_out_at=at(9, day=24))
    assert hit is not None and hit.detail["check_out_local"] == "09:00"


def test_impossible_travel_exact_figures():
    # 0.1° of latitude = 11 119.5 m in 5 minutes = 133.4 km/h
    hit = rules.rule_impossible_travel(
        previous_lat=LAT,
        previous_lng=LNG,
        previous_at=at(10),
        lat=LAT + 0.1,
        lng=LNG,
        at=at(10, 5),
        previous_visit_id=7,
    )
    assert hit == FlagHit(
        "impossible_travel",
        {"distance_m": 11119.5, "minutes": 5.0, "speed_kmh": 133.4, "max_speed_kmh": 80.0, "previous_visit_id": 7},
    )
    # the same trip in 10 minutes is 66.7 km/h: possible
    assert (
        rules.rule_impossible_travel(
            previous_lat=LAT, previous_lng=LNG, previous_at=at(10), lat=LAT + 0.1, lng=LNG, at=at(10, 10)
        )
        is None
    )


def test_impossible_travel_ignores_gps_jitter_and_reports_instant_jumps():
    # 189 m in 1 second is 680 km/h, but within the check-in slack: not flagged
    assert (
        rules.rule_impossible_travel(
            previous_lat=LAT, previous_lng=LNG, previous_at=at(10), lat=LAT + 0.0017, lng=LNG, at=at(10, 0, 1)
        )
        is None
    )
    hit = rules.rule_impossible_travel(
        previous_lat=LAT, previous_lng=LNG, previous_at=at(10), lat=LAT + 0.002, lng=LNG, at=at(9, 59)
    )
    assert hit == FlagHit(
        "impossible_travel", {"distance_m": 222.4, "minutes": 0.0, "speed_kmh": None, "max_speed_kmh": 80.0}
    )


def test_check_in_flags_collects_every_rule():
    previous = PreviousVisit(visit_id=3, latitude=LAT - 0.1, longitude=LNG, left_at=at(7, 55))
    hits = rules.check_in_flags(
        lat=LAT + 0.002, lng=LNG, accuracy_m=150, at=at(7, 58), outlet_lat=LAT, outlet_lng=LNG, previous=previous
    )
    assert [h.code for h in hits] == ["far_check_in", "poor_accuracy", "outside_hours", "impossible_travel"]
    assert hits[3].detail["previous_visit_id"] == 3
    assert hits[3].detail["minutes"] == 3.0
    assert rules.check_in_flags(lat=LAT, lng=LNG, accuracy_m=10, at=at(10), outlet_lat=LAT, outlet_lng=LNG) == []
    no_pos = rules.check_in_flags(lat=LAT, lng=LNG, accuracy_m=10, at=at(10), outlet_lat=None, outlet_lng=None)
    assert no_pos == [FlagHit("no_position", {})]


def test_check_out_flags():
    hits = rules.check_out_flags(check_in_at=at(18, 58), check_out_at=at(19, 1), accuracy_m=120, min_minutes=5)
    assert [h.code for h in hits] == ["short_visit", "outside_hours", "poor_accuracy"]
    assert hits[0].detail == {"minutes": 3.0, "min_minutes": 5.0}
    assert hits[2].detail == {"check_out_accuracy_m": 120.0, "max_accuracy_m": 100.0}
    assert rules.check_out_flags(check_in_at=at(10), check_out_at=at(10, 20), accuracy_m=None, min_minutes=5) == []
