"""`jinggeng import ENTITY FILE --as USERNAME [--dry-run | --valid-only] [--report errors.xlsx]`.

Imports any registered kind (accounts, contacts, products, employees, leads, opportunities,
orders, payments) from .xlsx or .csv as the given user (their
permissions and data scope apply). By default the import is atomic: one refused row and
nothing is imported (exit code 1). ``--valid-only`` imports the valid rows; ``--dry-run``
only says what would happen. ``--report`` writes every error and warning to a spreadsheet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from jinggeng.core.errors import DomainError
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.cli import acting_user, progress_bar
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, ImportReport, run_import, write_error_report

SHOW_ERRORS = 20


class Command(BaseCommand):
    # A data command: the system checks (seconds on a large project) run with `jinggeng check`.
    requires_system_checks: list[str] = []
    help = "Import records (accounts, contacts, products, employees, leads, opportunities, orders, payments, …) from .xlsx / .csv"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("entity", help=" | ".join(registry.entities()))
        parser.add_argument("file", help=".xlsx or .csv (UTF-8 or GBK)")
        parser.add_argument("--as", dest="as_user", required=True, help="import as this user (username)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
        group.add_argument("--valid-only", action="store_true", help="import the valid rows, skip refused ones")
        parser.add_argument("--report", help="write errors and warnings to this .xlsx (or .csv)")
        parser.add_argument("--language", default="", help="zh-hans or en (messages and report headers)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"] or settings.LANGUAGE_CODE):
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        spec = registry.import_spec(options["entity"])
        if spec is None:
            names = ", ".join(s for s in registry.entities() if registry.import_spec(s))
            raise CommandError(_("不能导入“%(name)s”；可导入：%(names)s") % {"name": options["entity"], "names": names})
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("文件不存在：%(path)s") % {"path": path})
        actor = acting_user(options["as_user"])
        mode = DRY_RUN if options["dry_run"] else VALID_ONLY if options["valid_only"] else ATOMIC
        try:
            with progress_bar(not options["no_progress"]) as progress:
                report = run_import(spec, path, actor, mode, progress=progress)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(report)
        if options["report"]:
            target = Path(options["report"])
            with open(target, "wb") as handle:
                write_error_report(report, handle, "csv" if target.suffix.lower() == ".csv" else "xlsx")
            self.stdout.write(_("错误报告：%(path)s") % {"path": target})
        if report.blocked:
            raise CommandError(
                _("有 %(n)d 行被拒绝，按整体导入的规则没有导入任何数据（可用 --valid-only 只导入有效行）")
                % {"n": report.refused}
            )

    def _summary(self, report: ImportReport) -> None:
        title = {
            DRY_RUN: _("试运行（未写入）"),
            ATOMIC: _("导入"),
            VALID_ONLY: _("导入有效行"),
        }[report.mode]
        self.stdout.write(
            _(
                "%(title)s %(file)s：共 %(total)d 行，新建 %(created)d，更新 %(updated)d，拒绝 %(refused)d，警告 %(warned)d"
            )
            % {
                "title": title,
                "file": report.filename,
                "total": report.total,
                "created": report.created,
                "updated": report.updated,
                "refused": report.refused,
                "warned": report.warned,
            }
        )
        errors = report.errors
        for error in errors[:SHOW_ERRORS]:
            where = _("第 %(row)d 行") % {"row": error.row}
            column = f" [{error.label}]" if error.label else ""
            self.stdout.write(f"  {where}{column}：{error.message}")
        if len(errors) > SHOW_ERRORS:
            self.stdout.write(_("  ……另有 %(n)d 个错误（用 --report 导出全部）") % {"n": len(errors) - SHOW_ERRORS})
        warnings = [(r.row, w) for r in report.rows for w in r.warnings]
        for row, warning in warnings[:SHOW_ERRORS]:
            self.stdout.write("  " + _("第 %(row)d 行 警告：%(message)s") % {"row": row, "message": warning})
        if len(warnings) > SHOW_ERRORS:
            self.stdout.write(_("  ……另有 %(n)d 个警告") % {"n": len(warnings) - SHOW_ERRORS})
        if report.committed:
            self.stdout.write(self.style.SUCCESS(_("已保存。")))
