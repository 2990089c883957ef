"""Small generated week problems for the routing tests (no database involved)."""

from __future__ import annotations

import math
import random

from jinggeng.routing.problem import Location, Stop, WeekProblem

CENTRE = Location(31.23, 121.47)


def offset(origin: Location, x_km: float, y_km: float) -> Location:
    return Location(origin.lat + y_km / 111.0, origin.lng + x_km / (111.0 * math.cos(math.radians(origin.lat))))


def week_problem(
    n: int = 30,
    *,
    seed: int = 7,
    twice: int = 5,
    windows: int = 0,
    radius_km: float = 8.0,
    service: tuple[float, ...] = (10, 15, 20),
    **overrides: object,
) -> WeekProblem:
    """``n`` outlets within ``radius_km`` of Shanghai's centre; the first ``twice`` are visited
    twice a week; the next ``windows`` have a half-day window (alternately morning, afternoon)."""
    rnd = random.Random(seed)
    stops = []
    for i in range(n):
        r = radius_km * math.sqrt(rnd.random())
        a = rnd.random() * 2 * math.pi
        window = None
        if twice <= i < twice + windows:
            window = (8 * 60 + 30, 12 * 60) if i % 2 == 0 else (13 * 60 + 30, 17 * 60)
        stops.append(
            Stop(
                id=f"S{i:02d}",
                location=offset(CENTRE, r * math.cos(a), r * math.sin(a)),
                service_minutes=rnd.choice(service),
                visits_per_week=2 if i < twice else 1,
                time_window=window,
            )
        )
    params: dict[str, object] = {"stops": tuple(stops), "depot_start": CENTRE, "depot_end": CENTRE}
    params.update(overrides)
    return WeekProblem(**params)  # type: ignore[arg-type]
