"""Run every benchmark: `.venv/bin/python bench/run_all.py [--sqlite]` (or `make bench`):
the accounts API and import, the sales analysis and order entry, the field execution
(check-in, coverage, 3E card) (PostgreSQL, large demo company) and the route optimiser.

Each benchmark prints its figures and appends a dated section to docs/performance.md.
``--sqlite`` also runs the import benchmark on SQLite (with the small demo company).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import PYTHON, ROOT  # noqa: E402


def run(script: str, *args: str) -> int:
    print(f"\n=== {script} {' '.join(args)}", flush=True)
    return subprocess.run([PYTHON, str(HERE / script), *args], cwd=ROOT, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="also run the import benchmark on SQLite")
    args = parser.parse_args()
    codes = [
        run("api_accounts.py"),
        run("import_accounts.py"),
        run("sales.py"),
        run("field.py"),
        run("routing_quality.py"),
        run("routing_week.py"),
    ]
    if args.sqlite:
        target = ROOT / "var" / "bench" / "import-bench.sqlite3"
        codes.append(run("import_accounts.py", "--database-url", f"sqlite:///{target}"))
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
