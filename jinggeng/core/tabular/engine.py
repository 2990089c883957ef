"""Running an import: read, validate in batches, write, report.

Modes:

* ``dry_run``: validate every row and say what would happen; nothing is kept (a spec that
  needs a real write to know, ``dry_run_writes``, writes and everything is rolled back);
* ``atomic`` (the default for users): if any row is refused, nothing is imported;
* ``valid_only``: the valid rows are imported, the refused ones are listed.

The whole run is one transaction. Rows are handled in batches (``spec.batch_size``) so memory
stays flat however long the file is; in atomic mode the batches written before a refused row
are rolled back with everything else. Rows repeating an earlier row's identity (``code``) in
the same file are refused, so a file never creates the same record twice. A run that keeps
its changes writes one audit record (action ``import``) with the counts, besides the
per-record audit records the services write.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from jinggeng.core.audit import audit_record
from jinggeng.core.errors import Conflict, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction
from jinggeng.core.tabular.readers import read_table
from jinggeng.core.tabular.spec import (
    CREATE,
    REFUSE,
    UPDATE,
    Column,
    ExportSpec,
    ImportSpec,
    RowOutcome,
    SourceRow,
    has_permissions,
)
from jinggeng.core.tabular.writers import FORMATS, XlsxWriter, iter_chunks, write_table

DRY_RUN = "dry_run"
ATOMIC = "atomic"
VALID_ONLY = "valid_only"
MODES = (DRY_RUN, ATOMIC, VALID_ONLY)

#: ``progress(stage, rows_done, rows_total_or_None)``; stages: "read", "validate", "write", "done".
Progress = Callable[[str, int, int | None], None]


@dataclass
class ReportError:
    row: int
    column: str  # column key ("" for the whole row)
    label: str  # column header in the importing user's language
    message: str


@dataclass
class RowResult:
    row: int
    action: str  # "create" | "update" | "refuse"
    label: str
    errors: list[ReportError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    entity: str
    mode: str
    filename: str = ""
    batch: str = ""
    file_format: str = ""
    encoding: str = ""
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    warned: int = 0
    committed: bool = False  # the changes were kept
    blocked: bool = False  # atomic import refused as a whole because some rows were refused
    rows: list[RowResult] = field(default_factory=list)

    @property
    def errors(self) -> list[ReportError]:
        return [e for r in self.rows for e in r.errors]

    @property
    def refused_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == REFUSE]

    @property
    def warning_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.warnings]

    @property
    def ok(self) -> bool:
        """False when an atomic import was blocked by refused rows."""
        return not self.blocked

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        values = dict(data)
        rows = [
            RowResult(
                row=r["row"],
                action=r["action"],
                label=r.get("label", ""),
                errors=[ReportError(**e) for e in r.get("errors", [])],
                warnings=list(r.get("warnings", [])),
            )
            for r in values.pop("rows", [])
        ]
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known, rows=rows)


@contextmanager
def _binary(source: str | Path | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValidationFailed(_("未知的导入方式：%(mode)s") % {"mode": mode}, field="mode", code="import_mode")


def run_import(
    spec: ImportSpec,
    source: str | Path | IO[bytes],
    actor: Any,
    mode: str = DRY_RUN,
    *,
    filename: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``source`` (a path or a binary file) as ``actor``. Raises PermissionDenied when the
    actor may not import this entity and FileRejected (a ValidationFailed) when the file cannot be
    read at all; row problems are in the report."""
    _check_mode(mode)
    if not has_permissions(actor, spec.permissions):
        raise PermissionDenied(_("您没有导入“%(name)s”的权限") % {"name": spec.verbose_name})
    if not filename and isinstance(source, str | Path):
        filename = Path(source).name
    report = ImportReport(entity=spec.entity, mode=mode, filename=filename, batch=str(uuid.uuid4()))
    columns = {c.key: c for c in spec.columns()}
    notify = progress or (lambda stage, done, total: None)
    with _binary(source) as handle:
        reader = read_table(handle, list(columns.values()))
        report.file_format = reader.table.format
        report.encoding = reader.table.encoding
        total = reader.table.total_rows - reader.header_row if reader.table.total_rows else None
        # A dry run that writes nothing needs no transaction (on SQLite one would take the
        # write lock for the whole run).
        writes = mode != DRY_RUN or spec.dry_run_writes
        try:
            with transaction.atomic() if writes else contextlib.nullcontext():
                _run(spec, reader, actor, mode, report, columns, notify, total)
                keep = mode != DRY_RUN and not report.blocked
                if keep:
                    _audit(spec, actor, report)
                elif writes:
                    transaction.set_rollback(True)
                report.committed = keep
        except IntegrityError as exc:
            raise Conflict(
                _("数据库拒绝了写入，没有导入任何数据：%(error)s") % {"error": exc}, code="import_conflict"
            ) from exc
    return report


