"""Orders (with lines) and payments (with allocations) from and to spreadsheets: each format,
dry run, atomic and valid-only modes, row and column in the error report, scope, audit,
bad input, re-import and round trip."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from jinggeng.core.models import AuditLog
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, run_export, run_import, write_error_report
from jinggeng.core.tabular.registry import export_spec, import_spec
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.orders import services
from jinggeng.orders.models import OrderLine, OrderStatus, PaymentAllocation, PaymentReceipt, SalesOrder

ORDER_HEADER = "订单号,客户编码,下单日期,账期（天）,备注,SKU 编码,单位,数量,价目价（每件）,折扣（%）"
PAYMENT_HEADER = "回款单号,客户编码,金额,回款日期,方式,凭证号,核销订单号,核销金额"


def as_csv(*lines: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode(encoding))


def as_xlsx(*lines: str) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    for line in lines:
        sheet.append([cell if cell != "" else None for cell in line.split(",")])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def export_text(entity: str, actor, **filters) -> tuple[int, str]:
    out = io.BytesIO()
    count = run_export(export_spec(entity), out, actor, "csv", filters=filters)
    return count, out.getvalue().decode("utf-8-sig")


def audit_count() -> int:
    return AuditLog.objects.count()


@pytest.fixture
def shop(account):
    account.code = "KA-SH-1"
    account.save(update_fields=["code"])
    return account


@pytest.fixture
def far_shop(far_account):
    far_account.code = "KA-BJ-1"
    far_account.save(update_fields=["code"])
    return far_account


def order_rows(code: str = "KA-SH-1") -> tuple[str, ...]:
    return (
        ORDER_HEADER,
        f"A-1,{code},2026-03-01,45,首单,SKU-COLA,箱,2,,10",
        f"A-1,{code},,,,SKU-COLA,pack,3,3.00,",
        f"B-1,{code},2026-03-02,,,SKU-COLA,,12,,",
    )


# --------------------------------------------------------------------------- order import


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "gbk", "xlsx"])
def test_order_import_creates_priced_drafts_in_each_format(rep, shop, sku, fmt):
    source = {"csv": lambda r: as_csv(*r), "gbk": lambda r: as_csv(*r, encoding="gbk"), "xlsx": lambda r: as_xlsx(*r)}
    report = run_import(import_spec("orders"), source[fmt](order_rows()), rep, ATOMIC)
    assert report.committed and (report.created, report.refused) == (3, 0), report.errors
    assert report.encoding.lower().replace("-", "") in ({"gbk": "gb18030"}.get(fmt, "utf8"), "utf8sig", "")
    a = SalesOrder.objects.get(idempotency_key="import:a-1")
    b = SalesOrder.objects.get(idempotency_key="import:b-1")
    assert (a.status, a.account_id, a.created_by_id, a.notes, a.payment_terms_days) == (
        OrderStatus.DRAFT,
        shop.pk,
        rep.pk,
        "首单",
        45,
    )
    assert str(a.due_date) == "2026-04-15"
    lines = list(a.lines.order_by("line_no").values_list("unit", "quantity_pieces", "list_price", "net_price"))
    # 2 箱 = 48 瓶 at the SKU's base price less 10 %; 3 提 = 18 瓶 at the manual price 3.00
    assert lines == [
        ("case", Decimal("48.000"), Decimal("3.50"), Decimal("3.15")),
        ("pack", Decimal("18.000"), Decimal("3.00"), Decimal("3.00")),
    ]
    assert a.total_amount == Decimal("205.20")  # 48 × 3.15 + 18 × 3.00
    assert b.total_amount == Decimal("42.00") and b.lines.get().unit == "piece"
    assert a.number.startswith("SO20260301")
    # Every order audited by the service, plus one record for the import.
    assert AuditLog.objects.filter(entity="orders.salesorder", action="create").count() == 2
    assert AuditLog.objects.filter(entity="orders.salesorder", action="import").count() == 1


@pytest.mark.django_db
def test_order_dry_run_writes_nothing(rep, shop, sku):
    before = audit_count()
    report = run_import(import_spec("orders"), as_csv(*order_rows()), rep, DRY_RUN)
    assert (report.created, report.refused, report.committed) == (3, 0, False)
    assert SalesOrder.objects.count() == 0 and OrderLine.objects.count() == 0
    assert audit_count() == before


@pytest.mark.django_db
def test_one_bad_row_in_atomic_mode_writes_nothing_and_reports_row_and_column(rep, shop, sku):
    rows = (*order_rows(), "C-1,KA-SH-1,2026-03-03,,,SKU-COLA,箱,-1,,")
    before = audit_count()
    report = run_import(import_spec("orders"), as_csv(*rows), rep, ATOMIC)
    assert report.blocked and not report.committed
    assert SalesOrder.objects.count() == 0 and audit_count() == before
    assert [(e.row, e.column) for e in report.errors] == [(5, "quantity")]
    out = io.BytesIO()
    write_error_report(report, out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    lines = [[c.value for c in row] for row in sheet.iter_rows()]
    assert lines[0][:3] == ["行号", "类型", "列"]
    assert lines[1][0] == 5 and lines[1][2] == "数量"
    # valid-only: the bad order is refused, the others are imported
    report = run_import(import_spec("orders"), as_csv(*rows), rep, VALID_ONLY)
    assert (report.created, report.refused) == (3, 1)
    assert SalesOrder.objects.count() == 2


@pytest.mark.django_db
def test_bad_line_refuses_its_whole_order(rep, shop, sku):
    rows = (ORDER_HEADER, "A-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,2,,", "A-1,KA-SH-1,,,,SKU-COLA,桶,1,,")
    report = run_import(import_spec("orders"), as_csv(*rows), rep, VALID_ONLY)
    assert report.refused == 2 and report.created == 0
    assert [(e.row, e.column) for e in report.errors] == [(2, ""), (3, "unit")]
    assert "第 3 行" in report.errors[0].message and "未知单位" in report.errors[1].message
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_inconsistent_header_names_row_and_column(rep, shop, sku):
    AccountFactory(owner=rep, code="KA-SH-2")
    rows = (ORDER_HEADER, "A-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,2,,", "A-1,KA-SH-2,2026-03-01,,,SKU-COLA,箱,1,,")
    report = run_import(import_spec("orders"), as_csv(*rows), rep, ATOMIC)
    assert report.blocked and SalesOrder.objects.count() == 0
    errors = [(e.row, e.column) for e in report.errors]
    assert errors == [(2, ""), (3, "account")]
    assert "第 2 行" in report.errors[1].message and "KA-SH-2" in report.errors[1].message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cells, column, text",
    [
        ("SKU-COLA,箱,0,,", "quantity", "必须大于 0"),
        ("SKU-COLA,箱,-3,,", "quantity", "必须大于 0"),
        ("SKU-COLA,箱,,,", "quantity", "请填写数量"),
        ("SKU-COLA,吨,1,,", "unit", "未知单位"),
        ("NO-SUCH,箱,1,,", "sku", "找不到 SKU"),
        ("SKU-COLA,箱,1,-0.01,", "list_price", "不能小于 0"),
        ("SKU-COLA,箱,1,,120", "discount_percent", "不能大于 100"),
        ("SKU-COLA,箱,abc,,", "quantity", "有效的数字"),
    ],
)
def test_bad_line_values_are_refused_with_their_column(rep, shop, sku, cells, column, text):
    rows = (ORDER_HEADER, f"A-1,KA-SH-1,2026-03-01,,,{cells}")
    report = run_import(import_spec("orders"), as_csv(*rows), rep, VALID_ONLY)
    assert report.refused == 1 and SalesOrder.objects.count() == 0
    assert report.errors[0].column == column and text in report.errors[0].message, report.errors


@pytest.mark.django_db
def test_bad_header_values_are_refused(rep, shop, sku):
    rows = (
        ORDER_HEADER,
        "A-1,KA-SH-1,2026-02-30,,,SKU-COLA,箱,1,,",
        "B-1,KA-SH-1,,-5,,SKU-COLA,箱,1,,",
        "C-1,NO-SUCH,,,,SKU-COLA,箱,1,,",
        ",KA-SH-1,,,,SKU-COLA,箱,1,,",
    )
    report = run_import(import_spec("orders"), as_csv(*rows), rep, VALID_ONLY)
    assert report.refused == 4 and SalesOrder.objects.count() == 0
    assert [(e.row, e.column) for e in report.errors] == [
        (2, "order_date"),
        (3, "payment_terms_days"),
        (4, "account"),
        (5, "number"),
    ]


@pytest.mark.django_db
def test_outsider_import_is_refused_per_row_and_changes_nothing(outsider, rep, shop, far_shop, sku, make_order):
    existing = make_order(rep, shop)
    before = audit_count()
    rows = (
        ORDER_HEADER,
        "A-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,2,,",
        f"{existing.number},KA-SH-1,2026-03-01,,,SKU-COLA,箱,99,,",
    )
    for mode in (DRY_RUN, ATOMIC, VALID_ONLY):
        report = run_import(import_spec("orders"), as_csv(*rows), outsider, mode)
        assert report.refused == 2 and report.created == 0
        assert [e.message for e in report.errors] == ["客户不存在：KA-SH-1"] * 2  # no hint the account exists
    assert SalesOrder.objects.count() == 1
    existing_after = SalesOrder.objects.get(pk=existing.pk)
    assert (existing_after.version, existing_after.total_amount) == (existing.version, existing.total_amount)
    assert audit_count() == before + 1  # the valid-only run's import record (0 created), nothing else
    assert AuditLog.objects.filter(action="import", actor=outsider).get().changes["created"] == 0


@pytest.mark.django_db
def test_reimport_is_unchanged_then_updates_drafts_and_refuses_submitted(rep, shop, sku):
    spec = import_spec("orders")
    run_import(spec, as_csv(*order_rows()), rep, ATOMIC)
    audits = audit_count()
    report = run_import(spec, as_csv(*order_rows()), rep, ATOMIC)
    assert (report.created, report.updated, report.unchanged, report.refused) == (0, 3, 3, 0)
    assert SalesOrder.objects.count() == 2 and audit_count() == audits + 1  # the import record only
    changed = (ORDER_HEADER, "b-1,KA-SH-1,2026-03-02,,,SKU-COLA,,24,,")  # the reference in another case
    report = run_import(spec, as_csv(*changed), rep, ATOMIC)
    assert (report.updated, report.unchanged) == (1, 0)
    b = SalesOrder.objects.get(idempotency_key="import:b-1")
    assert (b.version, b.total_amount) == (2, Decimal("84.00"))
    SalesOrder.objects.filter(pk=b.pk).update(status=OrderStatus.APPROVED)
    report = run_import(spec, as_csv(ORDER_HEADER, "B-1,KA-SH-1,2026-03-02,,,SKU-COLA,,30,,"), rep, ATOMIC)
    assert report.blocked and report.errors[0].column == "number" and "只有草稿" in report.errors[0].message
    assert SalesOrder.objects.get(pk=b.pk).total_amount == Decimal("84.00")


@pytest.mark.django_db
def test_export_is_scoped_one_row_per_line_and_round_trips(rep, outsider, shop, far_shop, sku, make_order):
    mine = make_order(rep, shop, quantity="2", discount="5")
    services.order_line_add(actor=rep, order_id=mine.pk, data={"sku": sku.code, "unit": "pack", "quantity": "1"})
    approved = make_order(rep, shop, quantity="1", status=OrderStatus.APPROVED)
    theirs = make_order(outsider, far_shop)
    count, text = export_text("orders", rep)
    assert count == 3 and mine.number in text and approved.number in text and theirs.number not in text
    assert text.count(mine.number) == 2
    count, text = export_text("orders", outsider)
    assert count == 1 and theirs.number in text and mine.number not in text
    # The exported file imports as it is: every order is found and unchanged.
    out = io.BytesIO()
    run_export(export_spec("orders"), out, rep, "xlsx")
    report = run_import(import_spec("orders"), io.BytesIO(out.getvalue()), rep, ATOMIC)
    assert (report.refused, report.created, report.updated, report.unchanged) == (0, 0, 3, 3), report.errors
    # … and the same file with a changed quantity updates the draft.
    _count, text = export_text("orders", rep)
    lines = text.splitlines()
    edited = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == mine.number and cells[9] == "2":  # the second line (1 提)
            cells[13] = "5"
        edited.append(",".join(cells))
    report = run_import(import_spec("orders"), as_csv(*edited), rep, ATOMIC)
    assert (report.refused, report.updated, report.unchanged) == (0, 3, 1), report.errors
    mine.refresh_from_db()
    assert mine.version == 3 and [ln.quantity for ln in mine.lines.order_by("line_no")] == [
        Decimal("2.000"),
        Decimal("5.000"),
    ]


@pytest.mark.django_db
def test_rows_past_the_limit_are_refused_with_their_order(rep, shop, sku, monkeypatch):
    spec = import_spec("orders")
    monkeypatch.setattr(spec, "batch_size", 4)
    rows = (
        ORDER_HEADER,
        "A-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
        "B-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
        "B-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
        "B-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
        "C-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
        "C-1,KA-SH-1,2026-03-01,,,SKU-COLA,箱,1,,",
    )
    report = run_import(spec, as_csv(*rows), rep, VALID_ONLY)
    assert (report.created, report.refused) == (1, 5)
    assert list(SalesOrder.objects.values_list("idempotency_key", flat=True)) == ["import:a-1"]
    assert "拆分" in report.refused_rows[-1].errors[0].message


# --------------------------------------------------------------------------- payments


@pytest.fixture
def receivables(rep, shop, sku, make_order):
    """Two approved orders of the rep's shop: 420.00 and 84.00."""
    a = make_order(rep, shop, quantity="5", status=OrderStatus.APPROVED)
    b = make_order(rep, shop, quantity="1", status=OrderStatus.APPROVED)
    return a, b


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "gbk", "xlsx"])
def test_payment_import_with_allocations(rep, shop, receivables, fmt):
    a, b = receivables
    rows = (
        PAYMENT_HEADER,
        f"P-1,KA-SH-1,600,2026-03-10,银行转账,HX001,{a.number},420",
        f"P-1,KA-SH-1,600,2026-03-10,银行转账,HX001,{b.number},50",
        "P-2,KA-SH-1,100,2026-03-11,cash,,,",
    )
    source = {"csv": as_csv(*rows), "gbk": as_csv(*rows, encoding="gbk"), "xlsx": as_xlsx(*rows)}[fmt]
    report = run_import(import_spec("payments"), source, rep, ATOMIC)
    assert report.committed and (report.created, report.refused) == (3, 0), report.errors
    p1 = PaymentReceipt.objects.get(idempotency_key="import:p-1")
    p2 = PaymentReceipt.objects.get(idempotency_key="import:p-2")
    assert (p1.amount, p1.allocated_amount, p1.method, p1.reference) == (
        Decimal("600.00"),
        Decimal("470.00"),
        "bank_transfer",
        "HX001",
    )
    assert (p2.method, p2.allocated_amount) == ("cash", Decimal("0"))
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.allocated_amount, b.allocated_amount) == (Decimal("420.00"), Decimal("50.00"))
    assert AuditLog.objects.filter(entity="orders.paymentallocation", action="create").count() == 2
    assert AuditLog.objects.filter(entity="orders.paymentreceipt", action="import").count() == 1


