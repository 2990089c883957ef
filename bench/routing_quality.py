"""Route optimiser quality against known optima, side by side with OR-Tools.

For every instance of ../shared/data/routing/bks.csv with at most 300 customers, solve it
through Jinggeng's own interface (jinggeng.routing.solver.solve_instance, PyVRP inside) and with
OR-Tools' routing solver (guided local search; first solution PATH_CHEAPEST_ARC, or
PARALLEL_CHEAPEST_INSERTION for VRPTW as the data README says), at each time limit, and print
the objective, the best-known value and the gap. The objectives are recomputed here from the
routes with the instance's distance convention and the routes are checked (every customer once,
capacity, time windows).

    .venv/bin/python bench/routing_quality.py [--limits 30,5] [--data DIR] [--no-report]

Data: --data, else $JINGGENG_DATA_DIR_SHARED/routing, else ../shared/data/routing.
Needs the benchmark extras (ortools, vrplib); jinggeng/ itself never imports them.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing_report import ROOT, append_routing_report, data_dir, machine_text, setup_django

MAX_CUSTOMERS = 300


def load_instances(root: Path, only: set[str] | None) -> list[dict]:
    import vrplib

    rows = []
    with (root / "bks.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if only and row["instance"] not in only:
                continue
            if int(row["nodes"]) - 1 > MAX_CUSTOMERS:
                continue
            file = row["file"].split(" ")[0]
            path = root / file
            kind = "TSP" if row["problem"].startswith("TSP") else ("VRPTW" if "VRPTW" in row["problem"] else "CVRP")
            if kind == "VRPTW":
                raw = vrplib.read_instance(str(path), instance_format="solomon")
            else:
                raw = vrplib.read_instance(str(path))
            rows.append({"name": row["instance"], "kind": kind, "bks": float(row["objective"]), "raw": raw})
    return rows


def to_classic(item: dict):
    from jinggeng.routing.solver import ClassicInstance

    raw, kind, name = item["raw"], item["kind"], item["name"]
    coords = [tuple(map(float, xy)) for xy in raw["node_coord"]]
    if kind == "TSP":
        return ClassicInstance(name=name, coordinates=coords, distance_convention="nint")
    demands = [int(d) for d in raw["demand"]]
    if kind == "CVRP":
        return ClassicInstance(
            name=name, coordinates=coords, distance_convention="nint", demands=demands, capacity=int(raw["capacity"])
        )
    return ClassicInstance(
        name=name,
        coordinates=coords,
        distance_convention="trunc1",
        demands=demands,
        capacity=int(raw["capacity"]),
        num_vehicles=int(raw["vehicles"]),
        time_windows=[(float(a), float(b)) for a, b in raw["time_window"]],
        service_times=[float(s) for s in raw["service_time"]],
    )


def check_routes(inst, matrix, scale: int, routes) -> tuple[float, str]:
    """Objective in the instance's units, and '' or what is wrong with the routes."""
    n = len(inst.coordinates)
    seen = sorted(c for r in routes for c in r)
    problems = []
    if seen != list(range(1, n)):
        problems.append(f"customers visited {len(seen)}/{n - 1}")
    total = 0
    for r in routes:
        path = [0, *r, 0]
        total += sum(int(matrix[a][b]) for a, b in itertools.pairwise(path))
        if inst.capacity is not None and inst.demands is not None and sum(inst.demands[c] for c in r) > inst.capacity:
            problems.append("capacity")
        if inst.time_windows is not None:
            now = inst.time_windows[0][0] * scale
            for a, b in itertools.pairwise(path):
                now += (inst.service_times[a] * scale if a else 0) + matrix[a][b]
                early, late = inst.time_windows[b][0] * scale, inst.time_windows[b][1] * scale
                now = max(now, early)
                if now > late + 1e-6:
                    problems.append(f"time window at {b}")
                    break
    if inst.num_vehicles is not None and len([r for r in routes if r]) > inst.num_vehicles:
        problems.append("fleet")
    return total / scale, ", ".join(sorted(set(problems)))


