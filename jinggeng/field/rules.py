"""Flag rules of a visit (拜访异常规则): pure functions of positions, times and thresholds.

No database access: the visit services call these at check-in, check-out and photo upload, and
the demo generator calls the same functions so that planted problems are flagged exactly as the
product would flag them. Every rule returns ``None`` (nothing to flag) or a `FlagHit` with the
flag code (`jinggeng.field.models.VisitFlagCode`) and the measured figures in ``detail``.

Thresholds default to the ``FIELD_*`` settings, read when the rule runs; pass them explicitly
to use other values:

========================== ============================== =====================================
rule                        flag                          setting
========================== ============================== =====================================
`rule_far_check_in`         ``far_check_in``              ``FIELD_CHECKIN_MAX_DISTANCE_M`` (m)
`rule_short_visit`          ``short_visit``               the visit standard's ``min_minutes``
`rule_outside_hours`        ``outside_hours``             ``FIELD_WORK_START``/``FIELD_WORK_END``
                                                          in ``TIME_ZONE``
`rule_impossible_travel`    ``impossible_travel``         ``FIELD_MAX_SPEED_KMH``
`rule_poor_accuracy`        ``poor_accuracy``             ``FIELD_MAX_ACCURACY_M`` (m)
`rule_no_position`          ``no_position``               —
========================== ============================== =====================================

Times are aware datetimes. For an offline device the server receives a queued check-in late, so
the rules that measure time (visit length, travel speed, working hours) use `event_time`: the
device's clock when it is plausible (not after the server time plus `DEVICE_CLOCK_SKEW`, not
older than `OFFLINE_MAX_AGE`), the server's otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from jinggeng.field.models import VisitFlagCode

Number = float | int | Decimal

#: Mean Earth radius (IUGG, metres), used by the haversine formula.
EARTH_RADIUS_M = 6_371_008.8
#: A device clock this far ahead of the server is not believed.
DEVICE_CLOCK_SKEW = dt.timedelta(minutes=5)
#: A queued submission older than this is timed by the server, not the device.
OFFLINE_MAX_AGE = dt.timedelta(hours=24)
#: Worst accuracy radius (metres) accepted at all; beyond it the position is refused as absurd.
ABSURD_ACCURACY_M = 10_000.0


@dataclass(frozen=True)
class FlagHit:
    """One raised flag: its code and the figures that raised it (JSON-safe values)."""

    code: str
    detail: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- geometry and time


def distance_m(lat1: Number, lng1: Number, lat2: Number, lng2: Number) -> float:
    """Great-circle distance in metres between two WGS-84 points (haversine formula)."""
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp = p2 - p1
    dl = math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def has_position(lat: Number | None, lng: Number | None) -> bool:
    """A stored position is usable: both coordinates set and not the (0, 0) "null island"."""
    if lat is None or lng is None:
        return False
    return not (float(lat) == 0.0 and float(lng) == 0.0)


def position_problems(lat: Number | None, lng: Number | None, accuracy_m: Number | None) -> dict[str, str]:
    """What is wrong with a device position, by field (``latitude``, ``longitude``,
    ``accuracy_m``), as problem codes: ``missing``, ``out_of_range``, ``null_island``,
    ``absurd``. Empty when the position may be used (an accuracy may be left out)."""
    problems: dict[str, str] = {}
    for name, value, limit in (("latitude", lat, 90.0), ("longitude", lng, 180.0)):
        if value is None:
            problems[name] = "missing"
        elif not math.isfinite(float(value)) or abs(float(value)) > limit:
            problems[name] = "out_of_range"
    if not problems and lat is not None and lng is not None and float(lat) == 0.0 and float(lng) == 0.0:
        problems["latitude"] = problems["longitude"] = "null_island"
    if accuracy_m is not None:
        acc = float(accuracy_m)
        if not math.isfinite(acc) or acc < 0 or acc > ABSURD_ACCURACY_M:
            problems["accuracy_m"] = "absurd"
    return problems


def event_time(server_at: dt.datetime, device_at: dt.datetime | None) -> dt.datetime:
    """When an event happened: the device's time if plausible, else the server's."""
    if device_at is None:
        return server_at
    if device_at > server_at + DEVICE_CLOCK_SKEW or device_at < server_at - OFFLINE_MAX_AGE:
        return server_at
    return device_at


def _parse_hhmm(value: str | dt.time) -> dt.time:
    if isinstance(value, dt.time):
        return value
    hours, minutes = value.strip().split(":")[:2]
    return dt.time(int(hours), int(minutes))


def _round(value: float, places: int = 1) -> float:
    return round(value, places)


# --------------------------------------------------------------------------- rules


def rule_no_position(outlet_lat: Number | None, outlet_lng: Number | None) -> FlagHit | None:
    """The outlet has no stored coordinates, so the check-in distance cannot be measured."""
    if has_position(outlet_lat, outlet_lng):
        return None
    return FlagHit(VisitFlagCode.NO_POSITION.value, {})


def rule_far_check_in(
    *,
    lat: Number,
    lng: Number,
    outlet_lat: Number | None,
    outlet_lng: Number | None,
    max_m: Number | None = None,
) -> FlagHit | None:
    """Checked in farther than ``max_m`` from the outlet's stored position (no flag when the
    outlet has no position: that is `rule_no_position`)."""
    if not has_position(outlet_lat, outlet_lng):
        return None
    assert outlet_lat is not None and outlet_lng is not None
    limit = float(settings.FIELD_CHECKIN_MAX_DISTANCE_M if max_m is None else max_m)
    distance = distance_m(lat, lng, outlet_lat, outlet_lng)
    if distance <= limit:
        return None
    return FlagHit(VisitFlagCode.FAR_CHECK_IN.value, {"distance_m": _round(distance), "max_distance_m": limit})


def rule_poor_accuracy(accuracy_m: Number | None, *, max_m: Number | None = None) -> FlagHit | None:
    """The device reported an accuracy radius worse (larger) than ``max_m`` metres."""
    if accuracy_m is None:
        return None
    limit = float(settings.FIELD_MAX_ACCURACY_M if max_m is None else max_m)
    if float(accuracy_m) <= limit:
        return None
    return FlagHit(
        VisitFlagCode.POOR_ACCURACY.value, {"accuracy_m": _round(float(accuracy_m)), "max_accuracy_m": limit}
    )


def rule_short_visit(
    *, check_in_at: dt.datetime, check_out_at: dt.datetime, min_minutes: Number | None
) -> FlagHit | None:
    """The visit (check-in to check-out) lasted less than the standard's ``min_minutes``."""
    if not min_minutes:
        return None
    seconds = (check_out_at - check_in_at).total_seconds()
    if seconds >= float(min_minutes) * 60:
        return None
    return FlagHit(
        VisitFlagCode.SHORT_VISIT.value,
        {"minutes": _round(max(seconds, 0.0) / 60), "min_minutes": float(min_minutes)},
    )