@pytest.mark.django_db
def test_payment_over_allocation_and_other_accounts_orders_are_refused(rep, shop, receivables, make_order, outsider):
    a, b = receivables
    other_shop = AccountFactory(owner=rep, code="KA-SH-2")
    other = make_order(rep, other_shop, quantity="1", status=OrderStatus.APPROVED)
    far = make_order(outsider, AccountFactory(owner=outsider, division_id="110105", city_code="110100"))
    draft = make_order(rep, shop)
    rows = (
        PAYMENT_HEADER,
        f"P-1,KA-SH-1,100,2026-03-10,,,{a.number},100",
        f"P-1,KA-SH-1,100,2026-03-10,,,{b.number},1",  # the receipt's balance is spent
        f"P-2,KA-SH-1,900,2026-03-10,,,{b.number},85",  # more than the order's 84.00
        f"P-3,KA-SH-1,50,2026-03-10,,,{other.number},10",  # another account's order
        f"P-4,KA-SH-1,50,2026-03-10,,,{far.number},10",  # out of scope: as if it did not exist
        f"P-5,KA-SH-1,50,2026-03-10,,,{draft.number},10",  # a draft is not receivable
        f"P-6,KA-SH-1,50,2026-03-10,,,{a.number},-1",
        "P-7,KA-SH-1,0,2026-03-10,,,,",
        "P-8,KA-SH-1,50,2026-03-10,支付宝,,,",
    )
    before = audit_count()
    report = run_import(import_spec("payments"), as_csv(*rows), rep, DRY_RUN)
    assert report.refused == 9 and not report.committed  # a dry run checks every record
    report = run_import(import_spec("payments"), as_csv(*rows), rep, ATOMIC)
    assert report.blocked and not report.committed  # stops writing at the first refused record
    assert PaymentReceipt.objects.count() == 0 and PaymentAllocation.objects.count() == 0
    assert audit_count() == before
    report = run_import(import_spec("payments"), as_csv(*rows), rep, VALID_ONLY)
    assert report.created == 0 and PaymentReceipt.objects.count() == 0
    first = {}
    for error in report.errors:
        first.setdefault(error.row, (error.column, error.message))
    assert first[2] == ("", "同组第 3 行有误，整组未导入")
    assert first[3][0] == "allocation" and first[3][1].startswith("超过回款未核销余额 0")
    assert first[4][0] == "allocation" and "超过订单未收金额" in first[4][1]
    assert first[5][0] == "order" and "另一个客户" in first[5][1]
    assert first[6] == ("order", f"订单不存在：{far.number}")
    assert first[7][0] == "order" and "草稿" in first[7][1]
    assert first[8][0] == "allocation"
    assert first[9][0] == "amount"
    assert first[10][0] == "method"
    a.refresh_from_db()
    assert a.allocated_amount == Decimal("0")


