"""Opportunities with product lines from and to spreadsheets: one row per line grouped by a
reference, each format, dry run, atomic, row and column in the errors, update by id, scope,
audit and round trip."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.core.models import AuditLog
from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, run_export, run_import
from jinggeng.core.tabular.registry import export_spec, import_spec
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline import services
from jinggeng.pipeline.models import Opportunity, OpportunityLine, StageChange
from jinggeng.pipeline.tests.factories import OpportunityFactory

HEADER = "商机参考号,商机名称,客户编码,销售流程,阶段,金额,预计成交日期,SKU 编码,单位,数量,单价"


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


@pytest.fixture
def goods(rep):
    AccountFactory(owner=rep, code="KA-001")
    return SkuFactory(code="SKU-TEA", name="绿茶"), SkuFactory(code="SKU-JUICE", name="果汁")


ROWS = (
    HEADER,
    "X1,年度集采,KA-001,大客户项目,方案报价,,2027-06-30,SKU-TEA,箱,10,72",
    "X1,年度集采,KA-001,,,,,SKU-JUICE,瓶,100,2.5",
    ",单品试销,KA-001,,,5000,2027-07-31,,,,",
)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "gbk", "xlsx"])
def test_opportunities_with_lines_in_each_format(rep, goods, fmt):
    source = {"csv": as_csv(*ROWS), "gbk": as_csv(*ROWS, encoding="gbk"), "xlsx": as_xlsx(*ROWS)}[fmt]
    report = run_import(import_spec("opportunities"), source, rep, ATOMIC)
    assert report.committed and (report.created, report.refused) == (3, 0), report.errors
    deal = Opportunity.objects.get(name="年度集采")
    assert (deal.stage.name, deal.owner_id, deal.amount) == ("方案报价", rep.pk, Decimal("970.00"))  # 720 + 250
    lines = list(deal.lines.order_by("id").values_list("sku__code", "unit", "quantity_pieces", "amount"))
    assert lines == [
        ("SKU-TEA", "case", Decimal("240.000"), Decimal("720.00")),
        ("SKU-JUICE", "piece", Decimal("100.000"), Decimal("250.00")),
    ]
    trial = Opportunity.objects.get(name="单品试销")
    assert (trial.amount, trial.lines.count(), trial.stage.name) == (Decimal("5000.00"), 0, "初步接触")
    created = AuditLog.objects.filter(entity="pipeline.opportunity", action="create", entity_id=str(deal.pk)).get()
    assert len(created.changes["lines"][1]) == 2
    assert AuditLog.objects.filter(entity="pipeline.opportunity", action="import").count() == 1


@pytest.mark.django_db
def test_dry_run_writes_nothing(rep, goods):
    report = run_import(import_spec("opportunities"), as_csv(*ROWS), rep, DRY_RUN)
    assert (report.created, report.refused, report.committed) == (3, 0, False)
    assert Opportunity.objects.count() == 0 and OpportunityLine.objects.count() == 0
    assert StageChange.objects.count() == 0 and AuditLog.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cells, column",
    [
        ("SKU-JUICE,瓶,0,2.5", "quantity"),
        ("SKU-JUICE,瓶,-1,2.5", "quantity"),
        ("SKU-JUICE,桶,1,2.5", "unit"),
        ("SKU-NONE,瓶,1,2.5", "sku"),
        ("SKU-JUICE,瓶,1,-2.5", "price"),
    ],
)
def test_a_bad_line_refuses_its_opportunity_and_atomic_writes_nothing(rep, goods, cells, column):
    rows = (*ROWS[:2], f"X1,年度集采,KA-001,,,,,{cells}", ROWS[3])
    report = run_import(import_spec("opportunities"), as_csv(*rows), rep, ATOMIC)
    assert report.blocked and Opportunity.objects.count() == 0 and AuditLog.objects.count() == 0
    assert [(e.row, e.column) for e in report.errors] == [(2, ""), (3, column)]
    report = run_import(import_spec("opportunities"), as_csv(*rows), rep, VALID_ONLY)
    assert (report.created, report.refused) == (1, 2)
    assert list(Opportunity.objects.values_list("name", flat=True)) == ["单品试销"]


@pytest.mark.django_db
def test_inconsistent_header_and_stage_requirements(rep, goods):
    rows = (
        HEADER,
        "X1,年度集采,KA-001,,,,2027-06-30,SKU-TEA,箱,10,72",
        "X1,年度集采（二期）,KA-001,,,,,SKU-JUICE,瓶,100,2.5",
        "X2,无明细报价,KA-001,,方案报价,100,2027-06-30,,,,",
    )
    report = run_import(import_spec("opportunities"), as_csv(*rows), rep, VALID_ONLY)
    assert report.refused == 3 and Opportunity.objects.count() == 0
    errors = {(e.row, e.column): e.message for e in report.errors}
    assert "第 2 行" in errors[(3, "name")] and "年度集采（二期）" in errors[(3, "name")]
    assert errors[(4, "sku")] == "进入“方案报价”阶段前必须填写"  # the stage requires product lines


@pytest.mark.django_db
def test_update_by_id_round_trip_and_scope(rep, outsider, goods):
    deal = services.opportunity_create(
        actor=rep,
        data={
            "name": "年度集采",
            "account": "KA-001",
            "expected_close_date": "2027-06-30",
            "lines": [{"sku": "SKU-TEA", "unit": "case", "quantity": "2", "price": "72"}],
        },
    )
    theirs = OpportunityFactory(owner=outsider, name="北京项目")
    out = io.BytesIO()
    assert run_export(export_spec("opportunities"), out, rep, "csv") == 1
    text = out.getvalue().decode("utf-8-sig")
    assert "北京项目" not in text and "KA-001" in text and "SKU-TEA" in text
    # The export imports back unchanged …
    report = run_import(import_spec("opportunities"), io.BytesIO(out.getvalue()), rep, ATOMIC)
    assert (report.refused, report.created, report.updated, report.unchanged) == (0, 0, 1, 1), report.errors
    deal.refresh_from_db()
    assert deal.version == 1
    # … and a second line added to it replaces the lines.
    lines = text.splitlines()
    added = lines[1].replace("SKU-TEA", "SKU-JUICE").replace(",case,2,", ",piece,10,")
    report = run_import(import_spec("opportunities"), as_csv(lines[0], lines[1], added), rep, ATOMIC)
    assert (report.refused, report.updated, report.unchanged) == (0, 2, 0), report.errors
    deal.refresh_from_db()
    assert deal.version == 2 and deal.lines.count() == 2
    # A different stage is refused: imports do not move opportunities.
    moved = lines[1].replace(",初步接触,", ",商务谈判,")
    report = run_import(import_spec("opportunities"), as_csv(lines[0], moved), rep, ATOMIC)
    assert report.blocked and report.errors[0].column == "stage"
    # The outsider can neither update the rep's opportunity nor see it exists.
    before = AuditLog.objects.count()
    report = run_import(import_spec("opportunities"), as_csv(lines[0], *lines[1:]), outsider, VALID_ONLY)
    assert report.refused == 1 and report.errors[0].column == "id"
    assert report.errors[0].message == f"商机不存在：{deal.pk}"
    deal.refresh_from_db()
    assert deal.version == 2 and AuditLog.objects.count() == before + 1  # the import record, 0 written
    out = io.BytesIO()
    assert run_export(export_spec("opportunities"), out, outsider, "csv") == 1
    assert "年度集采" not in out.getvalue().decode("utf-8-sig") and theirs.name in out.getvalue().decode("utf-8-sig")
