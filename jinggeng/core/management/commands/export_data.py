"""`jinggeng export ENTITY OUT.xlsx|OUT.csv --as USERNAME [--filter key=value ...]`.

Exports what the user may see (their data scope), filtered like the lists, as .xlsx or as CSV
in UTF-8 with BOM (Excel opens it directly). Text that could run as a formula is neutralised.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from jinggeng.core.errors import DomainError
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.cli import acting_user, progress_bar
from jinggeng.core.tabular.engine import run_export


class Command(BaseCommand):
    # A data command: the system checks (seconds on a large project) run with `jinggeng check`.
    requires_system_checks: list[str] = []
    help = "Export records (accounts, contacts, products, employees, leads, opportunities, orders, payments, …) to .xlsx / .csv"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", help=" | ".join(registry.entities()))
        parser.add_argument("out", help="OUT.xlsx or OUT.csv")
        parser.add_argument("--as", dest="as_user", required=True, help="export as this user (username)")
        parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="like the list filters")
        parser.add_argument("--language", default="", help="zh-hans or en (column headers)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"] or settings.LANGUAGE_CODE):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        spec = registry.export_spec(options["entity"])
        if spec is None:
            names = ", ".join(s for s in registry.entities() if registry.export_spec(s))
            raise CommandError(_("不能导出“%(name)s”；可导出：%(names)s") % {"name": options["entity"], "names": names})
        out = Path(options["out"])
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in ("xlsx", "csv"):
            raise CommandError(_("输出文件应以 .xlsx 或 .csv 结尾"))
        filters: dict[str, str] = {}
        for item in options["filter"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise CommandError(_("筛选条件应写成 key=value：%(item)s") % {"item": item})
            filters[key.strip()] = value.strip()
        actor = acting_user(options["as_user"])
        directory = out.resolve().parent
        handle, temp_name = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=f".{fmt}")
        try:
            with os.fdopen(handle, "wb") as target, progress_bar(not options["no_progress"]) as progress:
                count = run_export(spec, target, actor, fmt, filters=filters, progress=progress)
            os.replace(temp_name, out)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
        self.stdout.write(_("已导出 %(n)d 行到 %(path)s") % {"n": count, "path": out})