@pytest.mark.django_db
def test_payment_reimport_adds_only_new_allocations(rep, shop, receivables):
    a, b = receivables
    spec = import_spec("payments")
    first = (PAYMENT_HEADER, f"P-1,KA-SH-1,600,2026-03-10,,,{a.number},400")
    run_import(spec, as_csv(*first), rep, ATOMIC)
    audits = audit_count()
    report = run_import(spec, as_csv(*first), rep, ATOMIC)
    assert (report.created, report.unchanged, report.refused) == (0, 1, 0)
    assert audit_count() == audits + 1
    more = (*first, f"P-1,KA-SH-1,600,2026-03-10,,,{b.number},84")
    report = run_import(spec, as_csv(*more), rep, ATOMIC)
    assert (report.updated, report.unchanged, report.refused) == (2, 0, 0), report.errors
    receipt = PaymentReceipt.objects.get()
    assert receipt.allocated_amount == Decimal("484.00") and receipt.allocations.count() == 2
    # A changed amount or a missing allocation is refused: the file cannot rewrite a receipt.
    report = run_import(spec, as_csv(PAYMENT_HEADER, f"P-1,KA-SH-1,700,2026-03-10,,,{a.number},400"), rep, ATOMIC)
    assert report.blocked and {e.column for e in report.errors} == {"amount", "order"}
    assert PaymentReceipt.objects.get().amount == Decimal("600.00")