def rule_outside_hours(
    *,
    check_in_at: dt.datetime,
    check_out_at: dt.datetime | None = None,
    start: str | dt.time | None = None,
    end: str | dt.time | None = None,
    tz: str | dt.tzinfo | None = None,
) -> FlagHit | None:
    """The check-in (or the check-out, when given) lies outside the working hours, in the local
    time zone (``TIME_ZONE`` by default). A check-out on a later local day is outside too."""
    start_t = _parse_hhmm(settings.FIELD_WORK_START if start is None else start)
    end_t = _parse_hhmm(settings.FIELD_WORK_END if end is None else end)
    zone = ZoneInfo(settings.TIME_ZONE) if tz is None else (ZoneInfo(tz) if isinstance(tz, str) else tz)
    local_in = check_in_at.astimezone(zone)
    outside: dict[str, str] = {}
    if not (start_t <= local_in.time().replace(tzinfo=None) <= end_t):
        outside["check_in_local"] = local_in.strftime("%H:%M")
    if check_out_at is not None:
        local_out = check_out_at.astimezone(zone)
        if local_out.date() != local_in.date() or not (start_t <= local_out.time().replace(tzinfo=None) <= end_t):
            outside["check_out_local"] = local_out.strftime("%H:%M")
    if not outside:
        return None
    return FlagHit(
        VisitFlagCode.OUTSIDE_HOURS.value,
        {**outside, "work_start": start_t.strftime("%H:%M"), "work_end": end_t.strftime("%H:%M")},
    )


