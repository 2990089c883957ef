"""Shared between the optimiser and the baseline: the matrix of a week problem, which days each
visit may take, which stops cannot be placed at all and why, and the timing of a day's route.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from jinggeng.routing.distances import DistanceSource, distance_source_from_settings
from jinggeng.routing.problem import DayRoute, Unplaced, WeekProblem

START, END = 0, 1  # matrix rows of the day's start and end points; stop i is row 2 + i
LATE_TOLERANCE_MINUTES = 0.05  # integer rounding inside the solver, not lateness


@dataclass(frozen=True)
class WeekMatrix:
    km: np.ndarray
    minutes: np.ndarray

    @staticmethod
    def row(stop_index: int) -> int:
        return 2 + stop_index


def week_matrix(problem: WeekProblem, distances: DistanceSource | None = None) -> WeekMatrix:
    source = distances or distance_source_from_settings(road_factor=problem.road_factor, speed_kmh=problem.speed_kmh)
    locations = [problem.depot_start, problem.depot_end, *(s.location for s in problem.stops)]
    m = source.matrix(locations)
    return WeekMatrix(km=np.asarray(m.km, dtype=float), minutes=np.asarray(m.minutes, dtype=float))


def visit_day_sets(days: Sequence[int], visits: int) -> list[list[int]] | None:
    """The days each of ``visits`` visits may take so that they fall on distinct, spread days.

    Evenly spaced patterns shifted by an offset: 2×/week over Mon–Fri gives visit 1 on Mon or
    Tue and visit 2 on Thu or Fri (Mon+Thu, Tue+Fri, Mon+Fri, Tue+Thu); 3×/week gives Mon, Wed,
    Fri. When that spacing does not fit, the days are cut into ``visits`` consecutive blocks.
    None when there are fewer days than visits.
    """
    days = sorted(days)
    n = len(days)
    if visits < 1 or n < visits:
        return None
    if visits == 1:
        return [list(days)]
    gap = math.ceil(n / visits)
    if (visits - 1) * gap <= n - 1:
        offsets = range(n - (visits - 1) * gap)
        return [[days[o + j * gap] for o in offsets] for j in range(visits)]
    return [days[j * n // visits : (j + 1) * n // visits] for j in range(visits)]


@dataclass(frozen=True)
class Placeable:
    """A stop that fits in a day, with the days each of its visits may take."""

    index: int
    day_sets: list[list[int]]


def stops_precheck(problem: WeekProblem, matrix: WeekMatrix) -> tuple[list[Placeable], list[Unplaced]]:
    """Split the stops into those that can be visited and those that cannot, with the reason."""
    placeable: list[Placeable] = []
    unplaced: list[Unplaced] = []
    day_start, day_end = problem.day_start_minute, problem.day_end_minute
    for i, stop in enumerate(problem.stops):
        r = matrix.row(i)
        there = matrix.minutes[START, r]
        back = matrix.minutes[r, END]
        if not (math.isfinite(there) and math.isfinite(back)):
            unplaced.append(
                Unplaced(
                    stop.id,
                    "unreachable",
                    _("从起点或到终点没有可行的道路，网点 %(id)s 无法到达。") % {"id": stop.id},
                    visits=stop.visits_per_week,
                )
            )
            continue
        days = [d for d in problem.working_days if stop.allowed_weekdays is None or d in stop.allowed_weekdays]
        sets = visit_day_sets(days, stop.visits_per_week)
        if sets is None:
            unplaced.append(
                Unplaced(
                    stop.id,
                    "not_enough_days",
                    _("网点 %(id)s 每周需拜访 %(k)s 次，但只有 %(n)s 个可拜访的工作日。")
                    % {"id": stop.id, "k": stop.visits_per_week, "n": len(days)},
                    visits=stop.visits_per_week,
                )
            )
            continue
        earliest = day_start + there
        latest = day_end - stop.service_minutes - back
        if earliest > latest + LATE_TOLERANCE_MINUTES:
            unplaced.append(
                Unplaced(
                    stop.id,
                    "day_too_short",
                    _(
                        "工作日太短：往返网点 %(id)s 需要 %(travel).0f 分钟，加上拜访 %(service).0f 分钟，超过了每天 %(day)s 分钟的工作时间。"
                    )
                    % {
                        "id": stop.id,
                        "travel": there + back,
                        "service": stop.service_minutes,
                        "day": problem.day_minutes,
                    },
                    visits=stop.visits_per_week,
                )
            )
            continue
        if stop.time_window is not None:
            lo, hi = stop.time_window
            if max(earliest, lo) > min(latest, hi) + LATE_TOLERANCE_MINUTES:
                unplaced.append(
                    Unplaced(
                        stop.id,
                        "window_unreachable",
                        _(
                            "网点 %(id)s 的时间窗 %(lo)s–%(hi)s 无法赶上：在工作时间内最早 %(earliest)s 到达，最晚须在 %(latest)s 开始拜访才能按时收工。"
                        )
                        % {
                            "id": stop.id,
                            "lo": clock(lo),
                            "hi": clock(hi),
                            "earliest": clock(earliest),
                            "latest": clock(latest),
                        },
                        visits=stop.visits_per_week,
                    )
                )
                continue
        placeable.append(Placeable(index=i, day_sets=sets))
    return placeable, unplaced


def clock(minutes: float) -> str:
    whole = max(0, round(minutes))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def day_route(problem: WeekProblem, matrix: WeekMatrix, weekday: int, order: Sequence[int]) -> DayRoute:
    """Time a day: leave the start point at the start of the day (later if the first window
    opens later), wait for windows that are not open yet, and return to the end point."""
    stops = problem.stops
    km = travel = service = wait = 0.0
    arrivals: list[float] = []
    prev = START
    now = float(problem.day_start_minute)
    if order:
        first = stops[order[0]]
        leg = matrix.minutes[START, matrix.row(order[0])]
        if first.time_window is not None:
            now = max(now, first.time_window[0] - leg)
    start = now
    for i in order:
        r = matrix.row(i)
        km += matrix.km[prev, r]
        travel += matrix.minutes[prev, r]
        now += matrix.minutes[prev, r]
        stop = stops[i]
        if stop.time_window is not None and now < stop.time_window[0]:
            wait += stop.time_window[0] - now
            now = float(stop.time_window[0])
        arrivals.append(now)
        now += stop.service_minutes
        service += stop.service_minutes
        prev = r
    if order:
        km += matrix.km[prev, END]
        travel += matrix.minutes[prev, END]
        now += matrix.minutes[prev, END]
    else:
        now = start
    return DayRoute(
        weekday=weekday,
        stop_ids=tuple(stops[i].id for i in order),
        arrival_minutes=tuple(round(a, 2) for a in arrivals),
        travel_km=float(km),
        travel_minutes=float(travel),
        service_minutes=float(service),
        wait_minutes=float(wait),
        start_minute=start,
        end_minute=now,
    )


def day_violations(problem: WeekProblem, day: DayRoute) -> list[str]:
    """Stop ids visited after their window closed, and "overtime" when the day ends late."""
    by_id = {s.id: s for s in problem.stops}
    late = [
        sid
        for sid, at in zip(day.stop_ids, day.arrival_minutes, strict=True)
        if (tw := by_id[sid].time_window) is not None and at > tw[1] + LATE_TOLERANCE_MINUTES
    ]
    if day.end_minute > problem.day_end_minute + LATE_TOLERANCE_MINUTES:
        late.append("overtime")
    return late