@pytest.mark.django_db
def test_payment_export_is_scoped_and_round_trips(rep, outsider, shop, far_shop, receivables, make_order):
    a, b = receivables
    mine, _ = services.payment_create(
        actor=rep,
        data={
            "account_id": shop.pk,
            "amount": "500",
            "received_on": "2026-03-10",
            "method": "cash",
            "allocations": [{"order_id": a.pk, "amount": "400"}, {"order_id": b.pk, "amount": "84"}],
        },
    )
    theirs, _ = services.payment_create(
        actor=outsider, data={"account_id": far_shop.pk, "amount": "10", "received_on": "2026-03-10"}
    )
    count, text = export_text("payments", rep)
    assert count == 2 and text.count(mine.number) == 2 and theirs.number not in text and "现金" in text
    count, text = export_text("payments", outsider)
    assert count == 1 and theirs.number in text and mine.number not in text
    out = io.BytesIO()
    run_export(export_spec("payments"), out, rep, "xlsx")
    report = run_import(import_spec("payments"), io.BytesIO(out.getvalue()), rep, ATOMIC)
    assert (report.refused, report.created, report.unchanged) == (0, 0, 2), report.errors
    assert PaymentAllocation.objects.count() == 2


@pytest.mark.django_db
def test_outsider_payment_import_changes_nothing(outsider, rep, shop, receivables):
    a, _b = receivables
    before = audit_count()
    rows = (PAYMENT_HEADER, f"P-1,KA-SH-1,600,2026-03-10,,,{a.number},100")
    report = run_import(import_spec("payments"), as_csv(*rows), outsider, ATOMIC)
    assert report.blocked and report.errors[0].message == "客户不存在：KA-SH-1"
    assert PaymentReceipt.objects.count() == 0 and audit_count() == before
    a.refresh_from_db()
    assert a.allocated_amount == Decimal("0")


