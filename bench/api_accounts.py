"""Benchmark: the accounts API on the LARGE demo company (1,000,000 accounts, PostgreSQL).

    .venv/bin/python bench/api_accounts.py [--requests 200] [--warmup 20]

Starts the app as in production (`jinggeng serve`: gunicorn, DEBUG off) on 127.0.0.1 and a free
port, creates API tokens for a regional manager (rm_east, subtree scope) and the general
manager (gm, company-wide), and measures p50 / p95 latency for (one keep-alive connection of
the standard library's http.client, whose own cost is about 0.1 ms a request; httpx's is 0.7-1 ms):

  * list, first page            GET /api/v1/customers/accounts?limit=50
  * list, page 51               the page after following next_cursor 50 times
  * search by name prefix       ?q=<city + district>  (a different prefix each request)
  * filter division + grade     ?division=<county>&grade=A  (a different county each request)
  * account detail              GET /api/v1/customers/accounts/{id}  (a different account each request)

Next to each figure: the same SQL run directly with psycopg. The statements and their
parameters are captured from the same request run in-process (django.test.Client with an
execute wrapper), then run with psycopg over the same number of repetitions, parameters bound
on the client (psycopg's ClientCursor), as the application binds them. Goals: p95 <= 50 ms and <= 3x the direct SQL.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    ROOT,
    HttpClient,
    append_report,
    bench_url,
    ensure_large_demo,
    load_note,
    machine_line,
    percentile,
    server_env,
    setup_django,
)

GOAL_P95_MS = 50.0
GOAL_RATIO = 3.0
API = "/api/v1/customers/accounts"


@dataclass
class Case:
    user: str
    name: str
    urls: list[str]
    api_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statements: list[list[tuple[str, tuple[object, ...]]]] = field(default_factory=list)

    def p(self, which: str, pct: float) -> float:
        return percentile(self.api_ms if which == "api" else self.sql_ms, pct)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(
        [PYTHON, "-m", "jinggeng", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=server_env(url),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}")
        with contextlib.suppress(OSError), HttpClient(f"http://127.0.0.1:{port}", timeout=2) as probe:
            probe.get(API)
            return proc
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the server did not start in time; see {log}")


def scope_params(username: str) -> dict[str, list[str]]:
    """Search prefixes, counties and account ids inside the user's scope."""
    from django.contrib.auth import get_user_model

    from jinggeng.customers.selectors import scoped_accounts
    from jinggeng.demo import data
    from jinggeng.demo.builder import short_district
    from jinggeng.org.models import Division

    user = get_user_model().objects.get(username=username)
    qs = scoped_accounts(user)
    cities = {c.city_code: c for c in data.CITIES}
    city_codes = sorted(set(qs.order_by().values_list("city_code", flat=True).distinct()[:40]))
    prefixes: list[str] = []
    counties: list[str] = []
    for code in city_codes:
        city = cities.get(code)
        if city is None:
            continue
        for div_code, name in Division.objects.filter(parent_id=code, name__in=city.districts).values_list(
            "code", "name"
        ):
            prefixes.append(f"{city.name}{short_district(name)}")
            counties.append(div_code)
    # Accounts spread over the scope: every n-th id.
    total = qs.count()
    step = max(1, total // 250)
    ids = [str(i) for i in qs.order_by("id").values_list("id", flat=True)[::step][:250]]
    return {"prefixes": prefixes, "counties": counties, "ids": ids}


def cases_for(username: str, client: HttpClient) -> list[Case]:
    params = scope_params(username)
    first = f"{API}?limit=50"
    # Follow the cursor 50 pages down.
    cursor = None
    for _i in range(50):
        query = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        body = client.get(API, params=query).raise_for_status().json()
        cursor = body["next_cursor"]
        if not cursor:
            break
    deep = f"{API}?{urlencode({'limit': 50, 'cursor': cursor})}" if cursor else first
    search = [f"{API}?{urlencode({'q': p, 'limit': 50})}" for p in params["prefixes"]]
    filters = [f"{API}?{urlencode({'division': c, 'grade': 'A', 'limit': 50})}" for c in params["counties"]]
    details = [f"{API}/{i}" for i in params["ids"]]
    return [
        Case(username, "list, first page", [first]),
        Case(username, "list, page 51 (cursor)", [deep]),
        Case(username, "search by name prefix", search),
        Case(username, "filter division + grade", filters),
        Case(username, "account detail", details),
    ]


def capture_sql(token: str, url: str) -> list[tuple[str, tuple[object, ...]]]:
    """The SELECT statements Django runs for ``url`` (in-process, same settings), each with its
    parameters, so the direct run binds them the way the application does (client-side, as
    Django's default psycopg cursor)."""
    from django.db import connection
    from django.test import Client

    client = Client()
    # One request first, so per-process caches (token, scope) are as warm as in the server.
    client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    captured: list[tuple[str, tuple[object, ...]]] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    if response.status_code != 200:
        raise SystemExit(f"in-process GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return captured


def run_http(client: HttpClient, case: Case, *, warmup: int, requests: int) -> None:
    urls = itertools.cycle(case.urls)
    for _i in range(warmup):
        client.get(next(urls)).raise_for_status()
    urls = itertools.cycle(case.urls)
    for _i in range(requests):
        target = next(urls)
        started = time.perf_counter()
        response = client.get(target)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        case.api_ms.append(elapsed)


def run_sql(dsn: str, case: Case, *, warmup: int, requests: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        batches = itertools.cycle(case.statements)
        for _i in range(warmup):
            for sql, params in next(batches):
                cur.execute(sql, params)
                cur.fetchall()
        batches = itertools.cycle(case.statements)
        for _i in range(requests):
            statements = next(batches)
            started = time.perf_counter()
            for sql, params in statements:
                cur.execute(sql, params)
                cur.fetchall()
            case.sql_ms.append((time.perf_counter() - started) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    url = bench_url()
    build_seconds = ensure_large_demo(url)
    setup_django(url)

    from django.contrib.auth import get_user_model
    from rich.console import Console
    from rich.table import Table

    from jinggeng.core.tokens import token_create
    from jinggeng.customers.models import Account

    console = Console(width=150)
    accounts = Account.objects.count()
    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    tokens = {
        name: token_create(actor=admin, user=user_model.objects.get(username=name), name="bench")[1]
        for name in ("rm_east", "gm")
    }

    port = free_port()
    log = ROOT / "var" / "bench-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"Starting jinggeng serve on 127.0.0.1:{port} (log: {log})")
    server = start_server(url, port, log)
    cases: list[Case] = []
    try:
        for username, token in tokens.items():
            with HttpClient(
                f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                user_cases = cases_for(username, client)
                for case in user_cases:
                    case.statements = [capture_sql(token, u) for u in case.urls]
                    console.print(
                        f"{username}: {case.name} — {len(case.urls)} URL(s), "
                        f"{len(case.statements[0])} SELECT statement(s) per request"
                    )
                    run_http(client, case, warmup=args.warmup, requests=args.requests)
                    run_sql(url, case, warmup=args.warmup, requests=args.requests)
                cases.extend(user_cases)
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)

    table = Table(title=f"Accounts API, {accounts:,} accounts, {args.requests} requests each (ms)")
    for header in ("user", "endpoint", "queries", "p50", "p95", "SQL p50", "SQL p95", "p95 ratio", "goal"):
        table.add_column(header, justify="right" if header not in ("user", "endpoint", "goal") else "left")
    lines = [
        "| user | endpoint | queries | p50 ms | p95 ms | direct SQL p50 ms | direct SQL p95 ms | p95 / SQL p95 | goal |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    misses: list[str] = []
    for case in cases:
        p50, p95 = case.p("api", 50), case.p("api", 95)
        s50, s95 = case.p("sql", 50), case.p("sql", 95)
        ratio = p95 / s95 if s95 else float("inf")
        problems = []
        if p95 > GOAL_P95_MS:
            problems.append(f"p95 {p95:.1f} ms > {GOAL_P95_MS:.0f} ms")
        if ratio > GOAL_RATIO:
            problems.append(f"{ratio:.1f}x direct SQL > {GOAL_RATIO:.0f}x")
        verdict = "met" if not problems else "MISSED: " + "; ".join(problems)
        if problems:
            misses.append(f"{case.user} / {case.name}: " + "; ".join(problems))
        queries = str(len(case.statements[0])) if case.statements else "?"
        row = (
            case.user,
            case.name,
            queries,
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
    summary = f"Goals: p95 <= {GOAL_P95_MS:.0f} ms and <= {GOAL_RATIO:.0f}x direct SQL — " + (
        "all met." if not misses else f"{len(misses)} missed."
    )
    console.print(summary)
    for miss in misses:
        console.print(f"  missed: {miss}")

    build = (
        f"The large demo company was built for this run in {build_seconds:.0f} s (`jinggeng demo --scale large`, COPY)."
        if build_seconds is not None
        else "The large demo company was already in the database (built by an earlier run)."
    )
    body = "\n".join(
        [
            machine_line(url),
            load_note(load_at_start),
            "",
            f"{accounts:,} accounts. {build} Server: `jinggeng serve` (gunicorn, 2 workers x 4 threads, DEBUG off), "
            f"one keep-alive `http.client` connection, {args.warmup} warm-up then {args.requests} measured requests per row. "
            "`rm_east` is a regional manager (subtree scope: 华东大区); `gm` sees the whole company. "
            "Direct SQL: the SELECT statements the same request runs with their parameters, captured in-process and "
            "run with psycopg's ClientCursor, the way the application binds them.",
            "",
            *lines,
            "",
            summary,
            *[f"- missed: {m}" for m in misses],
        ]
    )
    if not args.no_report:
        append_report("Accounts API (bench/api_accounts.py)", body)


if __name__ == "__main__":
    main()
