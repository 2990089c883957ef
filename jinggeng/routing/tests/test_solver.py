"""The week planner, the single-route solver and the classical-instance entry point.

Problems are small (20–40 stops) and every solve is capped at 2 s.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from jinggeng.core.errors import ValidationFailed
from jinggeng.routing.baseline import nearest_neighbour_week
from jinggeng.routing.engine import polish_path
from jinggeng.routing.problem import Location, Stop, WeekPlan, WeekProblem, workload_balance
from jinggeng.routing.schedule import visit_day_sets
from jinggeng.routing.solver import (
    ClassicInstance,
    instance_distance_matrix,
    solve_instance,
    solve_single_route,
    solve_week,
)
from jinggeng.routing.tests.problems import CENTRE, offset, week_problem


def assert_every_visit_placed_once(problem: WeekProblem, plan: WeekPlan) -> None:
    unplaced: Counter[str] = Counter()
    for u in plan.unplaced:
        unplaced[u.stop_id] += u.visits
    for stop in problem.stops:
        days = plan.visits_of(stop.id)
        assert len(days) + unplaced[stop.id] == stop.visits_per_week, stop.id
        assert len(set(days)) == len(days), f"{stop.id} twice on one day: {days}"


def assert_hours_and_windows(problem: WeekProblem, plan: WeekPlan) -> None:
    by_id = {s.id: s for s in problem.stops}
    for day in plan.days:
        assert day.weekday in problem.working_days
        assert day.start_minute >= problem.day_start_minute - 0.01
        assert day.end_minute <= problem.day_end_minute + 0.05
        for sid, at in zip(day.stop_ids, day.arrival_minutes, strict=True):
            window = by_id[sid].time_window
            if window is not None:
                assert window[0] - 0.01 <= at <= window[1] + 0.05, (sid, at, window)


@pytest.fixture(scope="module")
def week() -> tuple[WeekProblem, WeekPlan]:
    problem = week_problem(30, twice=6, windows=6)
    return problem, solve_week(problem, time_limit_seconds=2.0, seed=1)


def test_every_stop_is_visited_its_weekly_times_on_distinct_days(week):
    problem, plan = week
    assert plan.unplaced == ()
    assert_every_visit_placed_once(problem, plan)
    assert sum(len(d.stop_ids) for d in plan.days) == 30 + 6
    assert [d.weekday for d in plan.days] == [0, 1, 2, 3, 4]
    # Twice-a-week visits are spread: at least two days apart.
    for stop in problem.stops[:6]:
        first, second = plan.visits_of(stop.id)
        assert abs(first - second) >= 2


def test_time_windows_and_working_hours_are_respected(week):
    problem, plan = week
    assert plan.feasible is True
    assert_hours_and_windows(problem, plan)


def test_day_workloads_are_within_the_tolerance_of_the_mean(week):
    _problem, plan = week
    workloads = [d.workload_minutes for d in plan.days]
    mean = sum(workloads) / 5
    assert all(abs(w - mean) <= 0.10 * mean for w in workloads), workloads
    assert plan.balance == pytest.approx(workload_balance(workloads))
    assert plan.balance <= 0.10


def test_plan_totals_add_up(week):
    _problem, plan = week
    assert plan.total_km == pytest.approx(sum(d.travel_km for d in plan.days))
    assert plan.total_minutes == pytest.approx(sum(d.travel_minutes + d.service_minutes for d in plan.days))
    for day in plan.days:
        assert day.workload_minutes == pytest.approx(day.travel_minutes + day.service_minutes)
        assert len(day.arrival_minutes) == len(day.stop_ids)
        assert list(day.arrival_minutes) == sorted(day.arrival_minutes)


def test_less_travel_than_the_nearest_neighbour_week(week):
    problem, plan = week
    baseline = nearest_neighbour_week(problem)
    assert_every_visit_placed_once(problem, baseline)
    assert plan.total_km < baseline.total_km


def test_a_fixed_seed_gives_the_same_plan():
    problem = week_problem(20, seed=3, twice=3, windows=2)
    first = solve_week(problem, time_limit_seconds=10, seed=5, max_iterations=50)
    second = solve_week(problem, time_limit_seconds=10, seed=5, max_iterations=50)
    assert first == second


def test_allowed_weekdays_are_kept():
    problem = week_problem(20, seed=11, twice=0)
    stops = list(problem.stops)
    stops[0] = dataclasses.replace(stops[0], allowed_weekdays=frozenset({2}))
    stops[1] = dataclasses.replace(stops[1], allowed_weekdays=frozenset({0, 4}), visits_per_week=2)
    problem = dataclasses.replace(problem, stops=tuple(stops))
    plan = solve_week(problem, time_limit_seconds=1.0)
    assert plan.unplaced == ()
    assert plan.visits_of("S00") == [2]
    assert plan.visits_of("S01") == [0, 4]


def test_stops_that_cannot_be_placed_are_listed_with_their_reason():
    problem = week_problem(20, seed=5, twice=0)
    stops = list(problem.stops)
    stops[0] = dataclasses.replace(stops[0], time_window=(6 * 60, 7 * 60))  # closes before the day starts
    stops[1] = dataclasses.replace(stops[1], service_minutes=600)  # longer than the 540-minute day
    stops[2] = dataclasses.replace(stops[2], allowed_weekdays=frozenset({5, 6}))  # weekend only
    stops[3] = dataclasses.replace(stops[3], allowed_weekdays=frozenset({1}), visits_per_week=2)
    far = offset(CENTRE, 0, 400)  # 400 km away: 520 km by road each way at 25 km/h
    stops[4] = dataclasses.replace(stops[4], location=far)
    problem = dataclasses.replace(problem, stops=tuple(stops))
    plan = solve_week(problem, time_limit_seconds=1.0)
    codes = {u.stop_id: u.code for u in plan.unplaced}
    assert codes == {
        "S00": "window_unreachable",
        "S01": "day_too_short",
        "S02": "not_enough_days",
        "S03": "not_enough_days",
        "S04": "day_too_short",
    }
    assert all(u.reason and u.stop_id in u.reason for u in plan.unplaced)
    assert sum(len(d.stop_ids) for d in plan.days) == 15
    assert_every_visit_placed_once(problem, plan)


def test_a_week_too_small_for_the_work_lists_the_visits_left_out():
    stops = tuple(
        Stop(id=f"N{i}", location=offset(CENTRE, 0.3 * i, 0.2), service_minutes=15, visits_per_week=1)
        for i in range(12)
    )
    problem = WeekProblem(
        stops=stops,
        depot_start=CENTRE,
        depot_end=CENTRE,
        working_days=(0,),
        day_start_minute=9 * 60,
        day_end_minute=11 * 60,
    )
    plan = solve_week(problem, time_limit_seconds=1.0)
    placed = sum(len(d.stop_ids) for d in plan.days)
    assert 4 <= placed < 12
    assert placed + len(plan.unplaced) == 12
    assert {u.code for u in plan.unplaced} == {"no_room_in_week"}
    assert plan.days[0].end_minute <= 11 * 60 + 0.05


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stops": ()}, "stops"),
        ({"working_days": ()}, "working_days"),
        ({"working_days": (0, 0, 1)}, "working_days"),
        ({"day_start_minute": 600, "day_end_minute": 540}, "day_end_minute"),
        ({"depot_start": Location(91.0, 121.0)}, "depot_start"),
        ({"speed_kmh": 0}, "speed_kmh"),
        ({"balance_tolerance": 1.5}, "balance_tolerance"),
    ],
)
def test_malformed_problems_are_refused_naming_the_field(change, field):
    problem = dataclasses.replace(week_problem(20), **change)
    with pytest.raises(ValidationFailed) as exc:
        solve_week(problem, time_limit_seconds=1.0)
    assert field in exc.value.field_errors
    assert exc.value.status == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": Location(31.2, 181.0)}, "stops[0].location"),
        ({"location": Location(float("nan"), 121.0)}, "stops[0].location"),
        ({"visits_per_week": 6}, "stops[0].visits_per_week"),
        ({"visits_per_week": 0}, "stops[0].visits_per_week"),
        ({"time_window": (720, 600)}, "stops[0].time_window"),
        ({"service_minutes": -5}, "stops[0].service_minutes"),
        ({"id": "S01"}, "stops[0].id"),
    ],
)
def test_bad_stops_are_refused_naming_the_stop(change, field):
    problem = week_problem(20)
    stops = list(problem.stops)
    if change.get("id"):
        stops[1] = dataclasses.replace(stops[1], id="S00")
        field = "stops[1].id"
    else:
        stops[0] = dataclasses.replace(stops[0], **change)
    with pytest.raises(ValidationFailed) as exc:
        solve_week(dataclasses.replace(problem, stops=tuple(stops)), time_limit_seconds=1.0)
    assert field in exc.value.field_errors


def test_a_day_too_short_for_one_visit_is_refused_with_every_reason():
    problem = week_problem(20, day_start_minute=9 * 60, day_end_minute=9 * 60 + 5)
    with pytest.raises(ValidationFailed) as exc:
        solve_week(problem, time_limit_seconds=1.0)
    assert exc.value.code == "nothing_to_plan"
    details = exc.value.extra["unplaced"]
    assert len(details) == 20
    assert {d["code"] for d in details} == {"day_too_short"}
    assert len(exc.value.field_errors["stops"]) == 20


def test_unreachable_windows_for_every_stop_are_refused():
    problem = week_problem(20)
    stops = tuple(dataclasses.replace(s, time_window=(19 * 60, 20 * 60)) for s in problem.stops)
    with pytest.raises(ValidationFailed) as exc:
        solve_week(dataclasses.replace(problem, stops=stops), time_limit_seconds=1.0)
    assert {d["code"] for d in exc.value.extra["unplaced"]} == {"window_unreachable"}


def test_single_route_orders_one_day_within_windows():
    problem = week_problem(16, seed=9, twice=0, windows=6)
    plan = solve_single_route(list(problem.stops), start=CENTRE, weekday=2, time_limit_seconds=1.0)
    assert len(plan.days) == 1
    day = plan.days[0]
    assert day.weekday == 2
    assert sorted(day.stop_ids) == sorted(s.id for s in problem.stops)
    assert plan.unplaced == ()
    assert_hours_and_windows(dataclasses.replace(problem, working_days=(2,)), plan)


@pytest.mark.parametrize(
    ("days", "visits", "expected"),
    [
        ([0, 1, 2, 3, 4], 1, [[0, 1, 2, 3, 4]]),
        ([0, 1, 2, 3, 4], 2, [[0, 1], [3, 4]]),
        ([0, 1, 2, 3, 4], 3, [[0], [2], [4]]),
        ([0, 1, 2, 3, 4], 4, [[0], [1], [2], [3, 4]]),
        ([0, 1, 2, 3, 4], 5, [[0], [1], [2], [3], [4]]),
        ([0, 1, 2, 3, 4, 5], 2, [[0, 1, 2], [3, 4, 5]]),
        ([1, 3], 3, None),
    ],
)
def test_visit_day_sets(days, visits, expected):
    assert visit_day_sets(days, visits) == expected


def test_solve_instance_tsp_on_a_square_finds_the_perimeter():
    square = [(0, 0), (0, 10), (10, 10), (10, 0), (5, 0), (0, 5)]
    result = solve_instance(
        ClassicInstance(name="square", coordinates=square), time_limit_seconds=0.5, max_iterations=200
    )
    assert result.objective == 40
    assert result.feasible is True
    assert sorted(c for r in result.routes for c in r) == [1, 2, 3, 4, 5]


def test_solve_instance_cvrp_respects_capacity():
    coords = [(0, 0), (10, 0), (11, 0), (-10, 0), (-11, 0)]
    instance = ClassicInstance(name="line", coordinates=coords, demands=[0, 5, 5, 5, 5], capacity=10)
    result = solve_instance(instance, time_limit_seconds=0.5, max_iterations=200)
    assert result.objective == 44
    assert sorted(sorted(r) for r in result.routes) == [[1, 2], [3, 4]]


def test_instance_distance_conventions():
    coords = [(0, 0), (1, 1), (3, 0)]
    nint, scale = instance_distance_matrix(ClassicInstance(name="a", coordinates=coords))
    assert scale == 1
    assert nint[0][1] == 1  # sqrt(2) = 1.414 -> 1
    assert nint[1][2] == 2  # sqrt(5) = 2.236 -> 2
    trunc, scale = instance_distance_matrix(ClassicInstance(name="b", coordinates=coords, distance_convention="trunc1"))
    assert scale == 10
    assert trunc[0][1] == 14  # 1.4
    assert trunc[1][2] == 22  # 2.2
    assert trunc[0][2] == 30
    with pytest.raises(ValidationFailed):
        instance_distance_matrix(ClassicInstance(name="c", coordinates=coords, distance_convention="manhattan"))


def test_solve_instance_vrptw_with_time_windows():
    coords = [(0, 0), (0, 10), (0, 20), (10, 0)]
    instance = ClassicInstance(
        name="tw",
        coordinates=coords,
        distance_convention="trunc1",
        demands=[0, 1, 1, 1],
        capacity=10,
        num_vehicles=2,
        time_windows=[(0, 200), (0, 200), (0, 200), (0, 15)],
        service_times=[0, 5, 5, 5],
    )
    result = solve_instance(instance, time_limit_seconds=0.5, max_iterations=200)
    assert result.feasible is True
    # (10, 0) closes at 15, so it comes first: 0 -> (10,0) -> (0,20) -> (0,10) -> 0
    # = 10 + 22.3 (22.36 truncated) + 10 + 10.
    assert result.objective == pytest.approx(52.3)
    assert result.routes == ((3, 2, 1),)


def test_polish_path_undoes_a_crossing_and_keeps_the_ends():
    # Points on a line 0..5; the path 0 -> 3 -> 2 -> 1 -> 4 -> 5 crosses itself.
    xs = np.arange(6, dtype=float)
    d = np.abs(xs[:, None] - xs[None, :])
    assert polish_path(d, [0, 3, 2, 1, 4, 5]) == [0, 1, 2, 3, 4, 5]
    assert polish_path(d, [0, 4, 1, 3, 2, 5]) == [0, 1, 2, 3, 4, 5]


def test_nearest_neighbour_week_spreads_visits_evenly():
    problem = week_problem(30, twice=6)
    plan = nearest_neighbour_week(problem)
    assert plan.solver == "nearest_neighbour"
    assert_every_visit_placed_once(problem, plan)
    counts = [len(d.stop_ids) for d in plan.days]
    assert sum(counts) == 36
    assert max(counts) - min(counts) <= 2


def test_visits_the_search_left_out_are_fitted_where_they_still_fit():
    from jinggeng.routing.engine import EngineResult, EngineRoute
    from jinggeng.routing.schedule import stops_precheck, week_matrix
    from jinggeng.routing.solver import _Attempt, _repair, _Visit

    problem = week_problem(4, twice=1, working_days=(0, 1, 2))
    matrix = week_matrix(problem)
    placeable, unplaced = stops_precheck(problem, matrix)
    visits = [_Visit(0, 0), _Visit(0, 1), _Visit(1, 0), _Visit(2, 0), _Visit(3, 0)]
    # The "solver" placed S01 and S02 on Monday and left out both visits of S00 and S03.
    result = EngineResult(
        routes=[EngineRoute(0, (2, 3), (0, 0), 0, 0, 0, 0)],
        distance=0,
        feasible=True,
        unvisited=[0, 1, 4],
        runtime=0,
        iterations=0,
    )
    empty = WeekPlan(days=())
    plan = _repair(problem, matrix, _Attempt(result, empty, 2), visits, placeable, unplaced)
    assert plan.unplaced == ()
    assert_every_visit_placed_once(problem, plan)
    assert sorted(plan.visits_of("S00")) == [0, 2]
    assert plan.feasible is True