@pytest.mark.django_db
def test_import_and_export_need_the_permission(shop):
    from django.contrib.auth import get_user_model

    from jinggeng.core.errors import PermissionDenied

    nobody = get_user_model().objects.create_user("nobody", password="x")
    with pytest.raises(PermissionDenied):
        run_import(import_spec("orders"), as_csv(*order_rows()), nobody, DRY_RUN)
    with pytest.raises(PermissionDenied):
        run_export(export_spec("payments"), io.BytesIO(), nobody, "csv")


@pytest.mark.django_db
def test_cli_import_and_export(rep, shop, sku, tmp_path):
    from django.core.management import call_command

    source = tmp_path / "orders.csv"
    source.write_bytes(as_csv(*order_rows()).getvalue())
    call_command("import_data", "orders", str(source), "--as", rep.username, "--no-progress")
    assert SalesOrder.objects.count() == 2
    target = tmp_path / "out.xlsx"
    call_command("export_data", "orders", str(target), "--as", rep.username, "--no-progress")
    sheet = load_workbook(target).worksheets[0]
    assert sheet.max_row == 4  # the header and three lines


@pytest.mark.django_db
def test_web_upload_dry_run_confirm_and_scoped_download(
    client_for, rep, outsider, shop, far_shop, sku, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_for(rep)
    page = client.get(reverse("import_list")).content.decode()
    for entity in ("orders", "payments", "opportunities"):
        assert reverse("import_template", args=[entity]) in page and reverse("export_download", args=[entity]) in page
    content = as_csv(*order_rows()).getvalue()
    response = client.post(
        reverse("import_list"),
        {"entity": "orders", "mode": "atomic", "file": SimpleUploadedFile("o.csv", content, content_type="text/csv")},
    )
    assert response.status_code == 302 and SalesOrder.objects.count() == 0
    detail = client.get(response["Location"])
    assert (detail.context["report"].created, detail.context["report"].refused) == (3, 0)
    assert SalesOrder.objects.count() == 0  # the dry run rolled back
    token = response["Location"].rstrip("/").split("/")[-1]
    done = client.post(reverse("import_confirm", args=[token]), {"mode": "atomic"})
    assert done.status_code == 200 and done.context["result"].committed
    assert SalesOrder.objects.filter(created_by=rep).count() == 2
    response = client_for(outsider).get(reverse("export_download", args=["orders"]), {"format": "csv"})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and body.decode("utf-8-sig").count("\n") == 1  # the header only


@pytest.mark.django_db
def test_export_filters(rep, shop, sku, make_order):
    import datetime as dt

    early = make_order(rep, shop, order_date=dt.date(2026, 1, 5))
    late = make_order(rep, shop, order_date=dt.date(2026, 3, 5), status=OrderStatus.APPROVED)
    _count, text = export_text("orders", rep, date_from="2026-02-01")
    assert late.number in text and early.number not in text
    _count, text = export_text("orders", rep, status="draft", date_from="not a date")
    assert early.number in text and late.number not in text
    services.payment_create(actor=rep, data={"account_id": shop.pk, "amount": "5", "received_on": "2026-01-10"})
    services.payment_create(actor=rep, data={"account_id": shop.pk, "amount": "6", "received_on": "2026-03-10"})
    count, text = export_text("payments", rep, date_from="2026-02-01", date_to="bad")
    assert count == 1 and "2026-03-10" in text


@pytest.mark.django_db
def test_empty_price_comes_from_the_most_specific_price_list_and_contract_by_code(rep, shop, far_shop, sku):
    from jinggeng.orders.tests.factories import ContractFactory, PriceListFactory, PriceListItemFactory

    PriceListItemFactory(price_list=PriceListFactory(code="BASE"), sku=sku, price=Decimal("3.20"))
    grade_b = PriceListItemFactory(
        price_list=PriceListFactory(code="GRADE-B", grade="B"), sku=sku, price=Decimal("3.00")
    )
    ContractFactory(account=shop, code="HT-001", status="active")
    ContractFactory(account=far_shop, code="HT-BJ", status="active")
    header = "订单号,客户编码,下单日期,合同编号,SKU 编码,单位,数量,价目价（每件）"
    rows = (header, "A-1,KA-SH-1,2026-03-01,HT-001,SKU-COLA,箱,1,", "B-1,KA-SH-1,2026-03-01,HT-BJ,SKU-COLA,箱,1,")
    report = run_import(import_spec("orders"), as_csv(*rows), rep, VALID_ONLY)
    assert (report.created, report.refused) == (1, 1)
    assert (report.errors[0].row, report.errors[0].column) == (3, "contract")
    line = SalesOrder.objects.get().lines.get()
    assert (line.list_price, line.price_list_id, line.line_total) == (
        Decimal("3.00"),
        grade_b.price_list_id,
        Decimal("72.00"),
    )
    assert SalesOrder.objects.get().contract.code == "HT-001"


@pytest.mark.django_db
def test_export_neutralises_formulas(rep, shop, sku, make_order):
    make_order(rep, shop, notes='=HYPERLINK("http://evil","点我")')
    out = io.BytesIO()
    run_export(export_spec("orders"), out, rep, "xlsx")
    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    headers = [c.value for c in sheet[1]]
    notes = sheet.cell(row=2, column=headers.index("备注") + 1).value
    assert notes == '\'=HYPERLINK("http://evil","点我")'
    report = run_import(import_spec("orders"), io.BytesIO(out.getvalue()), rep, ATOMIC)  # the quote comes off
    assert (report.refused, report.unchanged) == (0, 1), report.errors