def _run(
    spec: ImportSpec,
    reader: Any,
    actor: Any,
    mode: str,
    report: ImportReport,
    columns: dict[str, Any],
    notify: Progress,
    total: int | None,
) -> None:
    seen: dict[str, int] = {}
    done = 0
    for chunk in iter_chunks(reader, max(1, int(spec.batch_size))):
        rows: list[SourceRow] = chunk
        notify("read", done + len(rows), total)
        repeats: dict[int, int] = {}
        if spec.identity:
            for source_row in rows:
                identity = source_row.values.get(spec.identity)
                if not identity:
                    continue
                first = seen.setdefault(identity.casefold(), source_row.number)
                if first != source_row.number:
                    repeats[source_row.number] = first
        outcomes = spec.prepare(rows, actor)
        if len(outcomes) != len(rows):
            raise RuntimeError(f"{spec.entity}: prepare returned {len(outcomes)} outcomes for {len(rows)} rows")
        for outcome in outcomes:
            if outcome.row in repeats:
                outcome.refuse(spec.identity, _("与第 %(row)d 行的编码重复") % {"row": repeats[outcome.row]})
        notify("validate", done + len(rows), total)
        blocked = mode == ATOMIC and (report.refused or any(o.refused for o in outcomes))
        write = not blocked and (mode != DRY_RUN or spec.dry_run_writes)
        if write:
            valid = [o for o in outcomes if not o.refused]
            planned_updates = sum(1 for o in valid if o.action == UPDATE)
            if valid:
                result = spec.commit(valid, actor)
                still_updates = sum(1 for o in valid if o.action == UPDATE)
                report.unchanged += max(0, min(planned_updates, still_updates) - result.updated)
            notify("write", done + len(rows), total)
        for outcome in outcomes:
            _record(report, outcome, columns)
        if mode == ATOMIC and report.refused:
            report.blocked = True
        done += len(rows)
    report.total = done
    notify("done", done, done)


def _record(report: ImportReport, outcome: RowOutcome, columns: dict[str, Any]) -> None:
    errors = [
        ReportError(
            row=outcome.row,
            column=e.column,
            label=columns[e.column].label() if e.column in columns else e.column,
            message=e.message,
        )
        for e in outcome.errors
    ]
    if outcome.action == REFUSE and not errors:
        errors.append(ReportError(row=outcome.row, column="", label="", message=_("此行被拒绝")))
    report.rows.append(
        RowResult(
            row=outcome.row, action=outcome.action, label=outcome.label, errors=errors, warnings=list(outcome.warnings)
        )
    )
    if outcome.action == CREATE:
        report.created += 1
    elif outcome.action == UPDATE:
        report.updated += 1
    else:
        report.refused += 1
    if outcome.warnings:
        report.warned += 1


def _audit(spec: ImportSpec, actor: Any, report: ImportReport) -> None:
    """One audit record for the whole import, filed under the entity's model."""
    marker = spec.model()
    marker.pk = f"import:{report.batch}"
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        instance=marker,
        changes={
            "file": report.filename,
            "mode": report.mode,
            "rows": report.total,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "refused": report.refused,
            "warnings": report.warned,
        },
        reason=_("导入 %(file)s") % {"file": report.filename or spec.entity},
    )


REPORT_COLUMNS = (
    Column("row", _lazy("行号"), "Row"),
    Column("kind", _lazy("类型"), "Kind"),
    Column("column", _lazy("列"), "Column"),
    Column("message", _lazy("信息"), "Message"),
    Column("record", _lazy("记录"), "Record"),
)


def report_rows(report: ImportReport) -> Iterator[dict[str, Any]]:
    """The errors, then the warnings, one line each (the rows of the error report)."""
    for row in report.rows:
        for error in row.errors:
            yield {
                "row": error.row,
                "kind": _("错误"),
                "column": error.label or error.column,
                "message": error.message,
                "record": row.label,
            }
    for row in report.rows:
        for warning in row.warnings:
            yield {"row": row.row, "kind": _("警告"), "column": "", "message": warning, "record": row.label}


def action_label(action: str) -> str:
    labels: dict[str, str] = {CREATE: _("新建"), UPDATE: _("更新"), REFUSE: _("拒绝")}
    return labels.get(action, action)


def write_error_report(report: ImportReport, target: IO[bytes], fmt: str = "xlsx") -> int:
    """The error report (row as in the spreadsheet, column, message), neutralised like exports.
    An xlsx report has a second sheet with every row's outcome. Returns the number of lines."""
    if fmt != "xlsx":
        return write_table(fmt, target, REPORT_COLUMNS, report_rows(report), title=_("错误报告"))
    writer = XlsxWriter(target, title=_("错误报告"))
    keys = [c.key for c in REPORT_COLUMNS]
    writer.write_row([c.label() for c in REPORT_COLUMNS])
    count = 0
    for line in report_rows(report):
        writer.write_row([line[k] for k in keys])
        count += 1
    outcomes: list[list[Any]] = [[_("行号"), _("结果"), _("记录")]]
    outcomes += [[r.row, action_label(r.action), r.label] for r in report.rows]
    writer.add_sheet(_("逐行结果"), outcomes)
    writer.close()
    return count


def run_export(
    spec: ExportSpec,
    target: IO[bytes],
    actor: Any,
    fmt: str = "xlsx",
    *,
    filters: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the rows ``actor`` may see (scoped and filtered like the lists) to ``target`` as
    xlsx or CSV; returns the number of rows. PermissionDenied without the export permission."""
    if fmt not in FORMATS:
        raise ValidationFailed(_("不支持的格式：%(fmt)s（可用 xlsx 或 csv）") % {"fmt": fmt}, field="format")
    if not has_permissions(actor, spec.permissions):
        raise PermissionDenied(_("您没有导出“%(name)s”的权限") % {"name": spec.verbose_name})
    done = 0

    def on_row() -> None:
        nonlocal done
        done += 1
        if progress is not None and done % 500 == 0:
            progress("write", done, None)

    count = write_table(
        fmt, target, spec.columns(), spec.rows(actor, dict(filters or {})), title=str(spec.verbose_name), on_row=on_row
    )
    if progress is not None:
        progress("write", count, count)
    return count