def rule_impossible_travel(
    *,
    previous_lat: Number,
    previous_lng: Number,
    previous_at: dt.datetime,
    lat: Number,
    lng: Number,
    at: dt.datetime,
    max_kmh: Number | None = None,
    tolerance_m: Number | None = None,
    previous_visit_id: int | None = None,
) -> FlagHit | None:
    """Travel from the previous visit of the same rep was faster than ``max_kmh``.

    Distance: between the two check-in positions. Time: from the previous visit's check-out
    (or its check-in when it has none) to this check-in. Distances up to ``tolerance_m``
    (default ``FIELD_CHECKIN_MAX_DISTANCE_M``, the slack already allowed at check-in) never
    flag, so GPS jitter between neighbouring outlets is not "impossible travel". With no time
    elapsed at all the speed is reported as ``None``."""
    limit = float(settings.FIELD_MAX_SPEED_KMH if max_kmh is None else max_kmh)
    slack = float(settings.FIELD_CHECKIN_MAX_DISTANCE_M if tolerance_m is None else tolerance_m)
    distance = distance_m(previous_lat, previous_lng, lat, lng)
    if distance <= slack:
        return None
    seconds = (at - previous_at).total_seconds()
    speed = distance / 1000 / (seconds / 3600) if seconds > 0 else None
    if speed is not None and speed <= limit:
        return None
    detail: dict[str, Any] = {
        "distance_m": _round(distance),
        "minutes": _round(max(seconds, 0.0) / 60),
        "speed_kmh": None if speed is None else _round(speed),
        "max_speed_kmh": limit,
    }
    if previous_visit_id is not None:
        detail["previous_visit_id"] = previous_visit_id
    return FlagHit(VisitFlagCode.IMPOSSIBLE_TRAVEL.value, detail)


# --------------------------------------------------------------------------- all rules at once


@dataclass(frozen=True)
class PreviousVisit:
    """The rep's previous checked-in visit, as the travel rule needs it."""

    visit_id: int | None
    latitude: Number
    longitude: Number
    left_at: dt.datetime  # its check-out time, or its check-in time when not checked out


def check_in_flags(
    *,
    lat: Number,
    lng: Number,
    accuracy_m: Number | None,
    at: dt.datetime,
    outlet_lat: Number | None,
    outlet_lng: Number | None,
    previous: PreviousVisit | None = None,
) -> list[FlagHit]:
    """Every flag a check-in raises: no outlet position, far from the outlet, poor accuracy,
    outside working hours, impossible travel from the previous visit. ``at`` is the event
    time (see `event_time`)."""
    hits = [
        rule_no_position(outlet_lat, outlet_lng),
        rule_far_check_in(lat=lat, lng=lng, outlet_lat=outlet_lat, outlet_lng=outlet_lng),
        rule_poor_accuracy(accuracy_m),
        rule_outside_hours(check_in_at=at),
    ]
    if previous is not None:
        hits.append(
            rule_impossible_travel(
                previous_lat=previous.latitude,
                previous_lng=previous.longitude,
                previous_at=previous.left_at,
                lat=lat,
                lng=lng,
                at=at,
                previous_visit_id=previous.visit_id,
            )
        )
    return [hit for hit in hits if hit is not None]


def check_out_flags(
    *,
    check_in_at: dt.datetime,
    check_out_at: dt.datetime,
    accuracy_m: Number | None,
    min_minutes: Number | None,
) -> list[FlagHit]:
    """Every flag a check-out raises: visit too short, outside working hours (either end),
    poor accuracy at check-out (``check_out_accuracy_m``). Times are event times (see
    `event_time`)."""
    accuracy = rule_poor_accuracy(accuracy_m)
    if accuracy is not None:  # named apart from the check-in's figure, which the same flag may hold
        accuracy = FlagHit(
            accuracy.code,
            {
                "check_out_accuracy_m": accuracy.detail["accuracy_m"],
                "max_accuracy_m": accuracy.detail["max_accuracy_m"],
            },
        )
    hits = [
        rule_short_visit(check_in_at=check_in_at, check_out_at=check_out_at, min_minutes=min_minutes),
        rule_outside_hours(check_in_at=check_in_at, check_out_at=check_out_at),
        accuracy,
    ]
    return [hit for hit in hits if hit is not None]