def ortools_vehicles(item: dict, inst) -> int:
    if item["kind"] == "TSP":
        return 1
    if inst.num_vehicles:
        return inst.num_vehicles
    k = int(m.group(1)) if (m := re.search(r"-k(\d+)", item["name"])) else max(1, len(inst.coordinates) // 10)
    return k + max(1, k // 5)


def solve_ortools(item: dict, inst, matrix, scale: int, seconds: float):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(matrix)
    vehicles = ortools_vehicles(item, inst)
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist = [[int(v) for v in row] for row in matrix]
    transit = routing.RegisterTransitMatrix(dist)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    if inst.capacity is not None:
        demand = routing.RegisterUnaryTransitVector([int(d) for d in inst.demands])
        routing.AddDimensionWithVehicleCapacity(demand, 0, [int(inst.capacity)] * vehicles, True, "Capacity")
    first = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if inst.time_windows is not None:
        service = [round(s * scale) for s in inst.service_times]
        timing = [[dist[i][j] + (service[i] if i else 0) for j in range(n)] for i in range(n)]
        horizon = round(inst.time_windows[0][1] * scale)
        time_cb = routing.RegisterTransitMatrix(timing)
        routing.AddDimension(time_cb, horizon, horizon, False, "Time")
        dim = routing.GetDimensionOrDie("Time")
        for node in range(1, n):
            early, late = (round(x * scale) for x in inst.time_windows[node])
            dim.CumulVar(manager.NodeToIndex(node)).SetRange(early, late)
        for v in range(vehicles):
            dim.CumulVar(routing.Start(v)).SetRange(0, horizon)
            dim.CumulVar(routing.End(v)).SetRange(0, horizon)
        first = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = first
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    started = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    runtime = time.perf_counter() - started
    if solution is None:
        return None, runtime
    routes = []
    for v in range(vehicles):
        index = routing.Start(v)
        route = []
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node:
                route.append(node)
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes, runtime


def gap(obj: float | None, bks: float) -> float | None:
    return None if obj is None else (obj - bks) / bks * 100


def fmt(v: float | None, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="directory holding bks.csv (default ../shared/data/routing)")
    parser.add_argument("--limits", default="30,5", help="time limits in seconds, comma-separated")
    parser.add_argument("--instances", help="comma-separated instance names (default: all up to 300 customers)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-ortools", action="store_true")
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    parser.add_argument("--json", default=str(ROOT / "var" / "bench" / "routing_quality.json"))
    args = parser.parse_args()

    setup_django()
    from jinggeng.routing.solver import instance_distance_matrix, solve_instance

    root = data_dir(args.data)
    only = set(args.instances.split(",")) if args.instances else None
    items = load_instances(root, only)
    limits = [float(x) for x in args.limits.split(",")]
    results = []
    print(machine_text())
    header = f"{'instance':<12} {'type':<6} {'n':>4} {'BKS':>9} {'limit':>5} | {'ours':>9} {'gap%':>6} {'s':>5} | {'OR-Tools':>9} {'gap%':>6}"
    print(header)
    for limit in limits:
        for item in items:
            inst = to_classic(item)
            matrix, scale = instance_distance_matrix(inst)
            ours = solve_instance(inst, time_limit_seconds=limit, seed=args.seed)
            our_obj, our_err = check_routes(inst, matrix, scale, ours.routes)
            if abs(our_obj - ours.objective) > 1e-6:
                our_err = (our_err + f" objective {ours.objective} != recomputed {our_obj}").strip()
            row = {
                "instance": item["name"],
                "kind": item["kind"],
                "customers": len(inst.coordinates) - 1,
                "bks": item["bks"],
                "limit": limit,
                "ours": our_obj if not our_err else None,
                "ours_error": our_err,
                "ours_runtime": ours.runtime_seconds,
                "ours_iterations": ours.iterations,
                "ortools": None,
                "ortools_error": "skipped" if args.skip_ortools else "",
            }
            if not args.skip_ortools:
                routes, _runtime = solve_ortools(item, inst, matrix, scale, limit)
                if routes is None:
                    row["ortools_error"] = "no solution"
                else:
                    obj, err = check_routes(inst, matrix, scale, routes)
                    row["ortools"] = obj if not err else None
                    row["ortools_error"] = err
            results.append(row)
            print(
                f"{row['instance']:<12} {row['kind']:<6} {row['customers']:>4} {row['bks']:>9.1f} {limit:>5.0f} | "
                f"{fmt(row['ours'], 1):>9} {fmt(gap(row['ours'], row['bks'])):>6} {row['ours_runtime']:>5.1f} | "
                f"{fmt(row['ortools'], 1):>9} {fmt(gap(row['ortools'], row['bks'])):>6} {row['ours_error']}{row['ortools_error']}",
                flush=True,
            )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")

    lines = [
        machine_text(),
        "",
        f"Seed {args.seed}. Ours = `jinggeng.routing.solver.solve_instance` (PyVRP 0.14.1 iterated local search behind "
        "our wrapper); OR-Tools 9.15 routing solver with guided local search (first solution PATH_CHEAPEST_ARC; "
        "PARALLEL_CHEAPEST_INSERTION for VRPTW). Objectives recomputed from the routes with the instance's distance "
        "convention (TSPLIB/CVRPLIB: rounded Euclidean; Solomon: Euclidean truncated to one decimal, distance only, "
        "fleet 25) and the routes checked. CVRP fleet: unlimited for ours, k + max(1, k/5) vehicles for OR-Tools. "
        "Gap = (objective − BKS) / BKS.",
        "",
        "| instance | type | customers | BKS | limit s | ours | gap % | OR-Tools | gap % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['instance']} | {r['kind']} | {r['customers']} | {r['bks']:g} | {r['limit']:g} | "
            f"{fmt(r['ours'], 1)}{' (' + r['ours_error'] + ')' if r['ours_error'] else ''} | {fmt(gap(r['ours'], r['bks']))} | "
            f"{fmt(r['ortools'], 1)}{' (' + r['ortools_error'] + ')' if r['ortools_error'] else ''} | {fmt(gap(r['ortools'], r['bks']))} |"
        )
    lines.append("")
    summary = []
    for limit in limits:
        rows = [r for r in results if r["limit"] == limit]
        ours = [gap(r["ours"], r["bks"]) for r in rows if r["ours"] is not None]
        ort = [gap(r["ortools"], r["bks"]) for r in rows if r["ortools"] is not None]
        text = (
            f"At {limit:g} s: ours average gap {fmt(sum(ours) / len(ours) if ours else None)} % "
            f"(max {fmt(max(ours) if ours else None)} %, {len(ours)}/{len(rows)} solved); "
            f"OR-Tools average gap {fmt(sum(ort) / len(ort) if ort else None)} % "
            f"(max {fmt(max(ort) if ort else None)} %, {len(ort)}/{len(rows)} solved)."
        )
        summary.append(text)
        print(text)
    lines.append("Goal: ≤ 1 % average gap at 30 s for our solver. " + " ".join(summary))
    if not args.no_report:
        append_routing_report("Quality against known optima (bench/routing_quality.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
