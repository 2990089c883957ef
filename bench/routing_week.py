"""Weekly route design on generated problems: the optimiser against the nearest-neighbour week.

Each problem: 150 outlets around Shanghai's centre (31.23 N, 121.47 E), within 12 km, grouped in
six trading areas (outlets cluster along shopping streets and markets); service 10 / 15 / 25 min
by grade C / B / A (75 / 20 / 5 %); 10 % of the outlets visited twice a week, the rest once;
8 % with a morning-only or afternoon-only window; 5 working days 08:30–17:30; the rep starts and
ends at home, within 3 km of the centre. Straight-line distance × 1.3 at 25 km/h.

    .venv/bin/python bench/routing_week.py [--seeds 1,2,3,4,5] [--time-limit 30] [--no-report]

Goal (issue 4 §9): ≥ 15 % less travel than the baseline with every day within ±10 % workload.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing_report import append_routing_report, machine_text, setup_django

CENTRE = (31.23, 121.47)
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def generate(seed: int, outlets: int = 150):
    from jinggeng.routing.problem import Location, Stop, WeekProblem

    rnd = random.Random(seed)
    lat0, lng0 = CENTRE
    kx = math.cos(math.radians(lat0))

    def at(x_km: float, y_km: float) -> Location:
        return Location(lat0 + y_km / 111.0, lng0 + x_km / (111.0 * kx))

    areas = []
    for _ in range(6):
        r, a = 10 * math.sqrt(rnd.random()), rnd.random() * 2 * math.pi
        areas.append((r * math.cos(a), r * math.sin(a)))
    stops = []
    for i in range(outlets):
        while True:
            cx, cy = rnd.choice(areas)
            x, y = rnd.gauss(cx, 1.0), rnd.gauss(cy, 1.0)
            if math.hypot(x, y) <= 12:
                break
        g = rnd.random()
        service = 25 if g < 0.05 else (15 if g < 0.25 else 10)
        w = rnd.random()
        window = None
        if w < 0.04:
            window = (8 * 60 + 30, 12 * 60)
        elif w < 0.08:
            window = (13 * 60 + 30, 17 * 60)
        stops.append(
            Stop(
                id=f"O{i:03d}",
                location=at(x, y),
                service_minutes=service,
                visits_per_week=2 if rnd.random() < 0.10 else 1,
                time_window=window,
            )
        )
    r, a = 3 * rnd.random(), rnd.random() * 2 * math.pi
    home = at(r * math.cos(a), r * math.sin(a))
    return WeekProblem(stops=tuple(stops), depot_start=home, depot_end=home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--outlets", type=int, default=150)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    setup_django()
    from jinggeng.routing.baseline import nearest_neighbour_week
    from jinggeng.routing.schedule import day_violations
    from jinggeng.routing.solver import solve_week

    print(machine_text())
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        problem = generate(seed, args.outlets)
        visits = sum(s.visits_per_week for s in problem.stops)
        base = nearest_neighbour_week(problem)
        started = time.perf_counter()
        plan = solve_week(problem, time_limit_seconds=args.time_limit, seed=seed)
        runtime = time.perf_counter() - started
        saving = (1 - plan.total_km / base.total_km) * 100
        base_issues = sum(len(day_violations(problem, d)) for d in base.days)
        row = {
            "seed": seed,
            "visits": visits,
            "base_km": base.total_km,
            "ours_km": plan.total_km,
            "saving": saving,
            "base_days": [d.workload_minutes for d in base.days],
            "ours_days": [d.workload_minutes for d in plan.days],
            "base_balance": base.balance * 100,
            "ours_balance": plan.balance * 100,
            "base_issues": base_issues,
            "ours_feasible": plan.feasible,
            "unplaced": len(plan.unplaced) + len(base.unplaced),
            "runtime": runtime,
        }
        rows.append(row)
        print(
            f"seed {seed}: {visits} visits | baseline {base.total_km:.1f} km, balance ±{row['base_balance']:.1f} %, "
            f"days {[round(w) for w in row['base_days']]} min, {base_issues} late/overtime | "
            f"ours {plan.total_km:.1f} km (−{saving:.1f} %), balance ±{row['ours_balance']:.1f} %, "
            f"days {[round(w) for w in row['ours_days']]} min, feasible {plan.feasible}, unplaced {len(plan.unplaced)}, "
            f"{runtime:.1f} s",
            flush=True,
        )
    mean_saving = sum(r["saving"] for r in rows) / len(rows)
    worst_balance = max(r["ours_balance"] for r in rows)
    met = mean_saving >= 15 and all(r["saving"] >= 15 for r in rows) and worst_balance <= 10
    summary = (
        f"Average travel saving {mean_saving:.1f} % (min {min(r['saving'] for r in rows):.1f} %); "
        f"worst day deviation from the mean workload ±{worst_balance:.1f} %; "
        f"all plans feasible (hours, windows): {all(r['ours_feasible'] for r in rows)}; "
        f"unplaced visits: {sum(r['unplaced'] for r in rows)}. Goal (≥ 15 % less travel, every day within ±10 %): "
        f"{'met' if met else 'NOT met'}."
    )
    print(summary)
    lines = [
        machine_text(),
        "",
        f"{args.outlets} outlets around Shanghai (31.23 N 121.47 E, within 12 km, six trading areas), service 10/15/25 min "
        "by grade, 10 % visited twice a week, 8 % with a half-day window, Mon–Fri 08:30–17:30, start and end at the rep's "
        f"home; straight-line km × 1.3 at 25 km/h. Ours: `solve_week`, {args.time_limit:g} s per problem. Baseline: "
        "`nearest_neighbour_week` (sweep into equal-count days, nearest-neighbour order). Workload = travel + service "
        "minutes per day; balance = largest deviation of a day from the week's mean.",
        "",
        "| seed | visits | baseline km | ours km | saving % | baseline balance ± % | ours balance ± % | baseline day workloads (min) | ours day workloads (min) | baseline late/overtime | ours feasible |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['visits']} | {r['base_km']:.1f} | {r['ours_km']:.1f} | {r['saving']:.1f} | "
            f"{r['base_balance']:.1f} | {r['ours_balance']:.1f} | {' / '.join(str(round(w)) for w in r['base_days'])} | "
            f"{' / '.join(str(round(w)) for w in r['ours_days'])} | {r['base_issues']} | {'yes' if r['ours_feasible'] else 'no'} |"
        )
    lines += ["", summary]
    if not args.no_report:
        append_routing_report("Weekly route design (bench/routing_week.py)", "\n".join(lines))


if __name__ == "__main__":
    main()
