"""Shared pieces of the benchmarks: the bench database, the machine, percentiles, the report.

Benchmarks run against PostgreSQL holding the LARGE demo company (1,000,000 accounts). The
database is named by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jinggeng_bench);
it is created, migrated and filled on first use.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
DOC = ROOT / "docs" / "performance.md"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jinggeng_bench"


class HttpError(Exception):
    pass


class Reply:
    def __init__(self, status_code: int, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.content = content
        self.url = url

    def raise_for_status(self) -> Reply:
        if self.status_code >= 400:
            raise HttpError(f"{self.status_code} for {self.url}: {self.content[:300]!r}")
        return self

    def json(self) -> Any:
        return json.loads(self.content)


class HttpClient:
    """One keep-alive HTTP/1.1 connection from the standard library, for timing the server.

    httpx spends 0.7-1 ms of its own per request on this machine (measured against the same
    server: p50 9.1 ms with httpx, 8.4 ms with this client); with ``http.client`` the client's
    share is about 0.1 ms, so a latency figure is the server's and the network's."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> None:
        parsed = urlparse(base_url)
        self.base_url = base_url
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=timeout)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Reply:
        if params:
            path = f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"
        try:
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            return Reply(response.status, response.read(), path)
        except (http.client.HTTPException, OSError):
            self.connection.close()  # the server closed the kept-alive connection: once more
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
            return Reply(response.status, response.read(), path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bench_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like process (DEBUG off, plain HTTP on 127.0.0.1)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECURE_HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # The API needs no collected static files; `collectstatic` with the manifest storage
        # currently fails on vendor/leaflet/leaflet.js.map (not copied by `make static`).
        STATIC_MANIFEST=os.environ.get("BENCH_STATIC_MANIFEST", "0"),
    )
    env.update(extra)
    return env


def jinggeng(
    args: list[str], database_url: str, *, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "jinggeng", *args], cwd=ROOT, env=server_env(database_url), check=check, **kwargs
    )


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database if it does not exist."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def account_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('customers_account') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        found = conn.execute("SELECT count(*) FROM customers_account").fetchone()
        return int(found[0]) if found else 0


def ensure_large_demo(url: str) -> float | None:
    """Migrate and, when the database holds no accounts, build the large demo company.

    Returns the build time in seconds, or None when the company was already there."""
    ensure_database(url)
    jinggeng(["migrate", "-v", "0", "--skip-checks"], url)
    if account_count(url) > 0:
        return None
    print("Building the large demo company (1,000,000 accounts)…", flush=True)
    started = time.monotonic()
    jinggeng(["demo", "--scale", "large", "--skip-checks"], url)
    seconds = time.monotonic() - started
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return seconds


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def machine() -> dict[str, str]:
    info = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        info["ram"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        info["ram"] = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def postgres_version(url: str) -> str:
    import psycopg

    if url.startswith("sqlite"):
        import sqlite3

        return f"(SQLite {sqlite3.sqlite_version})"

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def append_report(title: str, body: str) -> None:
    """Append a dated section to docs/performance.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if not DOC.exists():
        DOC.write_text("# Performance\n\n", encoding="utf-8")
    with DOC.open("a", encoding="utf-8") as fh:
        fh.write(f"\n## {title} — {stamp}\n\n{body.rstrip()}\n")


def machine_line(url: str) -> str:
    m = machine()
    return (
        f"Machine: {m.get('cpu', '?')}, {m['cpus']} CPUs, {m['ram']} RAM, {m['os']}; "
        f"Python {m['python']}; PostgreSQL {postgres_version(url)}."
    )


def setup_django(database_url: str) -> None:
    """Configure Django in this process against ``database_url`` (production settings)."""
    for key, value in server_env(database_url).items():
        os.environ[key] = value
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load_note(at_start: float) -> str:
    """The 1-minute load average at the start and end: other work on the machine skews figures."""
    return f"Load average (1 min) at start / end: {at_start:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs."
