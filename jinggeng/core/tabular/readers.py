"""Reading .xlsx and .csv files as rows keyed by column key, with the spreadsheet row number.

The format comes from the content, never from the file name: a zip holding the xlsx parts is a
workbook (read with openpyxl in read-only mode, so a large file streams); anything else must be
text: strict UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK, as Excel in
China saves "CSV"). The delimiter is a comma, a tab or a semicolon, whichever the header uses.
A file that is none of these is refused with a message saying why (`FileRejected`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.core.tabular.spec import Column, SourceRow, header_key

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 16
csv.field_size_limit(10 * 1024 * 1024)


class FileRejected(ValidationFailed):
    """The file cannot be imported at all (size, format, encoding, headers)."""

    code = "import_file_rejected"


def cell_text(value: Any) -> str:
    """A cell as trimmed text: whole numbers without ".0", dates as ISO dates; a value an
    export neutralised ("'=…") gets its quote back off."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 1 and text[0] == "'" and value.lstrip()[1:2] in FORMULA_PREFIXES:
            return value.lstrip()[1:].strip()
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def file_size(fileobj: IO[bytes]) -> int:
    position = fileobj.tell()
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(position)
    return size


def check_size(size: int) -> None:
    limit = int(settings.IMPORT_MAX_BYTES)
    if size > limit:
        raise FileRejected(
            _("文件太大：%(size).1f MB，上限为 %(limit).1f MB。请拆分后分批导入。")
            % {"size": size / 1048576, "limit": limit / 1048576},
            code="import_file_too_large",
        )
    if size == 0:
        raise FileRejected(_("文件是空的"), code="import_file_empty")


def _detect_encoding(fileobj: IO[bytes]) -> str:
    """``utf-8-sig`` when the whole file is valid UTF-8, else ``gb18030``; FileRejected when
    neither decodes it or it is not text at all."""
    fileobj.seek(0)
    head = fileobj.read(CHUNK)
    if b"\x00" in head:
        raise FileRejected(_("文件不是 Excel（.xlsx）或 CSV 表格，无法导入"), code="import_file_not_spreadsheet")
    for encoding in ("utf-8-sig", "gb18030"):
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        first_text = ""
        try:
            while chunk := fileobj.read(CHUNK):
                text = decoder.decode(chunk)
                if not first_text:
                    first_text = text
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in first_text[:4096] if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
        if controls > 3:
            raise FileRejected(_("文件不是 Excel（.xlsx）或 CSV 表格，无法导入"), code="import_file_not_spreadsheet")
        return encoding
    raise FileRejected(
        _("无法识别文件的编码：既不是 UTF-8 也不是 GBK/GB18030。请在 Excel 中“另存为 CSV UTF-8”或 .xlsx 后再导入。"),
        code="import_file_encoding",
    )


@dataclass
class RawTable:
    """Rows of raw cells from the first sheet, numbered as the spreadsheet shows them."""

    format: str  # "xlsx" | "csv"
    encoding: str  # "" for xlsx
    delimiter: str
    total_rows: int | None
    rows: Iterator[tuple[int, Sequence[Any]]]


def open_table(fileobj: IO[bytes]) -> RawTable:
    """Recognise the file by its content and return its rows; FileRejected otherwise."""
    check_size(file_size(fileobj))
    fileobj.seek(0)
    magic = fileobj.read(8)
    fileobj.seek(0)
    if magic.startswith(OLE2_MAGIC):
        raise FileRejected(
            _("不支持旧版 Excel（.xls）或加密的工作簿，请另存为 .xlsx 或 CSV 后再导入"), code="import_file_xls"
        )
    if magic.startswith(ZIP_MAGIC):
        return _open_xlsx(fileobj)
    return _open_csv(fileobj)


def _not_xlsx() -> FileRejected:
    return FileRejected(_("文件不是有效的 Excel 工作簿（.xlsx），无法导入"), code="import_file_not_spreadsheet")


def _open_xlsx(fileobj: IO[bytes]) -> RawTable:
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_xlsx() from exc
    if not all(part in names for part in XLSX_PARTS):
        raise _not_xlsx()
    fileobj.seek(0)
    fast = _fast_workbook(fileobj)
    if fast is not None:
        return fast
    fileobj.seek(0)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds of errors on a broken file
        raise _not_xlsx() from exc

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            yield from enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        except FileRejected:
            raise
        except Exception as exc:
            raise _not_xlsx() from exc
        finally:
            workbook.close()

    total = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None
    return RawTable(format="xlsx", encoding="", delimiter="", total_rows=total, rows=rows())


