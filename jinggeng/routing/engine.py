"""The one place that talks to PyVRP.

Both the week planner and the classical-instance entry point describe their problem with the
integer-valued types below (a distance and a duration matrix over locations, clients, vehicle
types) and get routes back. Keeping PyVRP behind this seam means a version change of PyVRP
touches one file.

Clients that may only ride certain vehicle types (a visit restricted to some weekdays) are
modelled with PyVRP routing profiles: each vehicle type gets its own profile whose matrices make
every edge into or out of a forbidden client prohibitively long, so using it costs time warp
and the solution is infeasible. Each client gets its own location row so that two visits of the
same outlet can carry different restrictions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

# Length of an edge that must never be used; large but far from int64 overflow when summed.
FORBIDDEN = 10**9
UNBOUNDED = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class EngineClient:
    location: int
    service: int = 0
    tw_early: int = 0
    tw_late: int = UNBOUNDED
    delivery: int = 0
    allowed_vehicle_types: frozenset[int] | None = None
    required: bool = True
    prize: int = 0


@dataclass(frozen=True)
class EngineVehicleType:
    num_available: int = 1
    start_location: int = 0
    end_location: int = 0
    capacity: int | None = None
    tw_early: int = 0
    tw_late: int = UNBOUNDED
    shift_duration: int = UNBOUNDED
    name: str = ""


@dataclass(frozen=True)
class EngineProblem:
    """Integer matrices over locations; depots are the locations vehicles start and end at."""

    distances: np.ndarray
    durations: np.ndarray
    clients: tuple[EngineClient, ...]
    vehicle_types: tuple[EngineVehicleType, ...]
    coordinates: np.ndarray | None = None


@dataclass(frozen=True)
class EngineRoute:
    vehicle_type: int
    clients: tuple[int, ...]
    service_starts: tuple[int, ...]
    start_time: int
    end_time: int
    distance: int
    duration: int


@dataclass
class EngineResult:
    routes: list[EngineRoute]
    distance: int
    feasible: bool
    unvisited: list[int]
    runtime: float
    iterations: int
    solution: object = field(repr=False, default=None)


@dataclass
class _Built:
    data: pyvrp.ProblemData
    depot_of_location: dict[int, int]


def _build(problem: EngineProblem) -> _Built:
    depot_locations: list[int] = []
    for vt in problem.vehicle_types:
        for loc in (vt.start_location, vt.end_location):
            if loc not in depot_locations:
                depot_locations.append(loc)
    # PyVRP location k: depots first, then one location per client.
    source = depot_locations + [c.location for c in problem.clients]
    idx = np.array(source, dtype=np.int64)
    dist = np.asarray(problem.distances, dtype=np.int64)[np.ix_(idx, idx)]
    dur = np.asarray(problem.durations, dtype=np.int64)[np.ix_(idx, idx)]
    n_depots = len(depot_locations)
    if problem.coordinates is not None:
        xy = np.asarray(problem.coordinates, dtype=float)[idx]
        locations = [pyvrp.Location(float(x), float(y)) for x, y in xy]
    else:
        locations = [pyvrp.Location(0.0, 0.0) for _ in source]
    depot_of_location = {loc: i for i, loc in enumerate(depot_locations)}
    depots = [pyvrp.Depot(location=i) for i in range(n_depots)]
    has_capacity = any(vt.capacity is not None for vt in problem.vehicle_types)
    clients = [
        pyvrp.Client(
            location=n_depots + i,
            delivery=[c.delivery] if has_capacity else [],
            service_duration=c.service,
            tw_early=c.tw_early,
            tw_late=c.tw_late,
            required=c.required,
            prize=c.prize,
        )
        for i, c in enumerate(problem.clients)
    ]
    restricted = any(c.allowed_vehicle_types is not None for c in problem.clients)
    dist_mats: list[Any] = [dist]
    dur_mats: list[Any] = [dur]
    if restricted:
        dist_mats, dur_mats = [], []
        for v in range(len(problem.vehicle_types)):
            forbidden = [
                n_depots + i
                for i, c in enumerate(problem.clients)
                if c.allowed_vehicle_types is not None and v not in c.allowed_vehicle_types
            ]
            d, t = dist.copy(), dur.copy()
            if forbidden:
                d[forbidden, :] = FORBIDDEN
                d[:, forbidden] = FORBIDDEN
                t[forbidden, :] = FORBIDDEN
                t[:, forbidden] = FORBIDDEN
                d[forbidden, forbidden] = 0
                t[forbidden, forbidden] = 0
            dist_mats.append(d)
            dur_mats.append(t)
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=vt.num_available,
            capacity=[vt.capacity if vt.capacity is not None else UNBOUNDED] if has_capacity else [],
            start_depot=depot_of_location[vt.start_location],
            end_depot=depot_of_location[vt.end_location],
            tw_early=vt.tw_early,
            tw_late=vt.tw_late,
            shift_duration=vt.shift_duration,
            profile=v if restricted else 0,
            name=vt.name,
        )
        for v, vt in enumerate(problem.vehicle_types)
    ]
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=dist_mats,
        duration_matrices=dur_mats,
    )
    return _Built(data=data, depot_of_location=depot_of_location)


POLISH_SLICE_SECONDS = 1.0


def engine_solve(
    problem: EngineProblem,
    *,
    time_limit_seconds: float,
    seed: int = 1,
    max_iterations: int | None = None,
    initial_routes: Sequence[EngineRoute] | None = None,
    polish: bool | None = None,
) -> EngineResult:
    """Solve with PyVRP's iterated local search until the time (or iteration) limit.

    With ``polish`` (default: when no vehicle has a capacity, i.e. TSP-like and day routes) the
    time is cut into slices of about POLISH_SLICE_SECONDS; after each slice the routes are
    polished with 2-opt / Or-opt and the next slice starts from the polished solution. The
    number of slices depends only on the time limit, so a run bounded by ``max_iterations``
    (per slice) is reproducible.
    """
    built = _build(problem)
    data = built.data
    if polish is None:
        polish = all(vt.capacity is None for vt in problem.vehicle_types)
    limit = max(0.01, float(time_limit_seconds))
    slices = max(1, round(limit / POLISH_SLICE_SECONDS)) if polish else 1
    best: pyvrp.Solution | None = None
    if initial_routes:
        routes = [pyvrp.Route(data, list(r.clients), r.vehicle_type) for r in initial_routes if r.clients]
        best = pyvrp.Solution(data, routes)
    started = time.perf_counter()
    iterations = 0
    cost = pyvrp.CostEvaluator([0.0] * data.num_load_dimensions, 0, 0)  # feasible solutions: plain cost
    for k in range(slices):
        # Polishing takes time too: each slice gets an equal share of what is left.
        left = limit - (time.perf_counter() - started)
        criteria: list[Any] = [MaxRuntime(max(0.01, left / (slices - k)))]
        if max_iterations is not None:
            criteria.append(MaxIterations(max_iterations))
        stop: Any = MultipleCriteria(criteria) if len(criteria) > 1 else criteria[0]
        result = pyvrp.solve(data, stop, seed=seed + k, collect_stats=False, display=False, initial_solution=best)
        iterations += result.num_iterations
        found = result.best
        if polish and found.is_feasible():
            found = _polish_solution(data, found)
        if best is None or _better(found, best, cost):
            best = found
    assert best is not None
    return _result(data, best, time.perf_counter() - started, iterations)


def _better(a: pyvrp.Solution, b: pyvrp.Solution, cost: pyvrp.CostEvaluator) -> bool:
    if a.is_feasible() != b.is_feasible():
        return a.is_feasible()
    return cost.cost(a) < cost.cost(b) if a.is_feasible() else cost.penalised_cost(a) < cost.penalised_cost(b)


def _result(data: pyvrp.ProblemData, best: pyvrp.Solution, runtime: float, iterations: int) -> EngineResult:
    routes: list[EngineRoute] = []
    visited: set[int] = set()
    for route in best.routes():
        clients: list[int] = []
        starts: list[int] = []
        for activity in route.schedule():
            if activity.is_client():
                # Activity.idx of a client activity is the client index.
                clients.append(activity.idx)
                starts.append(int(activity.start_time))
        visited.update(clients)
        routes.append(
            EngineRoute(
                vehicle_type=route.vehicle_type(),
                clients=tuple(clients),
                service_starts=tuple(starts),
                start_time=int(route.start_time()),
                end_time=int(route.end_time()),
                distance=int(route.distance()),
                duration=int(route.duration()),
            )
        )
    unvisited = [i for i in range(data.num_clients) if i not in visited]
    return EngineResult(
        routes=routes,
        distance=int(best.distance()),
        feasible=bool(best.is_feasible()),
        unvisited=unvisited,
        runtime=runtime,
        iterations=int(iterations),
        solution=best,
    )


# --- intra-route polishing -------------------------------------------------------------------
# PyVRP 0.14's neighbourhood has no intra-route segment reversal (2-opt), which is what long
# single-vehicle routes (a TSP, a rep's day) need most. Between solver rounds each route is
# polished with 2-opt and Or-opt on its own distance matrix; PyVRP then re-evaluates the route
# (time windows, shift length) and the change is kept only if it is feasible and shorter.


def _two_opt_pass(d: np.ndarray, tour: list[int]) -> bool:
    """One pass of best-improvement-per-i 2-opt on a path with fixed ends (asymmetric-safe)."""
    t = np.asarray(tour)
    n = len(t)
    if n < 5:
        return False
    fwd = np.concatenate(([0], np.cumsum(d[t[:-1], t[1:]])))
    bwd = np.concatenate(([0], np.cumsum(d[t[1:], t[:-1]])))
    improved = False
    for i in range(n - 3):
        a, b = t[i], t[i + 1]
        js = np.arange(i + 2, n - 1)
        c, e = t[js], t[js + 1]
        old = d[a, b] + d[c, e] + (fwd[js] - fwd[i + 1])
        new = d[a, c] + d[b, e] + (bwd[js] - bwd[i + 1])
        delta = new - old
        k = int(np.argmin(delta))
        if delta[k] < 0:
            j = int(js[k])
            t[i + 1 : j + 1] = t[i + 1 : j + 1][::-1].copy()
            fwd = np.concatenate(([0], np.cumsum(d[t[:-1], t[1:]])))
            bwd = np.concatenate(([0], np.cumsum(d[t[1:], t[:-1]])))
            improved = True
    tour[:] = t.tolist()
    return improved


def _or_opt_pass(d: np.ndarray, tour: list[int]) -> bool:
    """Move segments of 1–3 stops elsewhere in the path, forwards or reversed."""
    improved = False
    for length in (1, 2, 3):
        i = 1
        while i + length < len(tour):
            n = len(tour)
            seg = tour[i : i + length]
            prev, nxt = tour[i - 1], tour[i + length]
            s0, s1 = seg[0], seg[-1]
            inner_f = sum(d[seg[k], seg[k + 1]] for k in range(length - 1))
            inner_b = sum(d[seg[k + 1], seg[k]] for k in range(length - 1))
            removal = d[prev, s0] + d[s1, nxt] + inner_f - d[prev, nxt]
            rest = tour[:i] + tour[i + length :]
            r = np.asarray(rest)
            p, q = r[:-1], r[1:]
            base = d[p, q]
            fwd_cost = d[p, s0] + d[s1, q] - base + inner_f
            rev_cost = d[p, s1] + d[s0, q] - base + inner_b
            best_f, best_r = int(np.argmin(fwd_cost)), int(np.argmin(rev_cost))
            gain_f, gain_r = removal - fwd_cost[best_f], removal - rev_cost[best_r]
            if max(gain_f, gain_r) > 0 and n > length + 2:
                if gain_f >= gain_r:
                    pos, insert = best_f, seg
                else:
                    pos, insert = best_r, seg[::-1]
                tour[:] = rest[: pos + 1] + insert + rest[pos + 1 :]
                improved = True
            i += 1
    return improved


def polish_path(d: np.ndarray, tour: list[int], max_passes: int = 50) -> list[int]:
    """2-opt and Or-opt until neither improves (or ``max_passes``); the ends stay in place."""
    tour = list(tour)
    for _ in range(max_passes):
        changed = _two_opt_pass(d, tour)
        changed = _or_opt_pass(d, tour) or changed
        if not changed:
            break
    return tour


def _polish_solution(data: pyvrp.ProblemData, solution: pyvrp.Solution) -> pyvrp.Solution:
    routes = []
    changed = False
    for route in solution.routes():
        vt_index = route.vehicle_type()
        vt = data.vehicle_type(vt_index)
        visits = [a.idx for a in route.schedule() if a.is_client()]
        if len(visits) < 3:
            routes.append(route)
            continue
        d = np.asarray(data.distance_matrix(vt.profile))
        start = data.depot(vt.start_depot).location
        end = data.depot(vt.end_depot).location
        by_location = {data.client(c).location: c for c in visits}
        path = [start, *(data.client(c).location for c in visits), end]
        better = polish_path(d, path)
        candidate = pyvrp.Route(data, [by_location[loc] for loc in better[1:-1]], vt_index)
        if candidate.is_feasible() and candidate.distance() < route.distance():
            routes.append(candidate)
            changed = True
        else:
            routes.append(route)
    return pyvrp.Solution(data, routes) if changed else solution
