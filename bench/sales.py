"""Benchmark: sales analysis and order entry on the LARGE demo company (PostgreSQL):
1,000,000 accounts, 2,000,000 opportunities, 1,000,000 orders with 5,000,000 lines.

    .venv/bin/python bench/sales.py [--requests 50] [--warmup 5] [--orders 100] [--seconds 30]

Builds what is missing first: the company (`jinggeng demo --scale large`, about 3 minutes), then
its sales (`jinggeng demo --scale large --only sales`). Starts the app as in production
(`jinggeng serve`: gunicorn, DEBUG off) on 127.0.0.1 and measures through the HTTP API, with
p50 / p95 next to the same SQL run directly (statements and parameters captured in-process, run with psycopg as the application runs them):

  * funnel, whole company       gm       GET /api/v1/pipeline/pipelines/{key_account}/funnel
  * funnel, one region          rm_east  the same in a regional manager's scope (华东大区)
  * receivables ageing          gm       GET /api/v1/orders/receivables/ageing?group_by=org_unit
  * kanban board of one team    sup_shanghai (team scope), and gm filtered to that team
                                         GET /api/v1/pipeline/pipelines/{key_account}/board

Goals: <= 1 s p95 for the company-wide figures, <= 100 ms for one team's board, and <= 3x the
direct SQL. Then order submission: a rep creates an order with 20 lines (POST /api/v1/orders)
and submits it (POST /api/v1/orders/{id}/submit); p50 / p95 of each request and of both, goal
p95 <= 100 ms per request; and the sustained rate (orders created and submitted per second)
with 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_accounts import Case, capture_sql, free_port, run_http, run_sql, start_server
from common import (
    ROOT,
    append_report,
    bench_url,
    ensure_large_demo,
    jinggeng,
    load_note,
    machine_line,
    percentile,
    setup_django,
)

GOAL_COMPANY_MS = 1000.0
GOAL_TEAM_MS = 100.0
GOAL_RATIO = 3.0
GOAL_SUBMIT_MS = 100.0
CLIENTS = 8
API = "/api/v1"


@dataclass
class ReadCase:
    case: Case
    goal_ms: float


@dataclass
class WriteTimes:
    create_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    both_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def order_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('orders_salesorder') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        found = conn.execute("SELECT count(*) FROM orders_salesorder").fetchone()
        return int(found[0]) if found else 0


def ensure_large_sales(url: str) -> float | None:
    """Add the demo sales when the large company has none; returns the build time in seconds."""
    if order_count(url) > 0:
        return None
    print("Adding the large demo sales (1,000,000 orders, 2,000,000 opportunities)…", flush=True)
    started = time.monotonic()
    jinggeng(["demo", "--scale", "large", "--only", "sales", "--skip-checks"], url)
    seconds = time.monotonic() - started
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return seconds


def read_cases() -> list[tuple[str, ReadCase]]:
    from jinggeng.org.models import OrgUnit
    from jinggeng.pipeline.models import Pipeline

    key = Pipeline.objects.get(code="key_account").pk
    team = OrgUnit.objects.get(code="T-SHANGHAI-1").pk
    funnel = f"{API}/pipeline/pipelines/{key}/funnel"
    board = f"{API}/pipeline/pipelines/{key}/board"
    ageing = f"{API}/orders/receivables/ageing?group_by=org_unit"
    return [
        ("gm", ReadCase(Case("gm", "funnel, whole company", [funnel]), GOAL_COMPANY_MS)),
        ("rm_east", ReadCase(Case("rm_east", "funnel, one region (华东大区)", [funnel]), GOAL_COMPANY_MS)),
        ("gm", ReadCase(Case("gm", "receivables ageing, whole company", [ageing]), GOAL_COMPANY_MS)),
        ("sup_shanghai", ReadCase(Case("sup_shanghai", "board, one team (own scope)", [board]), GOAL_TEAM_MS)),
        ("gm", ReadCase(Case("gm", "board, one team (org_unit filter)", [f"{board}?org_unit={team}"]), GOAL_TEAM_MS)),
    ]


def order_reps(count: int) -> list[str]:
    """``count`` reps who own a wholesaler or key account (each client orders as its own rep)."""
    from django.contrib.auth import get_user_model

    from jinggeng.customers.models import Account, AccountType

    owners = Account.objects.filter(
        account_type__in=[AccountType.WHOLESALER, AccountType.KEY_ACCOUNT], owner__employee__role__code="rep"
    ).values("owner_id")
    users = get_user_model().objects.filter(pk__in=owners).order_by("id")
    return list(users.values_list("username", flat=True)[:count])


def order_payload(username: str) -> tuple[int, list[dict[str, Any]]]:
    """An account of the rep that orders (a trade account) and 20 lines of different SKUs."""
    from django.contrib.auth import get_user_model

    from jinggeng.catalog.models import Sku
    from jinggeng.customers.models import Account, AccountType

    rep = get_user_model().objects.get(username=username)
    account = (
        Account.objects.filter(owner=rep, account_type__in=[AccountType.WHOLESALER, AccountType.KEY_ACCOUNT])
        .order_by("id")
        .first()
    )
    if account is None:
        account = Account.objects.filter(owner=rep).order_by("id").first()
    if account is None:
        raise SystemExit(f"{username} owns no account")
    skus = list(Sku.objects.order_by("id").values_list("code", flat=True)[:20])
    lines = [
        {"sku": code, "unit": "case", "quantity": str(2 + i % 5), "discount_percent": "0"}
        for i, code in enumerate(skus)
    ]
    return account.pk, lines


def submit_one(client: Any, account_id: int, lines: list[dict[str, Any]], times: WriteTimes) -> None:
    body = {"account_id": account_id, "notes": "bench", "lines": lines}
    started = time.perf_counter()
    response = client.post(f"{API}/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    created = time.perf_counter()
    if response.status_code != 201:
        times.errors.append(f"create {response.status_code}: {response.text[:200]}")
        return
    order = response.json()
    response = client.post(f"{API}/orders/{order['id']}/submit", json={"version": order["version"]})
    done = time.perf_counter()
    if response.status_code != 200:
        times.errors.append(f"submit {response.status_code}: {response.text[:200]}")
        return
    times.create_ms.append((created - started) * 1000)
    times.submit_ms.append((done - created) * 1000)
    times.both_ms.append((done - started) * 1000)


def run_orders(
    base: str, token: str, account_id: int, lines: list[dict[str, Any]], *, warmup: int, count: int
) -> WriteTimes:
    import httpx

    times = WriteTimes()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for _i in range(warmup):
            submit_one(client, account_id, lines, WriteTimes())
        for _i in range(count):
            submit_one(client, account_id, lines, times)
    return times


def run_concurrent(
    base: str, tokens: list[tuple[str, int, list[dict[str, Any]]]], *, seconds: float
) -> tuple[WriteTimes, float]:
    """``len(tokens)`` clients creating and submitting orders for ``seconds``; returns the times
    and the number of orders created and submitted per second."""
    import httpx

    results = [WriteTimes() for _t in tokens]
    start = threading.Barrier(len(tokens) + 1)
    deadline = [0.0]

    def client_loop(index: int) -> None:
        token, account_id, lines = tokens[index]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            submit_one(client, account_id, lines, WriteTimes())  # connection and caches warm
            start.wait()
            while time.perf_counter() < deadline[0]:
                submit_one(client, account_id, lines, results[index])

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds + 60  # set properly once everyone is ready
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = WriteTimes()
    for r in results:
        merged.create_ms += r.create_ms
        merged.submit_ms += r.submit_ms
        merged.both_ms += r.both_ms
        merged.errors += r.errors
    return merged, len(merged.both_ms) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per read figure")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--orders", type=int, default=100, help="orders created and submitted one after another")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the concurrent order run")
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    parser.add_argument("--reads-only", action="store_true", help="skip the order submission runs")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    url = bench_url()
    company_seconds = ensure_large_demo(url)
    sales_seconds = ensure_large_sales(url)
    setup_django(url)

    import httpx
    from django.contrib.auth import get_user_model
    from rich.console import Console
    from rich.table import Table

    from jinggeng.core.tokens import token_create
    from jinggeng.orders.models import OrderLine, SalesOrder
    from jinggeng.pipeline.models import Opportunity

    console = Console(width=160)
    counts = {
        "opportunities": Opportunity.objects.count(),
        "orders": SalesOrder.objects.count(),
        "order lines": OrderLine.objects.count(),
    }
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")

    def token(username: str) -> str:
        return token_create(actor=admin, user=user_model.objects.get(username=username), name="bench")[1]

    cases = read_cases()
    tokens = {name: token(name) for name in {user for user, _c in cases}}
    reps = order_reps(CLIENTS)
    writers = [(token(rep), *order_payload(rep)) for rep in reps]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = ROOT / "var" / "bench-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"Starting jinggeng serve on 127.0.0.1:{port} (log: {log})")
    server = start_server(url, port, log)
    try:
        for username, read in cases:
            case = read.case
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[username]}"}, timeout=120) as c:
                case.statements = [capture_sql(tokens[username], u) for u in case.urls]
                console.print(f"{username}: {case.name} — {len(case.statements[0])} SELECT statement(s) per request")
                run_http(c, case, warmup=args.warmup, requests=args.requests)
                run_sql(url, case, warmup=args.warmup, requests=args.requests)
        serial, loaded, rate = WriteTimes(), WriteTimes(), 0.0
        if not args.reads_only:
            token0, account0, lines0 = writers[0]
            console.print(f"{reps[0]}: {args.orders} orders of 20 lines, one after another")
            serial = run_orders(base, token0, account0, lines0, warmup=args.warmup, count=args.orders)
            console.print(f"{CLIENTS} clients creating and submitting orders for {args.seconds:.0f} s")
            loaded, rate = run_concurrent(base, writers, seconds=args.seconds)
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)

    misses: list[str] = []
    table = Table(title=f"Sales analysis API, {args.requests} requests each (ms)")
    for header in ("user", "figure", "queries", "p50", "p95", "SQL p50", "SQL p95", "p95 ratio", "goal"):
        table.add_column(header, justify="right" if header not in ("user", "figure", "goal") else "left")
    lines = [
        "| user | figure | queries | p50 ms | p95 ms | direct SQL p50 ms | direct SQL p95 ms | p95 / SQL p95 | goal |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for _username, read in cases:
        case = read.case
        p50, p95 = case.p("api", 50), case.p("api", 95)
        s50, s95 = case.p("sql", 50), case.p("sql", 95)
        ratio = p95 / s95 if s95 else float("inf")
        problems = []
        if p95 > read.goal_ms:
            problems.append(f"p95 {p95:.0f} ms > {read.goal_ms:.0f} ms")
        if ratio > GOAL_RATIO:
            problems.append(f"{ratio:.1f}x direct SQL > {GOAL_RATIO:.0f}x")
        verdict = f"<= {read.goal_ms:.0f} ms: " + ("met" if not problems else "MISSED: " + "; ".join(problems))
        if problems:
            misses.append(f"{case.user} / {case.name}: " + "; ".join(problems))
        row = (
            case.user,
            case.name,
            str(len(case.statements[0])),
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{s50:.1f}",
            f"{s95:.1f}",
            f"{ratio:.1f}x",
            verdict,
        )
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    console.print(table)

    orders_table = Table(title="Order submission, 20 lines (ms)")
    for header in ("run", "orders", "request", "p50", "p95", "goal"):
        orders_table.add_column(header, justify="right" if header in ("orders", "p50", "p95") else "left")
    order_lines = [
        "| run | orders | request | p50 ms | p95 ms | goal |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for run_name, times in (("one client", serial), (f"{CLIENTS} clients", loaded)):
        for request, values in (
            ("POST /orders (20 lines)", times.create_ms),
            ("POST /orders/{id}/submit", times.submit_ms),
            ("both", times.both_ms),
        ):
            if not values:
                continue
            p50, p95 = percentile(values, 50), percentile(values, 95)
            goal = ""
            if run_name == "one client" and request != "both":
                goal = f"p95 <= {GOAL_SUBMIT_MS:.0f} ms: " + ("met" if p95 <= GOAL_SUBMIT_MS else "MISSED")
                if p95 > GOAL_SUBMIT_MS:
                    misses.append(f"order submission / {request}: p95 {p95:.0f} ms > {GOAL_SUBMIT_MS:.0f} ms")
            row = (run_name, str(len(values)), request, f"{p50:.1f}", f"{p95:.1f}", goal)
            orders_table.add_row(*row)
            order_lines.append("| " + " | ".join(row) + " |")
    console.print(orders_table)
    errors = serial.errors + loaded.errors
    rate_line = (
        f"Sustained rate with {CLIENTS} concurrent clients (each its own rep and account): "
        f"{rate:.1f} orders of 20 lines created and submitted per second over {args.seconds:.0f} s "
        f"({len(loaded.both_ms)} orders, {len(loaded.errors)} errors)."
    )
    console.print(rate_line)
    for error in errors[:5]:
        console.print(f"  error: {error}")
    summary = "Goals: " + ("all met." if not misses else f"{len(misses)} missed.")
    console.print(summary)
    for miss in misses:
        console.print(f"  missed: {miss}")

    built = []
    if company_seconds is not None:
        built.append(f"the company was built for this run in {company_seconds:.0f} s")
    if sales_seconds is not None:
        built.append(f"its sales were added in {sales_seconds:.0f} s (`jinggeng demo --scale large --only sales`)")
    build = ("; ".join(built) + ".") if built else "The large demo company and its sales were already in the database."
    body = "\n".join(
        [
            machine_line(url),
            load_note(load_at_start),
            "",
            ", ".join(f"{n:,} {k}" for k, n in counts.items())
            + f". {build[0].upper()}{build[1:]} Server: `jinggeng serve` (gunicorn, 2 workers x 4 threads, DEBUG off). "
            f"{args.warmup} warm-up then {args.requests} measured requests per figure. `gm` sees the whole company, "
            "`rm_east` the 华东大区 subtree, `sup_shanghai` one team (上海一组). Direct SQL: the SELECT statements "
            "the same request runs with their parameters, captured in-process and run with psycopg's ClientCursor, "
            "the way the application binds them.",
            "",
            *lines,
            "",
            *order_lines,
            "",
            rate_line,
            "",
            summary,
            *[f"- missed: {m}" for m in misses],
        ]
    )
    if not args.no_report:
        append_report("Sales analysis and order entry (bench/sales.py)", body)


if __name__ == "__main__":
    main()
