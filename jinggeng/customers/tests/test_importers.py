"""Importing and exporting accounts and contacts (jinggeng.customers.importers)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import translation

from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.core.tabular import registry
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, run_export, run_import
from jinggeng.customers.models import Account, AccountType, Contact, CustomFieldDefinition, CustomFieldType
from jinggeng.customers.tests.factories import AccountFactory, ContactFactory


@pytest.fixture(autouse=True)
def _chinese():
    """Messages and headers are asserted in Chinese, whatever an earlier test activated."""
    with translation.override("zh-hans"):
        yield


HEADER = "客户编码,客户名称,客户类型,行政区划代码,负责人,所属组织编码,电话,等级,标签,信用额度"


def csv_file(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode(encoding))


def accounts() -> registry.ImportSpec:  # type: ignore[name-defined]
    spec = registry.import_spec("accounts")
    assert spec is not None
    return spec


ROWS = [
    "C001,上海惠民超市,终端,310115,rep,A-SH,13800138000,A,重点、新店,5000",
    "C002,浦东糖酒批发部,二批,310115,rep,A-SH,021-58881234,B,,0",
    "C003,华东食品经销公司,distributor,310101,am,A-SH,,A,,100000",
]


@pytest.fixture
def people(rep, area_manager, general_manager, outsider):
    return rep, area_manager, general_manager, outsider


def test_import_creates_accounts_with_labels_in_either_language(people, general_manager) -> None:
    report = run_import(accounts(), csv_file(*ROWS), general_manager, ATOMIC, filename="a.csv")
    assert (report.created, report.updated, report.refused) == (3, 0, 0)
    assert report.committed
    c1 = Account.objects.get(code="C001")
    assert c1.account_type == AccountType.OUTLET
    assert c1.owner.username == "rep" and c1.org_unit.code == "A-SH"
    assert c1.grade == "A" and c1.credit_limit == Decimal("5000")
    assert sorted(c1.tags.values_list("name", flat=True)) == ["新店", "重点"]
    assert Account.objects.get(code="C003").account_type == AccountType.DISTRIBUTOR
    assert AuditLog.objects.filter(entity="customers.account", action=AuditAction.CREATE).count() == 3
    summary = AuditLog.objects.get(action=AuditAction.IMPORT)
    assert summary.entity == "customers.account"
    assert summary.changes["created"] == 3


def test_gbk_file_with_english_headers(people, general_manager) -> None:
    header = "Account code,Account name,Account type,Division code,Owner,Org unit code"
    data = csv_file(
        "C010,南京路便利店,outlet,310101,rep,A-SH",
        "C011,南京路批发部,WHOLESALER,310101,rep,A-SH",
        "C012,南京路商贸公司,Distributor,310101,rep,A-SH",
        "C013,南京路烟酒店,outlet shop,310101,rep,A-SH",
        header=header,
        encoding="gbk",
    )
    with translation.override("zh-hans"):
        report = run_import(accounts(), data, general_manager, VALID_ONLY)
    assert (report.created, report.refused) == (3, 1)
    assert Account.objects.get(code="C010").name == "南京路便利店"
    # Codes and English labels in any case, even while Chinese is active.
    assert Account.objects.get(code="C011").account_type == AccountType.WHOLESALER
    assert Account.objects.get(code="C012").account_type == AccountType.DISTRIBUTOR
    (error,) = report.errors
    assert (error.row, error.column) == (5, "account_type")
    assert "outlet shop" in error.message and "经销商、二批、终端" in error.message


def test_dry_run_writes_nothing(people, general_manager) -> None:
    before = AuditLog.objects.count()
    report = run_import(accounts(), csv_file(*ROWS), general_manager, DRY_RUN)
    assert (report.created, report.refused) == (3, 0)
    assert Account.objects.count() == 0
    assert AuditLog.objects.count() == before


def test_atomic_with_one_bad_row_imports_nothing_and_names_the_cells(people, general_manager) -> None:
    bad = "C004,,批发,999999,nobody,A-SH,123,Z,,-1"
    report = run_import(accounts(), csv_file(*ROWS, bad), general_manager, ATOMIC)
    assert report.blocked and not report.committed
    assert Account.objects.count() == 0
    assert not AuditLog.objects.filter(entity="customers.account").exists()
    cells = {(e.row, e.column) for e in report.errors}
    assert {
        (5, "name"),
        (5, "account_type"),
        (5, "division"),
        (5, "owner"),
        (5, "phone"),
        (5, "grade"),
        (5, "credit_limit"),
    } <= cells
    labels = {e.label for e in report.errors}
    assert "客户名称" in labels


def test_valid_only_imports_the_valid_rows(people, general_manager) -> None:
    bad = "C004,坏行,终端,999999,rep,A-SH,,,,"
    report = run_import(accounts(), csv_file(*ROWS, bad), general_manager, VALID_ONLY)
    assert (report.created, report.refused) == (3, 1)
    assert sorted(Account.objects.values_list("code", flat=True)) == ["C001", "C002", "C003"]


def test_reimport_with_codes_updates_instead_of_duplicating(people, general_manager) -> None:
    run_import(accounts(), csv_file(*ROWS), general_manager, ATOMIC)
    changed = ROWS[0].replace("上海惠民超市", "上海惠民超市（旗舰店）")
    report = run_import(accounts(), csv_file(changed, *ROWS[1:]), general_manager, ATOMIC)
    assert (report.created, report.updated, report.refused) == (0, 3, 0)
    assert report.unchanged == 2
    assert Account.objects.count() == 3
    assert Account.objects.get(code="C001").name == "上海惠民超市（旗舰店）"
    assert AuditLog.objects.filter(entity="customers.account", action=AuditAction.UPDATE).count() == 1


def test_suspected_duplicate_is_a_warning_not_a_refusal(people, general_manager, rep) -> None:
    AccountFactory(name="老客户", phone="13800138000", owner=rep)
    report = run_import(
        accounts(), csv_file(ROWS[0], "C009,另一家店,终端,310115,rep,A-SH,13800138000,,,"), general_manager, ATOMIC
    )
    assert report.committed and report.created == 2
    warnings = {r.row: r.warnings for r in report.rows if r.warnings}
    assert set(warnings) == {2, 3}
    assert "老客户" in warnings[2][0]
    assert any("第 2 行" in w for w in warnings[3])


def test_custom_field_columns(people, general_manager) -> None:
    CustomFieldDefinition.objects.create(key="area", label="面积", label_en="Area", field_type=CustomFieldType.NUMBER)
    columns = [c.key for c in accounts().columns()]
    assert "custom.area" in columns
    data = csv_file(
        "C020,带面积的店,终端,310115,rep,A-SH,120",
        header="客户编码,客户名称,客户类型,行政区划代码,负责人,所属组织编码,面积",
    )
    report = run_import(accounts(), data, general_manager, ATOMIC)
    assert report.created == 1
    assert Account.objects.get(code="C020").custom == {"area": 120}
    bad = csv_file(
        "C021,x,终端,310115,rep,A-SH,很大", header="code,name,account_type,division,owner,org_unit,custom.area"
    )
    report = run_import(accounts(), bad, general_manager, ATOMIC)
    assert [(e.column, e.label) for e in report.errors] == [("custom.area", "面积")]


def test_outsider_cannot_import_into_another_region(people, outsider) -> None:
    report = run_import(accounts(), csv_file(*ROWS), outsider, ATOMIC)
    assert report.blocked
    assert Account.objects.count() == 0
    assert {e.column for e in report.errors} <= {"owner", "org_unit"}


def test_outsider_cannot_update_another_regions_account_by_code(people, outsider, rep) -> None:
    account = AccountFactory(code="C001", name="上海惠民超市", owner=rep)
    data = csv_file("C001,改名了,终端,110101,,A-BJ,,,,")
    report = run_import(accounts(), data, outsider, VALID_ONLY)
    assert report.refused == 1 and report.created == 0
    account.refresh_from_db()
    assert account.name == "上海惠民超市" and account.version == 1
    assert not AuditLog.objects.filter(entity="customers.account", entity_id=str(account.pk)).exists()


def test_rep_may_not_import_accounts(people, rep) -> None:
    from jinggeng.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_import(accounts(), csv_file(*ROWS), rep, ATOMIC)
    assert Account.objects.count() == 0


# --- export ------------------------------------------------------------------------------------


def export_rows(actor, fmt: str = "xlsx", **filters: str) -> list[tuple]:
    spec = registry.export_spec("accounts")
    buffer = io.BytesIO()
    with translation.override("zh-hans"):
        run_export(spec, buffer, actor, fmt, filters=filters)
    if fmt == "csv":
        import csv

        return [tuple(r) for r in csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig")))]
    return list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True))


def test_export_is_scoped_outsider_sees_none_of_another_region(people, rep, outsider) -> None:
    AccountFactory(code="SH-1", name="上海店", owner=rep)
    AccountFactory(code="BJ-1", name="北京店", owner=outsider, division_id="110101")
    rows = export_rows(outsider)
    assert [r[0] for r in rows[1:]] == ["BJ-1"]
    assert rows[0][:2] == ("客户编码", "客户名称")


def test_export_respects_filters_and_neutralises_formulas(people, rep, general_manager) -> None:
    AccountFactory(code="F-1", name='=HYPERLINK("http://evil")', owner=rep, grade="A", notes="@SUM(1)")
    AccountFactory(code="F-2", name="普通店", owner=rep, grade="B")
    rows = export_rows(general_manager, grade="A")
    assert len(rows) == 2
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert "'@SUM(1)" in rows[1]
    csv_rows = export_rows(general_manager, "csv")
    assert sorted(r[1] for r in csv_rows[1:]) == ['\'=HYPERLINK("http://evil")', "普通店"]


def test_export_then_reimport_changes_nothing(people, rep, general_manager) -> None:
    AccountFactory(code="R-1", name="往返店", owner=rep, phone="13900001111", division_id="310115")
    spec = registry.export_spec("accounts")
    buffer = io.BytesIO()
    run_export(spec, buffer, general_manager, "xlsx")
    buffer.seek(0)
    report = run_import(accounts(), buffer, general_manager, ATOMIC)
    assert (report.created, report.updated, report.refused) == (0, 1, 0), report.errors
    assert report.unchanged == 1


# --- contacts ----------------------------------------------------------------------------------


def test_contacts_import_and_reimport(people, rep, general_manager) -> None:
    AccountFactory(code="C001", name="上海惠民超市", owner=rep)
    spec = registry.import_spec("contacts")
    header = "联系人编码,客户编码,姓名,职务,手机,主要联系人"
    report = run_import(
        spec,
        csv_file("K1,C001,王老板,店主,13700001111,是", "K2,NOPE,李四,,,", header=header),
        general_manager,
        VALID_ONLY,
    )
    assert (report.created, report.refused) == (1, 1)
    assert report.refused_rows[0].errors[0].column == "account"
    contact = Contact.objects.get(code="K1")
    assert contact.is_primary and contact.phone == "13700001111"
    report = run_import(spec, csv_file("K1,C001,王老板,总经理,,", header=header), general_manager, ATOMIC)
    assert (report.created, report.updated) == (0, 1)
    assert Contact.objects.count() == 1
    contact.refresh_from_db()
    assert contact.role == "总经理" and contact.phone == "13700001111"


def test_contacts_export_is_scoped(people, rep, outsider) -> None:
    ContactFactory(account=AccountFactory(code="SH-1", owner=rep), name="上海联系人")
    ContactFactory(account=AccountFactory(code="BJ-1", owner=outsider, division_id="110101"), name="北京联系人")
    spec = registry.export_spec("contacts")
    buffer = io.BytesIO()
    run_export(spec, buffer, outsider, "xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["北京联系人"]
