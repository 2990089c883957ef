"""Benchmark: importing 100,000 accounts from .xlsx (`jinggeng import accounts FILE --as admin`).

    .venv/bin/python bench/import_accounts.py [--rows 100000] [--database-url URL] [--keep]

Generates a spreadsheet of valid accounts that reference real division codes, owners and org
units of the demo company in the target database, then runs the import in a subprocess and
measures its wall time and peak memory (the child's maximum resident set size, from wait4).
Goals: <= 60 s and <= 500 MB.

The default database is the PostgreSQL bench database with the LARGE demo company
(BENCH_DATABASE_URL); ``--database-url sqlite:///path`` runs against SQLite with the small demo.
The imported accounts are deleted afterwards so the bench database keeps its 1,000,000
(``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    ROOT,
    append_report,
    bench_url,
    ensure_large_demo,
    load_note,
    machine_line,
    server_env,
    setup_django,
)

GOAL_SECONDS = 60.0
GOAL_MB = 500.0

HEADERS = [
    "客户名称",
    "简称",
    "客户类型",
    "渠道类型",
    "等级",
    "信用评级",
    "信用额度",
    "税号",
    "电话",
    "地址",
    "行政区划代码",
    "纬度",
    "经度",
    "负责人",
    "所属组织编码",
    "状态",
    "标签",
    "备注",
    "营业面积",
    "冷柜数量",
    "门店类型",
]


def generate(path: Path, rows: int, seed: int) -> None:
    """Write ``rows`` valid accounts to ``path`` (xlsx, write-only mode)."""
    from openpyxl import Workbook

    from jinggeng.demo import data
    from jinggeng.demo.builder import short_district, uscc
    from jinggeng.org.models import Division, Employee

    rng = random.Random(seed)
    cities = {f"A-{c.slug.upper()}": c for c in data.CITIES}
    reps = list(
        Employee.objects.filter(role__code="rep", status="active")
        .select_related("user", "org_unit__parent")
        .order_by("id")
        .values_list("user__username", "org_unit__code", "org_unit__parent__code")
    )
    if not reps:
        raise SystemExit("no reps in the database: build the demo company first")
    counties: dict[str, list[tuple[str, str]]] = {}
    for city in data.CITIES:
        counties[city.slug] = list(
            Division.objects.filter(parent_id=city.city_code, name__in=city.districts).values_list("code", "name")
        )
    channels = [code for code, _w, _s in data.OUTLET_CHANNELS]
    weights = [w for _c, w, _s in data.OUTLET_CHANNELS]
    suffixes = {code: s or ("超市",) for code, _w, s in data.OUTLET_CHANNELS}

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("客户")
    ws.append(HEADERS)
    used: set[str] = set()
    for i in range(rows):
        username, team_code, area_code = rng.choice(reps)
        city = cities[area_code]
        division, county = rng.choice(counties[city.slug])
        district = short_district(county)
        roll = rng.random()
        word = rng.choice(data.SHOP_WORDS)
        road = rng.choice(data.ROADS)
        area = freezers = store_type = ""
        credit_rating = credit_limit = tax_id = ""
        if roll < 0.02:
            kind, channel = "经销商", ""
            name = f"{city.name}{word}{rng.choice(('商贸有限公司', '食品有限公司', '贸易有限公司'))}"
            credit_rating = rng.choice(("AAA", "AA", "A", "B"))
            credit_limit = str(rng.randrange(50, 501) * 10_000)
            tax_id = uscc("91" + division + "".join(rng.choice("0123456789") for _ in range(9)))
        elif roll < 0.12:
            kind, channel = "二批", "wholesale_market"
            name = f"{city.name}{county}{word}{rng.choice(('食品批发部', '副食批发部', '饮料批发中心'))}"
        elif roll < 0.13:
            kind, channel = "企业客户", "enterprise"
            name = f"{city.name}{word}{rng.choice(('科技', '物流', '医药', '实业'))}有限公司"
            tax_id = uscc("91" + division + "".join(rng.choice("0123456789") for _ in range(9)))
        else:
            kind = "终端"
            (channel,) = rng.choices(channels, weights)
            name = f"{city.name}{district}{word}{rng.choice(suffixes[channel])}"
            area = str(rng.randrange(15, 400, 5))
            freezers = str(rng.randint(0, 4))
            store_type = rng.choice(("社区店", "商圈店", "校园店", "交通枢纽店"))
        name = f"{name}（{road}店）"
        while name in used:
            name = f"{name[:-1]}{rng.randint(2, 99)}）"
        used.add(name)
        grade = rng.choices("ABC", (2, 3, 5))[0]
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        lat = city.lat + rng.uniform(-0.12, 0.12)
        lon = city.lon + rng.uniform(-0.12, 0.12)
        ws.append(
            [
                name,
                word,
                kind,
                channel,
                grade,
                credit_rating,
                credit_limit,
                tax_id,
                phone,
                f"{city.name}市{county}{road}{rng.randint(1, 999)}号",
                division,
                f"{lat:.6f}",
                f"{lon:.6f}",
                username,
                team_code,
                "活跃",
                "新开户" if i % 20 == 0 else "",
                "",
                area,
                freezers,
                store_type,
            ]
        )
    wb.save(path)


def run_import(path: Path, url: str) -> tuple[float, float, int, str]:
    """Run the import in a child; wall seconds, peak RSS in MB, exit code, output."""
    log = path.with_suffix(".log")
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [PYTHON, "-m", "jinggeng", "import", "accounts", str(path), "--as", "admin", "--no-progress"],
            cwd=ROOT,
            env=server_env(url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode, log.read_text(encoding="utf-8", errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default="", help="default: BENCH_DATABASE_URL (PostgreSQL)")
    parser.add_argument("--keep", action="store_true", help="keep the imported accounts")
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    url = args.database_url or bench_url()
    sqlite = url.startswith("sqlite")
    if not sqlite:
        ensure_large_demo(url)
    setup_django(url)

    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max

    from jinggeng.core.models import AuditLog
    from jinggeng.customers.models import Account

    if sqlite:
        call_command("migrate", verbosity=0, skip_checks=True)
        if not Account.objects.exists():
            call_command("demo", scale="small", skip_checks=True)
    backend = "SQLite" if sqlite else "PostgreSQL"
    existing = Account.objects.count()

    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"accounts-{args.rows}-{backend.lower()}.xlsx"
    print(f"Generating {path} ({args.rows:,} rows)…", flush=True)
    started = time.monotonic()
    generate(path, args.rows, args.seed)
    print(f"  generated in {time.monotonic() - started:.1f} s, {path.stat().st_size / 1e6:.1f} MB", flush=True)

    top_account = Account.objects.aggregate(m=Max("id"))["m"] or 0
    top_audit = AuditLog.objects.aggregate(m=Max("id"))["m"] or 0
    connection.close()
    print(f"Importing into {backend} ({existing:,} accounts already there)…", flush=True)
    seconds, peak_mb, code, output = run_import(path, url)
    summary_line = next((line for line in output.splitlines() if "新建" in line), output.strip()[-300:])
    imported = Account.objects.filter(id__gt=top_account).count()
    print(output.strip()[-1500:])

    problems = []
    if code != 0:
        problems.append(f"the import failed (exit code {code})")
    if imported != args.rows:
        problems.append(f"{imported:,} of {args.rows:,} rows imported")
    if seconds > GOAL_SECONDS:
        problems.append(f"{seconds:.1f} s > {GOAL_SECONDS:.0f} s")
    if peak_mb > GOAL_MB:
        problems.append(f"peak {peak_mb:.0f} MB > {GOAL_MB:.0f} MB")
    verdict = "all met" if not problems else "MISSED: " + "; ".join(problems)
    print(
        f"\n{backend}: {args.rows:,} rows, wall {seconds:.1f} s, peak RSS {peak_mb:.0f} MB, "
        f"{imported:,} accounts created — goals (<= {GOAL_SECONDS:.0f} s, <= {GOAL_MB:.0f} MB): {verdict}"
    )

    if not args.keep and imported:
        print("Removing the imported accounts…", flush=True)
        Account.objects.filter(id__gt=top_account).delete()
        AuditLog.objects.filter(id__gt=top_audit).delete()

    body = "\n".join(
        [
            machine_line(url),
            load_note(load_at_start),
            "",
            f"Target: {backend} holding {existing:,} accounts (the {'small' if sqlite else 'large'} demo company). "
            f"File: {args.rows:,} valid rows (.xlsx, {path.stat().st_size / 1e6:.1f} MB) referencing real division codes, "
            "owners and org units. Command: `jinggeng import accounts FILE --as admin` (atomic mode) in a subprocess; "
            "peak memory is the child's maximum resident set size.",
            "",
            "| database | rows | wall time s | peak RSS MB | accounts created | goal |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
            f"| {backend} | {args.rows:,} | {seconds:.1f} | {peak_mb:.0f} | {imported:,} | {verdict} |",
            "",
            f"Goals: <= {GOAL_SECONDS:.0f} s and <= {GOAL_MB:.0f} MB. Command output: `{summary_line.strip()}`",
        ]
    )
    if not args.no_report:
        append_report(f"Account import (bench/import_accounts.py, {backend})", body)


if __name__ == "__main__":
    main()
