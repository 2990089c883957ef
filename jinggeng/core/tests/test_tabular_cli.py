"""`jinggeng import` / `jinggeng export` (the import_data and export_data commands)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


HEADER = "产品编码,产品名称,品牌编码,品类编码,SKU 编码,SKU 名称,基准价"
GOOD = ["P1,绿茶,JG,TEA,GT-500,绿茶 500ml,3.50", "P1,绿茶,JG,TEA,GT-1L,绿茶 1L,6.00"]
BAD = "P2,红茶,NOPE,TEA,RT-500,红茶 500ml,1"


@pytest.fixture
def catalog_base(db):
    from jinggeng.catalog.models import Brand, Category

    Brand.objects.create(code="JG", name="精耕")
    category = Category.objects.create(code="TEA", name="茶饮料")
    category.path = f"/{category.pk}/"
    category.save(update_fields=["path"])


def write(tmp_path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "products.csv"
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode(encoding))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, "--no-progress", "--language", "zh-hans", stdout=out)
    return out.getvalue()


def sku_codes() -> list[str]:
    from jinggeng.catalog.models import Sku

    return sorted(Sku.objects.values_list("code", flat=True))


def test_cli_import_atomic_blocked_exits_non_zero(tmp_path, administrator, catalog_base) -> None:
    path = write(tmp_path, *GOOD, BAD, encoding="gbk")
    report = tmp_path / "errors.xlsx"
    with pytest.raises(CommandError, match="没有导入任何数据"):
        run("import_data", "products", str(path), "--as", administrator.username, "--report", str(report))
    assert sku_codes() == []
    rows = list(openpyxl.load_workbook(report).active.iter_rows(values_only=True))
    assert rows[1][:4] == (4, "错误", "品牌编码", "品牌“NOPE”不存在")


def test_cli_dry_run_and_valid_only(tmp_path, administrator, catalog_base) -> None:
    path = write(tmp_path, *GOOD, BAD)
    output = run("import_data", "products", str(path), "--as", administrator.username, "--dry-run")
    assert "新建 2，更新 0，拒绝 1" in output
    assert "第 4 行 [品牌编码]：品牌“NOPE”不存在" in output
    assert sku_codes() == []
    output = run("import_data", "products", str(path), "--as", administrator.username, "--valid-only")
    assert "已保存" in output
    assert sku_codes() == ["GT-1L", "GT-500"]


def test_cli_unknown_user_entity_and_permission(tmp_path, rep, catalog_base) -> None:
    path = write(tmp_path, *GOOD)
    with pytest.raises(CommandError, match="用户不存在"):
        run("import_data", "products", str(path), "--as", "ghost")
    with pytest.raises(CommandError, match="不能导入"):
        run("import_data", "widgets", str(path), "--as", rep.username)
    with pytest.raises(CommandError, match="权限"):
        run("import_data", "products", str(path), "--as", rep.username)
    assert sku_codes() == []


def test_cli_refuses_a_non_spreadsheet(tmp_path, administrator, catalog_base) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"\x00\x01binary" * 100)
    with pytest.raises(CommandError, match="不是 Excel"):
        run("import_data", "products", str(path), "--as", administrator.username)


def test_cli_export_scoped_with_filters(tmp_path, rep, outsider, general_manager) -> None:
    from jinggeng.customers.tests.factories import AccountFactory

    AccountFactory(code="SH-A", name="上海甲", owner=rep, grade="A")
    AccountFactory(code="SH-B", name="=1+1", owner=rep, grade="B")
    AccountFactory(code="BJ-A", name="北京甲", owner=outsider, grade="A", division_id="110101")
    out = tmp_path / "accounts.xlsx"
    output = run("export_data", "accounts", str(out), "--as", outsider.username)
    assert "已导出 1 行" in output
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["BJ-A"]
    csv_out = tmp_path / "accounts.csv"
    run("export_data", "accounts", str(csv_out), "--as", general_manager.username, "--filter", "grade=B")
    text = csv_out.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    assert text.decode("utf-8-sig").splitlines()[1].startswith("SH-B,'=1+1,")
    with pytest.raises(CommandError, match="key=value"):
        run("export_data", "accounts", str(csv_out), "--as", general_manager.username, "--filter", "grade")


def test_main_maps_import_and_export(monkeypatch) -> None:
    from jinggeng import __main__

    seen: list[list[str]] = []
    monkeypatch.setattr("django.core.management.execute_from_command_line", lambda argv: seen.append(argv))
    __main__.main(["import", "accounts", "a.xlsx", "--as", "gm"])
    __main__.main(["export", "accounts", "a.xlsx", "--as", "gm"])
    assert seen == [
        ["jinggeng", "import_data", "accounts", "a.xlsx", "--as", "gm"],
        ["jinggeng", "export_data", "accounts", "a.xlsx", "--as", "gm"],
    ]


def test_cli_progress_bar_runs(tmp_path, administrator, catalog_base, capsys) -> None:
    path = write(tmp_path, *GOOD)
    out = io.StringIO()
    call_command("import_data", "products", str(path), "--as", administrator.username, "--dry-run", stdout=out)
    assert "新建 2" in out.getvalue() or "created" in out.getvalue().lower()
    assert sku_codes() == []
