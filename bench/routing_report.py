"""Shared by the route optimiser's benchmarks: where the data is, Django set-up, and the report
section "## Route optimiser" of docs/performance.md (subsections appended inside it)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DOC, ROOT, machine

HEADING = "## Route optimiser"
INTRO = """
Issue 4 §9 goals: ≤ 1 % average gap to the best-known values at 30 s per instance (instances up to
300 customers, `../shared/data/routing/`), with OR-Tools side by side; and on generated weeks of
150 outlets, ≥ 15 % less travel than the nearest-neighbour week with every day within ±10 % of the
mean workload. Run:

```sh
.venv/bin/python bench/routing_quality.py          # --limits 30,5 --data DIR --no-report
.venv/bin/python bench/routing_week.py             # --seeds 1,2,3,4,5 --time-limit 30
```
"""


def data_dir(cli_value: str | None) -> Path:
    """--data, else $JINGGENG_DATA_DIR_SHARED/routing, else ../shared/data/routing next to the repo."""
    if cli_value:
        return Path(cli_value)
    shared = os.environ.get("JINGGENG_DATA_DIR_SHARED")
    if shared:
        return Path(shared) / "routing"
    return ROOT.parent / "shared" / "data" / "routing"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DATABASE_URL", "")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def machine_text() -> str:
    m = machine()
    return f"Machine: {m.get('cpu', '?')}, nproc {m['cpus']}, {m['ram']} RAM, {m['os']}; Python {m['python']}."


def append_routing_report(title: str, body: str) -> None:
    """Add a dated subsection at the end of the "## Route optimiser" section (created if absent)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"\n### {title} — {stamp}\n\n{body.rstrip()}\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n" + INTRO + block
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        head = "".join(lines[:end]).rstrip("\n") + "\n"
        tail = "".join(lines[end:])
        text = head + block + ("\n" + tail if tail else "")
    DOC.write_text(text, encoding="utf-8")
