"""The nearest-neighbour week: how a week is often designed by hand, and the yardstick the
optimiser is measured against.

1. Stops are swept by their bearing from the start point. A stop visited k times a week takes
   an evenly spaced pattern (2×/week: Mon+Thu or Tue+Fri), the offset following the sweep.
2. The once-a-week stops fill the days sector by sector, so every day has the same number of
   visits.
3. Each day is ordered nearest-neighbour from the start point, preferring stops whose time window
   can still be met.

Working hours and windows are not enforced beyond that preference: the plan reports lateness and
overtime through ``feasible`` rather than hiding them.
"""

from __future__ import annotations

import math

from jinggeng.routing.distances import DistanceSource
from jinggeng.routing.problem import WeekPlan, WeekProblem, week_problem_validate
from jinggeng.routing.schedule import START, WeekMatrix, day_route, day_violations, stops_precheck, week_matrix


def nearest_neighbour_week(problem: WeekProblem, *, distances: DistanceSource | None = None) -> WeekPlan:
    week_problem_validate(problem)
    matrix = week_matrix(problem, distances)
    placeable, unplaced = stops_precheck(problem, matrix)
    origin = problem.depot_start

    def bearing(index: int) -> float:
        loc = problem.stops[index].location
        dx = (loc.lng - origin.lng) * math.cos(math.radians(origin.lat))
        return math.atan2(loc.lat - origin.lat, dx) % (2 * math.pi)

    swept = sorted(placeable, key=lambda p: bearing(p.index))
    days: dict[int, list[int]] = {d: [] for d in problem.working_days}
    multi = [p for p in swept if len(p.day_sets) > 1]
    single = [p for p in swept if len(p.day_sets) == 1]
    for rank, p in enumerate(multi):
        for day_set in p.day_sets:
            offset = rank * len(day_set) // len(multi)
            days[day_set[offset]].append(p.index)
    total = sum(len(v) for v in days.values()) + len(single)
    ordered_days = list(problem.working_days)
    share, extra = divmod(total, len(ordered_days))
    target = {d: share + (1 if k < extra else 0) for k, d in enumerate(ordered_days)}
    cursor = 0
    for p in single:
        allowed = p.day_sets[0]
        while cursor < len(ordered_days) - 1 and len(days[ordered_days[cursor]]) >= target[ordered_days[cursor]]:
            cursor += 1
        day = ordered_days[cursor]
        if day not in allowed:
            day = min(allowed, key=lambda d: len(days[d]))
        days[day].append(p.index)

    routes = tuple(
        day_route(problem, matrix, d, _nearest_neighbour_order(problem, matrix, days[d])) for d in problem.working_days
    )
    feasible = not any(day_violations(problem, r) for r in routes)
    return WeekPlan(days=routes, unplaced=tuple(unplaced), solver="nearest_neighbour", feasible=feasible)


def _nearest_neighbour_order(problem: WeekProblem, matrix: WeekMatrix, indices: list[int]) -> list[int]:
    left = list(indices)
    order: list[int] = []
    here = START
    now = float(problem.day_start_minute)
    while left:

        def reachable(i: int, here: int = here, now: float = now) -> bool:
            tw = problem.stops[i].time_window
            return tw is None or now + matrix.minutes[here, matrix.row(i)] <= tw[1]

        pool = [i for i in left if reachable(i)] or left
        nxt = min(pool, key=lambda i: matrix.km[here, matrix.row(i)])
        now += matrix.minutes[here, matrix.row(nxt)]
        tw = problem.stops[nxt].time_window
        if tw is not None:
            now = max(now, float(tw[0]))
        now += problem.stops[nxt].service_minutes
        order.append(nxt)
        left.remove(nxt)
        here = matrix.row(nxt)
    return order