DIMENSION_RE = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]+\d+(?::[A-Z]+(\d+))?\"")


def _fast_workbook(fileobj: IO[bytes]) -> RawTable | None:
    """The first sheet read straight from its XML, with the shared strings, date styles and
    epoch read by openpyxl's own workbook reader, but without openpyxl's worksheet objects: a
    read-only worksheet scans the whole sheet for its size when the file has no <dimension>
    (as many generated files do), which costs as much as reading it. None when openpyxl's
    reader is not as expected: the caller then uses ``load_workbook``."""
    try:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.stylesheet import apply_stylesheet
    except ImportError:
        return None
    try:
        reader = ExcelReader(fileobj, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        target = next(
            (
                rel.target
                for _sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ),
            None,
        )
    except AttributeError:
        return None
    except Exception as exc:  # openpyxl raises many kinds of errors on a broken file
        raise _not_xlsx() from exc
    if target is None:
        raise _not_xlsx()
    workbook: Any = reader.wb
    archive = reader.archive
    try:
        date_styles = frozenset(workbook._date_formats)
    except AttributeError:
        archive.close()
        return None
    with archive.open(target) as head:
        match = DIMENSION_RE.search(head.read(4096))
    total = int(match.group(1)) if match and match.group(1) else None
    fast = _sheet_xml_rows(
        open_source=lambda: archive.open(target),
        shared=reader.shared_strings,
        date_styles=date_styles,
        timedelta_styles=frozenset(getattr(workbook, "_timedelta_formats", ())),
        epoch=workbook.epoch,
    )

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            yield from fast
        except FileRejected:
            raise
        except Exception as exc:
            raise _not_xlsx() from exc
        finally:
            archive.close()

    return RawTable(
        format="xlsx", encoding="", delimiter="", total_rows=total if total and total > 1 else None, rows=rows()
    )


SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW_TAG = f"{SHEET_NS}row"
CELL_TAG = f"{SHEET_NS}c"
VALUE_TAG = f"{SHEET_NS}v"
INLINE_TAG = f"{SHEET_NS}is"
TEXT_TAG = f"{SHEET_NS}t"
RUN_TAG = f"{SHEET_NS}r"


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index


def _sheet_xml_rows(
    *,
    open_source: Callable[[], IO[bytes]],
    shared: Sequence[Any],
    date_styles: frozenset[int],
    timedelta_styles: frozenset[int],
    epoch: dt.datetime,
) -> Iterator[tuple[int, Sequence[Any]]]:
    """A sheet's rows straight from its XML (several times faster than openpyxl's cell
    objects). Parsed with openpyxl's own choice of parser: defusedxml's when installed; expat
    (>= 2.4 limits entity expansion) otherwise. External entities are never fetched."""
    from openpyxl.utils.datetime import from_excel
    from openpyxl.xml.functions import iterparse

    def number(text: str, style: int) -> Any:
        value: float | int = float(text) if any(ch in text for ch in ".eE") else int(text)
        if style in date_styles:
            try:
                return from_excel(value, epoch, timedelta=style in timedelta_styles)
            except (OverflowError, ValueError):
                return value
        return value

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        columns: dict[str, int] = {}
        expected = 1
        with open_source() as source:
            for _event, element in iterparse(source, events=("end",)):
                if element.tag != ROW_TAG:
                    continue
                ref = element.get("r")
                row_number = int(ref) if ref else expected
                values: list[Any] = []
                for cell in element.iter(CELL_TAG):
                    coordinate = cell.get("r")
                    if coordinate:
                        letters = coordinate.rstrip("0123456789")
                        index = columns.get(letters)
                        if index is None:
                            index = columns[letters] = _column_index(letters)
                        if index > len(values) + 1:
                            values.extend([None] * (index - 1 - len(values)))
                    kind = cell.get("t", "n")
                    value: Any = None
                    if kind == "inlineStr":
                        node = cell.find(INLINE_TAG)
                        if node is not None:
                            plain = node.find(TEXT_TAG)
                            if plain is not None:
                                value = plain.text or ""
                            else:
                                value = "".join(run.findtext(TEXT_TAG) or "" for run in node.findall(RUN_TAG))
                    else:
                        text = cell.findtext(VALUE_TAG)
                        if text:
                            if kind == "n":
                                style = cell.get("s")
                                value = number(text, int(style) if style else 0)
                            elif kind == "s":
                                value = shared[int(text)]
                            elif kind == "b":
                                value = text == "1"
                            else:  # "str" (formula result), "e" (error), "d" (ISO date)
                                value = text
                    values.append(value)
                element.clear()
                expected = row_number + 1
                yield row_number, values

    return rows()


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_csv(fileobj: IO[bytes]) -> RawTable:
    encoding = _detect_encoding(fileobj)
    fileobj.seek(0)
    raw = fileobj if isinstance(fileobj, io.BufferedIOBase | io.RawIOBase) else io.BytesIO(fileobj.read())
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    first_line = text.readline()
    text.seek(0)
    delimiter = _sniff_delimiter(first_line)

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            for values in reader:
                # line_num counts physical lines; a quoted cell with line breaks spans several.
                yield reader.line_num, values
        except csv.Error as exc:
            raise FileRejected(
                _("CSV 文件格式有误（第 %(line)d 行）：%(error)s") % {"line": reader.line_num, "error": exc},
                code="import_file_csv",
            ) from exc
        finally:
            with contextlib.suppress(ValueError):  # the file may be closed already
                text.detach()

    return RawTable(format="csv", encoding=encoding, delimiter=delimiter, total_rows=None, rows=rows())


def map_headers(headers: Sequence[Any], columns: Sequence[Column]) -> list[str | None]:
    """The column key of each header cell (None for blank headers); FileRejected naming the
    unknown, repeated and missing required columns."""
    by_name: dict[str, str] = {}
    for column in columns:  # keys first so a key always wins over another column's label
        by_name.setdefault(header_key(column.key), column.key)
    for column in columns:
        for name in column.names():
            by_name.setdefault(name, column.key)
    keys: list[str | None] = []
    unknown: list[str] = []
    repeated: list[str] = []
    seen: set[str] = set()
    for cell in headers:
        name = header_key(cell)
        if not name:
            keys.append(None)
            continue
        key = by_name.get(name)
        if key is None:
            unknown.append(str(cell).strip())
        elif key in seen:
            repeated.append(str(cell).strip())
        else:
            seen.add(key)
        keys.append(key)
    missing = [c for c in columns if c.required and c.key not in seen]
    errors: dict[str, list[str]] = {}
    parts: list[str] = []
    if unknown:
        errors["unknown_columns"] = unknown
        parts.append(_("无法识别的列：%(names)s") % {"names": "、".join(unknown)})
    if repeated:
        errors["repeated_columns"] = repeated
        parts.append(_("重复的列：%(names)s") % {"names": "、".join(repeated)})
    if missing:
        names = [f"{c.label()}（{c.key}）" for c in missing]
        errors["missing_columns"] = names
        parts.append(_("缺少必填列：%(names)s") % {"names": "、".join(names)})
    if parts:
        hint = _("请使用下载的模板；可用的列：%(names)s") % {"names": "、".join(c.label() for c in columns)}
        raise FileRejected("；".join(parts) + "。" + hint, code="import_columns", errors=errors)
    return keys


@dataclass
class TableReader:
    """The data rows of a table, keyed by column key (empty cells left out)."""

    table: RawTable
    keys: list[str | None]
    header_row: int

    def __iter__(self) -> Iterator[SourceRow]:
        keys = self.keys
        width = len(keys)
        for number, values in self.table.rows:
            row: dict[str, str] = {}
            for index, value in enumerate(values[:width]):
                key = keys[index]
                if key is None or value is None:
                    continue
                text = cell_text(value)
                if text:
                    row[key] = text
            if row:
                yield SourceRow(number=number, values=row)


def read_table(fileobj: IO[bytes], columns: Sequence[Column]) -> TableReader:
    """Open ``fileobj``, find the header (the first non-empty row) and map it to ``columns``."""
    table = open_table(fileobj)
    for number, values in table.rows:
        if any(cell_text(v) for v in values):
            return TableReader(table=table, keys=map_headers(values, columns), header_row=number)
    raise FileRejected(_("文件中没有表头和数据"), code="import_file_empty")
