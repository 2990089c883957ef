"""The route optimiser: week plans, single routes and classical benchmark instances, all solved
by PyVRP through :mod:`jinggeng.routing.engine`.

Week modelling
--------------
- One vehicle type per working day, available once, running from the start point to the end
  point within the day's working hours.
- A stop visited k times a week becomes k clients. Visit j may only take the days of its block
  from :func:`~jinggeng.routing.schedule.visit_day_sets` (2×/week: Mon/Tue then Thu/Fri), so the
  visits fall on distinct, spread days; the restriction is a PyVRP routing profile per day.
- Every client is optional with a prize far larger than any detour, so the solver visits all it
  can; what it cannot is reported in ``WeekPlan.unplaced``, never dropped silently.
- Balance: a first solve minimises travel within the working hours; then each day's maximum
  duration is capped at mean workload × (1 + t) and the solve continues from the best plan,
  tightening t until every day is within the tolerance. The plan with the least travel among the
  balanced ones wins; if none is balanced, the most balanced one, with its balance reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.routing.distances import DistanceSource
from jinggeng.routing.engine import (
    FORBIDDEN,
    UNBOUNDED,
    EngineClient,
    EngineProblem,
    EngineResult,
    EngineVehicleType,
    engine_solve,
)
from jinggeng.routing.problem import (
    Location,
    Stop,
    Unplaced,
    WeekPlan,
    WeekProblem,
    week_problem_validate,
)
from jinggeng.routing.schedule import (
    END,
    START,
    Placeable,
    WeekMatrix,
    day_route,
    day_violations,
    stops_precheck,
    week_matrix,
)

FIRST_SOLVE_SHARE = 0.4
BALANCE_ROUNDS = 4


@dataclass
class _Visit:
    stop_index: int
    visit: int


@dataclass
class _Attempt:
    result: EngineResult
    plan: WeekPlan
    placed: int


def _to_int_matrices(matrix: WeekMatrix) -> tuple[np.ndarray, np.ndarray]:
    meters = np.where(np.isfinite(matrix.km), np.rint(matrix.km * 1000.0), FORBIDDEN).astype(np.int64)
    seconds = np.where(np.isfinite(matrix.minutes), np.rint(matrix.minutes * 60.0), FORBIDDEN).astype(np.int64)
    return meters, seconds


def _engine_problem(
    problem: WeekProblem,
    matrix: WeekMatrix,
    placeable: Sequence[Placeable],
    caps_seconds: Sequence[int] | None,
) -> tuple[EngineProblem, list[_Visit]]:
    meters, seconds = _to_int_matrices(matrix)
    finite = meters[meters < FORBIDDEN]
    prize = int(max(10**7, 10 * (int(finite.max()) if finite.size else 0)))
    day_index = {d: v for v, d in enumerate(problem.working_days)}
    clients: list[EngineClient] = []
    visits: list[_Visit] = []
    for p in placeable:
        stop = problem.stops[p.index]
        tw_early, tw_late = 0, UNBOUNDED
        if stop.time_window is not None:
            tw_early, tw_late = stop.time_window[0] * 60, stop.time_window[1] * 60
        for j, days in enumerate(p.day_sets):
            allowed = None if len(days) == len(problem.working_days) else frozenset(day_index[d] for d in days)
            clients.append(
                EngineClient(
                    location=WeekMatrix.row(p.index),
                    service=round(stop.service_minutes * 60),
                    tw_early=tw_early,
                    tw_late=tw_late,
                    allowed_vehicle_types=allowed,
                    required=False,
                    prize=prize,
                )
            )
            visits.append(_Visit(stop_index=p.index, visit=j))
    day_seconds = problem.day_minutes * 60
    vehicle_types = tuple(
        EngineVehicleType(
            num_available=1,
            start_location=START,
            end_location=END,
            tw_early=problem.day_start_minute * 60,
            tw_late=problem.day_end_minute * 60,
            shift_duration=min(day_seconds, caps_seconds[v]) if caps_seconds else day_seconds,
            name=str(d),
        )
        for v, d in enumerate(problem.working_days)
    )
    return EngineProblem(
        distances=meters, durations=seconds, clients=tuple(clients), vehicle_types=vehicle_types
    ), visits


def _plan(
    problem: WeekProblem,
    matrix: WeekMatrix,
    result: EngineResult,
    visits: Sequence[_Visit],
    unplaced: Sequence[Unplaced],
) -> tuple[WeekPlan, int]:
    orders: dict[int, list[int]] = {v: [] for v in range(len(problem.working_days))}
    for route in result.routes:
        orders[route.vehicle_type].extend(visits[c].stop_index for c in route.clients)
    days = tuple(day_route(problem, matrix, d, orders[v]) for v, d in enumerate(problem.working_days))
    missing = list(unplaced) + [_no_room(problem, visits[c]) for c in result.unvisited]
    feasible = result.feasible and not any(day_violations(problem, day) for day in days)
    placed = len(visits) - len(result.unvisited)
    return WeekPlan(days=days, unplaced=tuple(missing), solver="pyvrp", feasible=feasible), placed


def _no_room(problem: WeekProblem, visit: _Visit) -> Unplaced:
    stop = problem.stops[visit.stop_index]
    return Unplaced(
        stop.id,
        "no_room_in_week",
        _("网点 %(id)s 的第 %(n)s 次拜访排不进本周的工作时间（工作量超过了可用时间）。")
        % {"id": stop.id, "n": visit.visit + 1},
    )


def _repair(
    problem: WeekProblem,
    matrix: WeekMatrix,
    attempt: _Attempt,
    visits: Sequence[_Visit],
    placeable: Sequence[Placeable],
    unplaced: Sequence[Unplaced],
) -> WeekPlan:
    """Try to fit the visits the solver left out at their cheapest place that breaks neither the
    working hours nor a time window (a tight week can leave the search one visit short)."""
    day_slot = {d: v for v, d in enumerate(problem.working_days)}
    orders: dict[int, list[int]] = {v: [] for v in range(len(problem.working_days))}
    for route in attempt.result.routes:
        orders[route.vehicle_type].extend(visits[c].stop_index for c in route.clients)
    day_sets = {p.index: p.day_sets for p in placeable}
    left: list[_Visit] = []
    for c in attempt.result.unvisited:
        visit = visits[c]
        best: tuple[float, int, list[int]] | None = None
        for d in day_sets[visit.stop_index][visit.visit]:
            v = day_slot[d]
            order = orders[v]
            if visit.stop_index in order:
                continue
            base = day_route(problem, matrix, d, order).travel_km
            for pos in range(len(order) + 1):
                candidate = [*order[:pos], visit.stop_index, *order[pos:]]
                timed = day_route(problem, matrix, d, candidate)
                if day_violations(problem, timed):
                    continue
                if best is None or timed.travel_km - base < best[0]:
                    best = (timed.travel_km - base, v, candidate)
        if best is None:
            left.append(visit)
        else:
            orders[best[1]] = best[2]
    days = tuple(day_route(problem, matrix, d, orders[v]) for v, d in enumerate(problem.working_days))
    feasible = not any(day_violations(problem, day) for day in days)
    missing = list(unplaced) + [_no_room(problem, v) for v in left]
    return WeekPlan(days=days, unplaced=tuple(missing), solver="pyvrp", feasible=feasible)


def solve_week(
    problem: WeekProblem,
    *,
    time_limit_seconds: float,
    seed: int = 1,
    distances: DistanceSource | None = None,
    max_iterations: int | None = None,
) -> WeekPlan:
    """Design the week: which stops on which day, in which order.

    Minimises travel with each day's workload (travel + service) within
    ``problem.balance_tolerance`` of the mean when that can be reached, respecting working hours
    and time windows. ``max_iterations`` (per solver round) makes a run reproducible regardless
    of machine speed; ``time_limit_seconds`` bounds the whole call.

    Raises ValidationFailed for malformed input, or when not a single stop can be placed (the
    reasons are in ``extra["unplaced"]``).
    """
    week_problem_validate(problem)
    if time_limit_seconds <= 0:
        raise ValidationFailed(_("时间限制必须大于 0 秒。"), field="time_limit_seconds")
    matrix = week_matrix(problem, distances)
    placeable, unplaced = stops_precheck(problem, matrix)
    if not placeable:
        _refuse_all(unplaced)

    # Budgets are fixed up front (not from the clock) so that a run bounded by max_iterations
    # takes the same path on any machine.
    n_days = len(problem.working_days)
    first_budget = time_limit_seconds * (FIRST_SOLVE_SHARE if n_days > 1 else 1.0)
    round_budget = (time_limit_seconds - first_budget) / BALANCE_ROUNDS
    engine_problem, visits = _engine_problem(problem, matrix, placeable, None)
    first = engine_solve(engine_problem, time_limit_seconds=first_budget, seed=seed, max_iterations=max_iterations)
    plan, placed = _plan(problem, matrix, first, visits, unplaced)
    attempts = [_Attempt(first, plan, placed)]
    tolerance = problem.balance_tolerance
    if n_days > 1:
        # Capping every day at mean × (1 + t) bounds the lightest day below by mean × (1 − (n−1)t).
        t = tolerance * 0.5
        reference = attempts[0]
        mean = _expected_mean(problem, matrix, placeable, plan)
        for round_no in range(BALANCE_ROUNDS):
            if mean <= 0:
                break
            caps = [math.floor(mean * 60 * (1 + t))] * n_days
            engine_problem, visits = _engine_problem(problem, matrix, placeable, caps)
            result = engine_solve(
                engine_problem,
                time_limit_seconds=round_budget,
                seed=seed + round_no + 1,
                max_iterations=max_iterations,
                initial_routes=reference.result.routes,
            )
            plan, placed = _plan(problem, matrix, result, visits, unplaced)
            attempt = _Attempt(result, plan, placed)
            attempts.append(attempt)
            if placed < attempts[0].placed:
                # The cap was too tight for all the work: raise the expected mean.
                mean *= 1 + tolerance / 2
                continue
            if (plan.feasible and plan.balance <= tolerance * 1.5) or plan.balance < reference.plan.balance:
                reference = attempt
            mean = plan.mean_workload_minutes
            if plan.balance > tolerance:
                t *= 0.5
    chosen = _choose(attempts, tolerance)
    if chosen.result.unvisited:
        return _repair(problem, matrix, chosen, visits, placeable, unplaced)
    return chosen.plan


def _expected_mean(problem: WeekProblem, matrix: WeekMatrix, placeable: Sequence[Placeable], plan: WeekPlan) -> float:
    """Mean daily workload once every day is used: the minimum-travel plan may leave days
    empty, and each day brought into use adds a trip out from the start and back to the end."""
    empty = sum(1 for day in plan.days if not day.stop_ids)
    rows = [WeekMatrix.row(p.index) for p in placeable]
    round_trip = float(np.mean(matrix.minutes[START, rows] + matrix.minutes[rows, END])) if rows else 0.0
    return plan.mean_workload_minutes + empty * round_trip / len(plan.days)


def _choose(attempts: Sequence[_Attempt], tolerance: float) -> _Attempt:
    most = max(a.placed for a in attempts)
    full = [a for a in attempts if a.placed == most]
    feasible = [a for a in full if a.plan.feasible] or full
    balanced = [a for a in feasible if a.plan.balance <= tolerance]
    if balanced:
        return min(balanced, key=lambda a: a.plan.total_km)
    return min(feasible, key=lambda a: (round(a.plan.balance, 3), a.plan.total_km))


def _refuse_all(unplaced: Sequence[Unplaced]) -> None:
    details = [{"stop_id": u.stop_id, "code": u.code, "reason": u.reason, "visits": u.visits} for u in unplaced]
    raise ValidationFailed(
        _("没有一个网点可以安排：%(reason)s") % {"reason": unplaced[0].reason if unplaced else ""},
        code="nothing_to_plan",
        errors={"stops": [u.reason for u in unplaced]},
        extra={"unplaced": details},
    )


def solve_single_route(
    stops: Sequence[Stop],
    *,
    start: Location,
    end: Location | None = None,
    weekday: int = 0,
    day_start_minute: int = 8 * 60 + 30,
    day_end_minute: int = 17 * 60 + 30,
    speed_kmh: float = 25.0,
    road_factor: float = 1.3,
    time_limit_seconds: float = 1.0,
    seed: int = 1,
    distances: DistanceSource | None = None,
    max_iterations: int | None = None,
) -> WeekPlan:
    """Order one day's stops (a travelling-salesman tour with time windows).

    Every stop is visited once (``visits_per_week`` and ``allowed_weekdays`` are ignored). The
    answer is a WeekPlan with one day, so stops that cannot fit are in ``unplaced`` as for a week.
    """
    one_day = [
        Stop(id=s.id, location=s.location, service_minutes=s.service_minutes, time_window=s.time_window) for s in stops
    ]
    problem = WeekProblem(
        stops=tuple(one_day),
        depot_start=start,
        depot_end=end or start,
        working_days=(weekday,),
        day_start_minute=day_start_minute,
        day_end_minute=day_end_minute,
        speed_kmh=speed_kmh,
        road_factor=road_factor,
    )
    return solve_week(
        problem, time_limit_seconds=time_limit_seconds, seed=seed, distances=distances, max_iterations=max_iterations
    )


# --- classical instances (benchmarks) ---------------------------------------------------------


@dataclass(frozen=True)
class ClassicInstance:
    """A TSP / CVRP / VRPTW instance as read from TSPLIB, CVRPLIB or Solomon files.

    Node 0 is the depot. ``distance_convention``: "nint" (Euclidean rounded to the nearest integer,
    TSPLIB EUC_2D and CVRPLIB), "trunc1" (Euclidean truncated to one decimal, Solomon; solved ×10
    as integers and reported back in the instance's units). Time windows and service times are in
    the distance unit (Solomon: one unit of distance takes one unit of time).
    """

    name: str
    coordinates: Sequence[tuple[float, float]]
    distance_convention: str = "nint"
    demands: Sequence[int] | None = None
    capacity: int | None = None
    num_vehicles: int | None = None
    time_windows: Sequence[tuple[float, float]] | None = None
    service_times: Sequence[float] | None = None


@dataclass(frozen=True)
class InstanceSolution:
    objective: float
    routes: tuple[tuple[int, ...], ...]
    feasible: bool
    runtime_seconds: float
    iterations: int


def instance_distance_matrix(instance: ClassicInstance) -> tuple[np.ndarray, int]:
    """The instance's integer distance matrix and the scale it is expressed in."""
    xy = np.asarray(instance.coordinates, dtype=float)
    exact = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    if instance.distance_convention == "nint":
        return np.floor(exact + 0.5).astype(np.int64), 1
    if instance.distance_convention == "trunc1":
        # Truncate to one decimal, computed on the ×10 scale with a guard against 0.9999… floats.
        return np.floor(exact * 10 + 1e-9).astype(np.int64), 10
    raise ValidationFailed(
        _("未知的距离约定：%(name)s") % {"name": instance.distance_convention}, field="distance_convention"
    )


def solve_instance(
    instance: ClassicInstance, *, time_limit_seconds: float, seed: int = 1, max_iterations: int | None = None
) -> InstanceSolution:
    """Solve a classical instance with the same PyVRP wrapper as the week planner."""
    matrix, scale = instance_distance_matrix(instance)
    n = len(instance.coordinates)
    if n < 2:
        raise ValidationFailed(_("实例至少需要一个客户。"), field="coordinates")
    demands = list(instance.demands) if instance.demands is not None else [0] * n
    clients = []
    for i in range(1, n):
        early, late = 0, UNBOUNDED
        if instance.time_windows is not None:
            early = round(instance.time_windows[i][0] * scale)
            late = round(instance.time_windows[i][1] * scale)
        service = round(instance.service_times[i] * scale) if instance.service_times is not None else 0
        clients.append(
            EngineClient(location=i, service=service, tw_early=early, tw_late=late, delivery=int(demands[i]))
        )
    depot_early, depot_late = 0, UNBOUNDED
    if instance.time_windows is not None:
        depot_early = round(instance.time_windows[0][0] * scale)
        depot_late = round(instance.time_windows[0][1] * scale)
    vehicles = instance.num_vehicles or (1 if instance.capacity is None else n - 1)
    problem = EngineProblem(
        distances=matrix,
        durations=matrix,
        clients=tuple(clients),
        vehicle_types=(
            EngineVehicleType(
                num_available=vehicles,
                capacity=instance.capacity,
                tw_early=depot_early,
                tw_late=depot_late,
            ),
        ),
        coordinates=np.asarray(instance.coordinates, dtype=float),
    )
    result = engine_solve(problem, time_limit_seconds=time_limit_seconds, seed=seed, max_iterations=max_iterations)
    routes = tuple(tuple(c + 1 for c in r.clients) for r in result.routes)
    return InstanceSolution(
        objective=result.distance / scale,
        routes=routes,
        feasible=result.feasible and not result.unvisited,
        runtime_seconds=result.runtime,
        iterations=result.iterations,
    )
