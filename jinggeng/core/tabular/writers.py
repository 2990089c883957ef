"""Streaming writers for .xlsx (openpyxl write-only mode) and .csv (UTF-8 with BOM, so Excel
opens it in Chinese without garbling).

Every text cell that a spreadsheet program would run as a formula (starting with = + - @, a tab
or a carriage return) is neutralised with a leading single quote: exported data and error
reports can carry text typed by anyone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Protocol

from django.utils import timezone

from jinggeng.core.tabular.readers import FORMULA_PREFIXES
from jinggeng.core.tabular.spec import Column

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")


def neutralise(value: Any) -> Any:
    """``value`` safe to put in a cell: text that would start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | dt.date | dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return neutralise("、".join(str(v) for v in value))
    return neutralise(str(value))


class TableWriter(Protocol):
    def write_row(self, values: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


class XlsxWriter:
    """Rows into a write-only workbook (constant memory per row); ``close`` saves it."""

    def __init__(self, target: IO[bytes], *, title: str = "Sheet1") -> None:
        from openpyxl import Workbook

        self.target = target
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=title[:31] or "Sheet1")
        self.extra: list[tuple[str, list[list[Any]]]] = []

    def write_row(self, values: Sequence[Any]) -> None:
        self.sheet.append([_cell(v) for v in values])

    def add_sheet(self, title: str, rows: list[list[Any]]) -> None:
        sheet = self.workbook.create_sheet(title=title[:31])
        for row in rows:
            sheet.append([_cell(v) for v in row])

    def close(self) -> None:
        self.workbook.save(self.target)


class CsvWriter:
    """Rows as CSV in UTF-8 with a BOM."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
        self.writer = csv.writer(self.text)

    def write_row(self, values: Sequence[Any]) -> None:
        self.writer.writerow([_csv_cell(v) for v in values])

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def _csv_cell(value: Any) -> Any:
    value = _cell(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def open_writer(fmt: str, target: IO[bytes], *, title: str = "Sheet1") -> XlsxWriter | CsvWriter:
    if fmt == "xlsx":
        return XlsxWriter(target, title=title)
    if fmt == "csv":
        return CsvWriter(target)
    raise ValueError(f"unknown format {fmt!r}")


def write_table(
    fmt: str,
    target: IO[bytes],
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str = "Sheet1",
    language: str | None = None,
    on_row: Any = None,
) -> int:
    """Write a header (labels in ``language``) and ``rows`` (dicts by column key); returns
    how many data rows were written. ``on_row`` is called after each row (progress)."""
    writer = open_writer(fmt, target, title=title)
    keys = [c.key for c in columns]
    writer.write_row([c.label(language) for c in columns])
    count = 0
    for row in rows:
        writer.write_row([row.get(k) for k in keys])
        count += 1
        if on_row is not None:
            on_row()
    writer.close()
    return count


def iter_chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
