"""The import / export engine: readers, writers, header matching, modes, reports.

The engine is exercised with the products spec (registered by jinggeng.catalog.importers),
looked up through the registry so core's tests do not import a domain app.
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from django.utils import translation

from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, ImportReport, run_import, write_error_report
from jinggeng.core.tabular.readers import FileRejected, cell_text, read_table
from jinggeng.core.tabular.spec import Column, choice_lookup, header_key
from jinggeng.core.tabular.writers import neutralise, write_table


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


COLUMNS = [
    Column("code", "编码", "Code", required=True),
    Column("name", "名称", "Name", required=True),
    Column("phone", "电话", "Phone"),
]

HEADER_ZH = "产品编码,产品名称,品牌编码,品类编码,SKU 编码,SKU 名称,基准价,条码"
HEADER_EN = "Product code,Product name,Brand code,Category code,SKU code,SKU name,Base price,Barcode"


def rows_of(data: bytes, columns: list[Column] = COLUMNS) -> list[tuple[int, dict[str, str]]]:
    return [(r.number, dict(r.values)) for r in read_table(io.BytesIO(data), columns)]


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- readers -----------------------------------------------------------------------------------


def test_csv_utf8_without_bom() -> None:
    data = "编码,名称,电话\nA1,上海惠民超市,13800138000\n".encode()
    assert rows_of(data) == [(2, {"code": "A1", "name": "上海惠民超市", "phone": "13800138000"})]


def test_csv_utf8_with_bom() -> None:
    data = "\ufeff编码,名称\nA1,北京便利店\n".encode()
    assert rows_of(data) == [(2, {"code": "A1", "name": "北京便利店"})]


def test_csv_gbk_bytes_as_excel_in_china_saves_them() -> None:
    data = "编码,名称\r\nA1,广州批发部\r\nA2,深圳士多店\r\n".encode("gbk")
    assert rows_of(data) == [(2, {"code": "A1", "name": "广州批发部"}), (3, {"code": "A2", "name": "深圳士多店"})]


def test_csv_gb18030_only_characters() -> None:
    data = "编码,名称\nA1,䶮记商行\n".encode("gb18030")  # 䶮 is outside GBK
    assert rows_of(data) == [(2, {"code": "A1", "name": "䶮记商行"})]


def test_csv_tab_and_semicolon_delimiters_are_sniffed() -> None:
    assert rows_of("编码\t名称\nA1\t甲店\n".encode()) == [(2, {"code": "A1", "name": "甲店"})]
    assert rows_of("编码;名称\nA1;乙店\n".encode()) == [(2, {"code": "A1", "name": "乙店"})]


def test_english_headers_and_keys_match_for_a_chinese_user() -> None:
    with translation.override("zh-hans"):
        assert rows_of(b"Code,NAME\nA1,x\n") == [(2, {"code": "A1", "name": "x"})]
        assert rows_of(b"code,name *\nA1,x\n") == [(2, {"code": "A1", "name": "x"})]


def test_blank_rows_are_skipped_and_row_numbers_kept() -> None:
    data = "编码,名称\n\nA1,甲\n,\nA2,乙\n".encode()
    assert [n for n, _ in rows_of(data)] == [3, 5]


def test_unknown_and_missing_columns_are_named() -> None:
    with pytest.raises(FileRejected) as caught:
        rows_of("编码,颜色,尺码\nA1,红,L\n".encode())
    message = caught.value.message
    assert "颜色" in message and "尺码" in message
    assert "名称（name）" in message
    assert caught.value.field_errors["unknown_columns"] == ["颜色", "尺码"]
    assert caught.value.field_errors["missing_columns"] == ["名称（name）"]


def test_repeated_column_is_refused() -> None:
    with pytest.raises(FileRejected, match="重复的列"):
        rows_of("编码,名称,Name\nA1,x,y\n".encode())


def test_xlsx_rows_with_numbers_and_dates() -> None:
    import datetime as dt

    data = xlsx_bytes(
        [
            ["编码", "名称", "电话"],
            [310115, "浦东店", 13800138000.0],
            [None, None, None],
            ["A3", dt.datetime(2024, 5, 1), None],
        ]
    )
    assert rows_of(data) == [
        (2, {"code": "310115", "name": "浦东店", "phone": "13800138000"}),
        (4, {"code": "A3", "name": "2024-05-01"}),
    ]


def test_non_spreadsheet_files_are_refused_clearly() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(FileRejected, match="不是 Excel"):
        rows_of(png)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(FileRejected, match="不是有效的 Excel"):
        rows_of(archive.getvalue())
    with pytest.raises(FileRejected, match=r"\.xls"):
        rows_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(FileRejected, match="空"):
        rows_of(b"")


def test_undecodable_text_is_refused_naming_the_encodings() -> None:
    data = "编码,名称\n".encode() + b"A1,\xff\xfe\xff\n"
    with pytest.raises(FileRejected) as caught:
        rows_of(data)
    assert "UTF-8" in caught.value.message and "GB18030" in caught.value.message


def test_oversize_file_is_refused(settings) -> None:
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(FileRejected, match="文件太大") as caught:
        rows_of(b"code,name\n" + b"A,b\n" * 50)
    assert caught.value.code == "import_file_too_large"


def test_cell_text_unquotes_neutralised_values() -> None:
    assert cell_text("'=1+1") == "=1+1"
    assert cell_text("'abc") == "'abc"
    assert cell_text(3.0) == "3"
    assert cell_text(121.4737) == "121.4737"


def test_header_key_and_choice_lookup() -> None:
    assert header_key(" Name * ") == "name"
    lookup = choice_lookup([("distributor", "经销商"), ("outlet", "终端")])
    assert lookup["经销商"] == "distributor"
    assert lookup["distributor"] == "distributor"
    assert lookup[header_key("Distributor")] == "distributor"


# --- writers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_prefixes_a_quote(value: str) -> None:
    assert neutralise(value) == "'" + value


def test_neutralise_leaves_numbers_and_plain_text() -> None:
    assert neutralise(-5) == -5
    assert neutralise("上海") == "上海"


def test_xlsx_export_is_neutralised_and_has_labels() -> None:
    buffer = io.BytesIO()
    with translation.override("en"):
        count = write_table(
            "xlsx", buffer, COLUMNS, [{"code": "A1", "name": "=cmd|' /C calc'!A0", "phone": "+8613800138000"}]
        )
    assert count == 1
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("Code", "Name", "Phone")
    assert values[1] == ("A1", "'=cmd|' /C calc'!A0", "'+8613800138000")
    assert sheet["B2"].data_type == "s"


def test_csv_export_has_bom_and_is_neutralised() -> None:
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        write_table("csv", buffer, COLUMNS, [{"code": "A1", "name": "@evil", "phone": None}])
    data = buffer.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["编码,名称,电话", "A1,'@evil,"]


def test_export_then_import_round_trips_neutralised_text() -> None:
    buffer = io.BytesIO()
    write_table("csv", buffer, COLUMNS, [{"code": "A1", "name": "-会员店-", "phone": ""}])
    assert rows_of(buffer.getvalue()) == [(2, {"code": "A1", "name": "-会员店-"})]


# --- engine (with the products spec) ------------------------------------------------------------


@pytest.fixture
def catalog_base(db):
    from jinggeng.catalog.models import Brand, Category

    Brand.objects.create(code="JG", name="精耕")
    category = Category.objects.create(code="TEA", name="茶饮料")
    category.path = f"/{category.pk}/"
    category.save(update_fields=["path"])


def products_csv(*lines: str, header: str = HEADER_ZH) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode())


GOOD = ["P1,绿茶,JG,TEA,GT-500,绿茶 500ml,3.50,", "P1,绿茶,JG,TEA,GT-1L,绿茶 1L,6.00,"]
BAD = "P2,红茶,NOPE,TEA,RT-500,红茶 500ml,-1,"


def sku_codes() -> list[str]:
    from jinggeng.catalog.models import Sku

    return sorted(Sku.objects.values_list("code", flat=True))


def test_registry_knows_every_entity() -> None:
    assert {"accounts", "contacts", "products", "employees"} <= set(registry.entities())


def test_dry_run_writes_nothing(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    audit_before = AuditLog.objects.count()
    report = run_import(spec, products_csv(*GOOD, BAD), administrator, DRY_RUN, filename="p.csv")
    assert (report.created, report.updated, report.refused, report.total) == (2, 0, 1, 3)
    assert report.committed is False
    assert sku_codes() == []
    assert AuditLog.objects.count() == audit_before
    refused = report.refused_rows
    assert [r.row for r in refused] == [4]
    assert {(e.column, e.label) for e in refused[0].errors} == {("brand", "品牌编码")}


def test_atomic_import_with_one_bad_row_writes_nothing(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(*GOOD, BAD), administrator, ATOMIC)
    assert report.blocked is True and report.committed is False
    assert sku_codes() == []
    assert not AuditLog.objects.filter(action=AuditAction.IMPORT).exists()


def test_service_errors_refuse_the_row_in_atomic_mode(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(GOOD[0], "P1,绿茶,JG,TEA,GT-2L,绿茶 2L,abc,123"), administrator, ATOMIC)
    assert report.blocked is True
    assert sku_codes() == []
    messages = {(e.row, e.column) for e in report.errors}
    assert messages == {(3, "base_price"), (3, "barcode")}


def test_valid_only_writes_the_valid_rows(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(*GOOD, BAD), administrator, VALID_ONLY, filename="p.csv")
    assert report.committed is True
    assert (report.created, report.refused) == (2, 1)
    assert sku_codes() == ["GT-1L", "GT-500"]
    log = AuditLog.objects.get(action=AuditAction.IMPORT)
    assert log.entity == "catalog.sku"
    assert log.changes["created"] == 2 and log.changes["refused"] == 1 and log.changes["file"] == "p.csv"
    assert log.actor_id == administrator.pk


def test_reimport_updates_instead_of_duplicating(administrator, catalog_base) -> None:
    from jinggeng.catalog.models import Product, Sku

    spec = registry.import_spec("products")
    run_import(spec, products_csv(*GOOD), administrator, ATOMIC)
    report = run_import(
        spec,
        products_csv("P1,绿茶（新）,JG,TEA,GT-500,绿茶 500ml,3.80,", GOOD[1], header=HEADER_EN),
        administrator,
        ATOMIC,
    )
    assert (report.created, report.updated, report.refused) == (0, 2, 0)
    assert Sku.objects.count() == 2 and Product.objects.count() == 1
    assert str(Sku.objects.get(code="GT-500").base_price) == "3.80"
    assert Product.objects.get(code="P1").name == "绿茶（新）"


def test_same_code_twice_in_one_file_is_refused(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(GOOD[0], GOOD[0]), administrator, VALID_ONLY)
    assert report.created == 1 and report.refused == 1
    assert report.refused_rows[0].errors[0].message == "与第 2 行的编码重复"


def test_missing_column_is_a_clear_error(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    with pytest.raises(FileRejected) as caught:
        run_import(spec, io.BytesIO("产品名称,SKU 名称\n绿茶,绿茶 500ml\n".encode()), administrator, DRY_RUN)
    assert "产品编码（product_code）" in caught.value.message
    assert "SKU 编码（code）" in caught.value.message


def test_import_needs_the_permissions(rep, catalog_base) -> None:
    from jinggeng.core.errors import PermissionDenied

    spec = registry.import_spec("products")
    with pytest.raises(PermissionDenied):
        run_import(spec, products_csv(*GOOD), rep, ATOMIC)
    assert sku_codes() == []


def test_error_report_xlsx_lists_row_column_and_message_neutralised(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    evil = 'P3,=HYPERLINK("x"),=EVIL,TEA,=CMD(1),名,1,'
    report = run_import(spec, products_csv(evil), administrator, DRY_RUN)
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        write_error_report(report, buffer)
    workbook = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    values = list(workbook.active.iter_rows(values_only=True))
    assert values[0] == ("行号", "类型", "列", "信息", "记录")
    assert values[1] == (2, "错误", "品牌编码", "品牌“=EVIL”不存在", "'=CMD(1) 名")
    assert workbook.active["E2"].data_type == "s"
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for c in row]
    assert "'=CMD(1) 名" in cells
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "-", "@")) for c in cells)


def test_report_survives_json_round_trip(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(*GOOD, BAD), administrator, DRY_RUN)
    again = ImportReport.from_dict(report.to_dict())
    assert again == report


def test_fast_xlsx_reader_matches_openpyxl(monkeypatch) -> None:
    import datetime as dt

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    from jinggeng.core.tabular import readers

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编码", "名称", "电话"])
    sheet.append(["A1", "甲", 13800138000])
    sheet.append([None, None, None])
    sheet.append(["A2", dt.date(2024, 5, 1), True])
    sheet["A6"] = "A3"
    sheet["C6"] = 1.5
    sheet["B7"] = CellRichText([TextBlock(InlineFont(b=True), "粗"), "体"])
    sheet["A7"] = "=1+1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    fast = rows_of(data)
    monkeypatch.setattr(readers, "_fast_workbook", lambda fileobj: None)
    slow = rows_of(data)
    assert fast == slow
    assert fast[:3] == [
        (2, {"code": "A1", "name": "甲", "phone": "13800138000"}),
        (4, {"code": "A2", "name": "2024-05-01", "phone": "true"}),
        (6, {"code": "A3", "phone": "1.5"}),
    ]


def test_error_report_has_every_rows_outcome(administrator, catalog_base) -> None:
    spec = registry.import_spec("products")
    report = run_import(spec, products_csv(*GOOD, BAD), administrator, DRY_RUN)
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        write_error_report(report, buffer)
    outcomes = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["逐行结果"]
    assert list(outcomes.iter_rows(values_only=True)) == [
        ("行号", "结果", "记录"),
        (2, "新建", "GT-500 绿茶 500ml"),
        (3, "新建", "GT-1L 绿茶 1L"),
        (4, "拒绝", "RT-500 红茶 500ml"),
    ]


def test_xlsx_without_dimension_reads_every_row() -> None:
    """Files written without a <dimension> element (as many generators do) are read in full
    without openpyxl's whole-sheet size scan; the row count is then unknown."""
    from jinggeng.core.tabular import readers

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编码", "名称"])
    for n in range(1, 6):
        sheet.append([f"A{n}", f"客户{n}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as original, zipfile.ZipFile(source, "w") as stripped:
        for item in original.infolist():
            content = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b"<dimension" in content
                content = re.sub(rb"<dimension[^>]*/>", b"", content)
            stripped.writestr(item, content)
    table = readers._open_xlsx(io.BytesIO(source.getvalue()))
    assert table.total_rows is None
    assert [values for _n, values in table.rows] == [["编码", "名称"]] + [[f"A{n}", f"客户{n}"] for n in range(1, 6)]
    with_dimension = readers._open_xlsx(io.BytesIO(buffer.getvalue()))
    assert with_dimension.total_rows == 6
