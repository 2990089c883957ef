"""Benchmark: field execution on the LARGE demo company (PostgreSQL, 10,000,000 visits).

    .venv/bin/python bench/field.py [--requests 200] [--warmup 20] [--no-report]

Needs the large demo company with its field part in the bench database (BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/jinggeng_bench). When the accounts are there but no
visits, it adds them first (`jinggeng demo --scale large --only field`, about 10 M visits).

Starts the app as in production (`jinggeng serve`: gunicorn, DEBUG off) and measures with httpx:

  * check-in          POST /api/v1/field/visits/{id}/check-in — a different planned visit of
                      today per request, by its own rep (API token), with an Idempotency-Key;
                      goal p95 <= 100 ms
  * coverage list     GET /api/v1/insights/coverage for the general manager (the whole company):
                      every page walked (limit 200), the per-area summary, the first page;
                      goal: the whole list <= 2 s
  * 3E card           GET /api/v1/insights/3e?rep=<id> for one rep (a different rep each request),
                      as the general manager: yesterday, the last 7 days and the last 31 days;
                      goal p95 <= 100 ms

Next to each figure: the SQL of the same request run directly with psycopg (statements and
their parameters captured from the request run in-process, bound on the client as the
application binds them; a check-in's statements are replayed in a transaction that is rolled
back).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_accounts import free_port, start_server
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

GOAL_CHECKIN_P95_MS = 100.0
GOAL_COVERAGE_S = 2.0
GOAL_3E_P95_MS = 100.0
REPS_FOR_CHECKIN = 25


Statement = tuple[str, Any, bool]  # SQL, parameters, executemany


@dataclass
class Case:
    name: str
    goal_ms: float
    api_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statements: list[list[Statement]] = field(default_factory=list)
    note: str = ""

    def p(self, which: str, pct: float) -> float:
        values = self.api_ms if which == "api" else self.sql_ms
        return percentile(values, pct) if values else float("nan")


def visit_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('field_visit') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        # The planner's estimate is enough to know whether the field part is there.
        found = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'field_visit'").fetchone()
        exact = conn.execute("SELECT EXISTS (SELECT 1 FROM field_visit)").fetchone()
        return max(int(found[0]) if found else 0, 1 if exact and exact[0] else 0)


def ensure_field(url: str) -> float | None:
    """Build the field part when missing; the seconds it took, or None."""
    ensure_large_demo(url)
    if visit_count(url) > 0:
        return None
    print("Adding the field part to the large demo company (about 10,000,000 visits)…", flush=True)
    started = time.monotonic()
    jinggeng(["demo", "--scale", "large", "--only", "field", "--skip-checks"], url)
    seconds = time.monotonic() - started
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in (
            "field_visit",
            "field_visitflag",
            "field_outletcoverage",
            "field_dailyreport",
            "field_visitaudit",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")
    return seconds


def checkin_targets(needed: int) -> list[tuple[int, int, float, float]]:
    """(visit, rep, outlet latitude, longitude) of planned visits of today, a few reps' worth;
    when today has too few (a Sunday, or the bench runs on another day than the build), the
    reps' routes are planned for today by the product's own `visits_plan_day`."""
    from django.db.models import Count
    from django.utils import timezone

    from jinggeng.field.models import Route, Visit, VisitStatus

    today = timezone.localdate()
    planned = Visit.objects.filter(visit_date=today, status=VisitStatus.PLANNED, check_in_at__isnull=True)
    per_rep = list(
        planned.values("rep_id").annotate(n=Count("id")).filter(n__gte=5).order_by("rep_id")[:REPS_FOR_CHECKIN]
    )
    if sum(r["n"] for r in per_rep) < needed:
        from jinggeng.field.services.routes import visits_plan_day

        reps = list(
            Route.objects.filter(active=True, weekdays__contains=[today.isoweekday()])
            .order_by("rep_id")
            .values_list("rep_id", flat=True)
            .distinct()[:REPS_FOR_CHECKIN]
        )
        if not reps:
            raise SystemExit(f"no route runs on {today} (weekday {today.isoweekday()}): nothing to check in")
        visits_plan_day(day=today, reps=reps)
        per_rep = list(
            planned.values("rep_id").annotate(n=Count("id")).filter(n__gte=1).order_by("rep_id")[:REPS_FOR_CHECKIN]
        )
    reps = [r["rep_id"] for r in per_rep]
    rows = list(
        planned.filter(rep_id__in=reps)
        .order_by("rep_id", "planned_position", "id")
        .values_list("id", "rep_id", "account__latitude", "account__longitude")
    )
    if len(rows) < needed:
        raise SystemExit(f"only {len(rows)} planned visits today for {len(reps)} reps; {needed} needed")
    # Interleave the reps so that consecutive requests come from different reps.
    by_rep: dict[int, list[tuple[int, int, float, float]]] = {}
    for vid, rep, lat, lng in rows:
        by_rep.setdefault(rep, []).append((vid, rep, float(lat or 0), float(lng or 0)))
    mixed = [v for group in itertools.zip_longest(*by_rep.values()) for v in group if v is not None]
    return mixed[:needed]


def checkin_body(lat: float, lng: float) -> dict[str, Any]:
    from django.utils import timezone

    return {
        "latitude": round(lat + 0.0001, 6),
        "longitude": round(lng + 0.0001, 6),
        "accuracy_m": 12.0,
        "device_at": timezone.now().isoformat(),
    }


def capture(token: str, method: str, url: str, body: dict[str, Any] | None = None) -> list[Statement]:
    """The statements Django runs for one request (in-process, same settings), each with its
    parameters, so the direct run binds them as the application does (client-side). A POST
    runs in a transaction rolled back afterwards, so nothing changes."""
    from django.db import connection, transaction
    from django.test import Client

    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    skip = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    captured: list[Statement] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if not sql.lstrip().upper().startswith(skip):
            captured.append((sql, list(params) if many else tuple(params or ()), bool(many)))
        return execute(sql, params, many, context)

    if method == "GET":
        client.get(url, headers=headers)  # warm per-process caches first
        with connection.execute_wrapper(record):
            response = client.get(url, headers=headers)
    else:

        class Rollback(Exception):
            pass

        with contextlib.suppress(Rollback), transaction.atomic():
            with connection.execute_wrapper(record):
                response = client.post(
                    url,
                    data=body,
                    content_type="application/json",
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
            raise Rollback
    if response.status_code not in (200, 201):
        raise SystemExit(f"in-process {method} {url} answered {response.status_code}: {response.content[:300]!r}")
    return captured


def run_sql(dsn: str, case: Case, *, warmup: int, requests: int, rollback: bool) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=not rollback) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        if rollback:
            conn.commit()
        batches = itertools.cycle(case.statements)
        for n in range(warmup + requests):
            statements = next(batches)
            started = time.perf_counter()
            for sql, params, many in statements:
                if many:
                    cur.executemany(sql, params)
                else:
                    cur.execute(sql, params)
                if cur.description is not None:
                    cur.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            if rollback:
                conn.rollback()
            if n >= warmup:
                case.sql_ms.append(elapsed)


def timed_get(client: Any, url: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--walks", type=int, default=5, help="how many times the whole coverage list is walked")
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    url = bench_url()
    build_seconds = ensure_field(url)
    setup_django(url)

    import httpx
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.utils import timezone
    from rich.console import Console
    from rich.table import Table

    from jinggeng.core.tokens import token_create
    from jinggeng.field.models import DailyReport, OutletCoverage, Visit

    console = Console(width=160)
    users = get_user_model()
    admin = users.objects.get(username="admin")
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    visits = Visit.objects.count()
    coverage_rows = OutletCoverage.objects.count()
    overdue = OutletCoverage.objects.filter(due_on__lt=today).count()
    console.print(f"{visits:,} visits, {coverage_rows:,} coverage rows ({overdue:,} overdue).")

    gm_token = token_create(actor=admin, user=users.objects.get(username="gm"), name="bench-field")[1]
    targets = checkin_targets(args.warmup + args.requests + 1)
    rep_tokens = {
        rep: token_create(actor=admin, user=users.objects.get(pk=rep), name="bench-field")[1]
        for rep in sorted({t[1] for t in targets})
    }
    card_reps = list(
        DailyReport.objects.filter(day=yesterday)
        .values("rep_id")
        .annotate(n=Count("id"))
        .order_by("rep_id")
        .values_list("rep_id", flat=True)[:: max(1, DailyReport.objects.filter(day=yesterday).count() // 50)][:50]
    )
    if not card_reps:
        raise SystemExit(f"no daily reports on {yesterday}: is the field part built up to yesterday?")

    # Statements of each request, captured in-process (a check-in of the spare target, rolled back).
    spare = targets.pop()
    checkin = Case("check-in (POST …/check-in)", GOAL_CHECKIN_P95_MS)
    checkin.statements = [
        capture(
            rep_tokens[spare[1]],
            "POST",
            f"/api/v1/field/visits/{spare[0]}/check-in",
            checkin_body(spare[2], spare[3]),
        )
    ]
    card_ranges = {"1 day (yesterday)": 0, "7 days": 6, "31 days": 30}
    cards: dict[str, tuple[Case, list[str]]] = {}
    for label, back in card_ranges.items():
        urls = [
            "/api/v1/insights/3e?"
            + urlencode({"rep": rep, "date_from": yesterday - dt.timedelta(days=back), "date_to": yesterday})
            for rep in card_reps
        ]
        case = Case(f"3E card, one rep, {label}", GOAL_3E_P95_MS)
        case.statements = [capture(gm_token, "GET", u) for u in urls[:10]]
        cards[label] = (case, urls)
    first_page = "/api/v1/insights/coverage?limit=200"
    areas_url = "/api/v1/insights/coverage/areas"
    cov_first = Case("coverage, first page (200 rows)", GOAL_COVERAGE_S * 1000)
    cov_first.statements = [capture(gm_token, "GET", first_page)]
    cov_areas = Case("coverage, per-area summary", GOAL_COVERAGE_S * 1000)
    cov_areas.statements = [capture(gm_token, "GET", areas_url)]
    cov_walk = Case("coverage, whole company list (every page)", GOAL_COVERAGE_S * 1000)

    port = free_port()
    log = ROOT / "var" / "bench-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"Starting jinggeng serve on 127.0.0.1:{port} (log: {log})")
    server = start_server(url, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        # Check-in: every request a different planned visit, by its own rep.
        clients = {
            rep: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=30)
            for rep, tok in rep_tokens.items()
        }
        try:
            for n, (vid, rep, lat, lng) in enumerate(targets):
                started = time.perf_counter()
                response = clients[rep].post(
                    f"/api/v1/field/visits/{vid}/check-in",
                    json=checkin_body(lat, lng),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"check-in {vid} answered {response.status_code}: {response.text[:300]}")
                if n >= args.warmup:
                    checkin.api_ms.append(elapsed)
        finally:
            for c in clients.values():
                c.close()
        checkin.note = f"{len(checkin.api_ms)} visits of {len(rep_tokens)} reps"

        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {gm_token}"}, timeout=60) as client:
            for case, urls in cards.values():
                cycle = itertools.cycle(urls)
                for n in range(args.warmup + args.requests):
                    elapsed, _body = timed_get(client, next(cycle))
                    if n >= args.warmup:
                        case.api_ms.append(elapsed)
                case.note = f"{len(urls)} reps, as gm"
            for case, target in ((cov_first, first_page), (cov_areas, areas_url)):
                for n in range(args.warmup + args.requests):
                    elapsed, _body = timed_get(client, target)
                    if n >= args.warmup:
                        case.api_ms.append(elapsed)
                case.note = "as gm"
            rows = pages = 0
            for n in range(args.walks + 1):
                cursor: str | None = None
                total = 0.0
                rows = pages = 0
                while True:
                    query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
                    elapsed, body = timed_get(client, "/api/v1/insights/coverage?" + urlencode(query))
                    total += elapsed
                    rows += len(body["items"])
                    pages += 1
                    cursor = body["next_cursor"]
                    if not cursor:
                        break
                if n:
                    cov_walk.api_ms.append(total)
            cov_walk.note = f"{rows:,} rows in {pages} pages, as gm; {args.walks} walks"
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)

    run_sql(url, checkin, warmup=5, requests=50, rollback=True)
    for case, _urls in cards.values():
        run_sql(url, case, warmup=args.warmup, requests=args.requests, rollback=False)
    for case in (cov_first, cov_areas):
        run_sql(url, case, warmup=args.warmup, requests=args.requests, rollback=False)

    cases = [checkin, *(c for c, _u in cards.values()), cov_areas, cov_first, cov_walk]
    table = Table(title=f"Field, {visits:,} visits ({args.requests} requests per row; ms)")
    for header in ("measure", "queries", "p50", "p95", "SQL p50", "SQL p95", "goal", "note"):
        table.add_column(
            header, justify="right" if header in ("queries", "p50", "p95", "SQL p50", "SQL p95") else "left"
        )
    lines = [
        "| measure | queries | p50 ms | p95 ms | direct SQL p50 ms | direct SQL p95 ms | goal | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    misses: list[str] = []
    for case in cases:
        p50, p95 = case.p("api", 50), case.p("api", 95)
        s50, s95 = case.p("sql", 50), case.p("sql", 95)
        goal = f"p95 <= {case.goal_ms:.0f} ms"
        verdict = "met" if p95 <= case.goal_ms else f"MISSED ({goal})"
        if p95 > case.goal_ms:
            misses.append(f"{case.name}: p95 {p95:.1f} ms > {case.goal_ms:.0f} ms")
        queries = str(len(case.statements[0])) if case.statements else "-"
        row = (
            case.name,
            queries,
            f"{p50:.1f}",
            f"{p95:.1f}",
            "-" if not case.sql_ms else f"{s50:.1f}",
            "-" if not case.sql_ms else f"{s95:.1f}",
            f"{goal}: {verdict}",
            case.note,
        )
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    console.print(table)
    summary = (
        f"Goals: check-in p95 <= {GOAL_CHECKIN_P95_MS:.0f} ms, coverage list of the whole company <= "
        f"{GOAL_COVERAGE_S:.0f} s, one rep's 3E card p95 <= {GOAL_3E_P95_MS:.0f} ms — "
        + ("all met." if not misses else f"{len(misses)} missed.")
    )
    console.print(summary)
    for miss in misses:
        console.print(f"  missed: {miss}")

    build = (
        f"The field part was added for this run in {build_seconds:.0f} s (`jinggeng demo --scale large --only field`)."
        if build_seconds is not None
        else "The field part was already in the database."
    )
    body = "\n".join(
        [
            machine_line(url),
            load_note(load_at_start),
            "",
            f"{visits:,} visits, {coverage_rows:,} outlets on routes ({overdue:,} overdue). {build} "
            "Server: `jinggeng serve` (gunicorn, DEBUG off), httpx, one request at a time. Check-in: a "
            "different planned visit of today per request, by its own rep's token, with an Idempotency-Key; "
            "its direct SQL replays the captured statements (reads and writes) in a transaction rolled back. "
            "Coverage and 3E as `gm` (whole company scope).",
            "",
            *lines,
            "",
            summary,
            *[f"- missed: {m}" for m in misses],
        ]
    )
    if not args.no_report:
        append_report("Field execution (bench/field.py)", body)


if __name__ == "__main__":
    main()
