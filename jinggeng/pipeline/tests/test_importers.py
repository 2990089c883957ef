"""Leads from a spreadsheet (dry run, atomic, row errors) and scoped exports of leads and opportunities."""

from __future__ import annotations

import io

import pytest

from jinggeng.core.tabular.engine import ATOMIC, DRY_RUN, VALID_ONLY, run_export, run_import
from jinggeng.core.tabular.registry import export_spec, import_spec
from jinggeng.pipeline.models import Lead
from jinggeng.pipeline.tests.factories import LeadFactory, OpportunityFactory


def csv(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


HEADER = "联系人姓名,公司名称,电话,来源,行政区划代码,负责人"


@pytest.mark.django_db
def test_lead_import_dry_run_atomic_and_valid_only(rep, teammate, area_manager, shanghai_territory):
    spec = import_spec("leads")
    rows = (HEADER, "王五,某食品厂,13800138000,展会,310115,", "赵六,,12345,网站,,", "钱七,某超市,,转介绍,,mate")
    report = run_import(spec, csv(*rows), area_manager, DRY_RUN)
    assert (report.created, report.refused) == (2, 1)
    assert report.refused_rows[0].errors[0].column == "phone"
    assert Lead.objects.count() == 0
    report = run_import(spec, csv(*rows), area_manager, ATOMIC)
    assert report.blocked and Lead.objects.count() == 0
    report = run_import(spec, csv(*rows), area_manager, VALID_ONLY)
    assert report.created == 2
    assert sorted(Lead.objects.values_list("name", "source", "owner_id")) == [
        ("王五", "trade_show", rep.pk),  # routed by territory: round robin starts with the first rep
        ("钱七", "referral", teammate.pk),
    ]


@pytest.mark.django_db
def test_lead_import_refuses_owner_outside_scope(rep, outsider):
    report = run_import(import_spec("leads"), csv(HEADER, "王五,,,电话,,rm_north"), rep, VALID_ONLY)
    assert report.refused == 1 and report.refused_rows[0].errors[0].column == "owner"
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_exports_are_scoped(rep, outsider):
    LeadFactory(owner=rep, name="张三的线索")
    LeadFactory(owner=outsider, name="北京线索")
    OpportunityFactory(owner=rep, name="张三的商机")
    for entity, mine, theirs in (("leads", "张三的线索", "北京线索"), ("opportunities", "张三的商机", None)):
        out = io.BytesIO()
        count = run_export(export_spec(entity), out, rep, "csv")
        text = out.getvalue().decode("utf-8-sig")
        assert count == 1 and mine in text
        if theirs:
            assert theirs not in text
    out = io.BytesIO()
    assert run_export(export_spec("opportunities"), out, outsider, "csv") == 0


@pytest.mark.django_db
def test_opportunity_import(rep, outsider):
    from jinggeng.customers.tests.factories import AccountFactory
    from jinggeng.pipeline.models import Opportunity

    AccountFactory(owner=rep, code="KA-001")
    AccountFactory(owner=outsider, code="BJ-001", division_id="110105", city_code="110100")
    rows = (
        "商机名称,客户编码,销售流程,阶段,金额,预计成交日期",
        "年度集采,KA-001,大客户项目,需求确认,250000,2027-06-30",
        "北京项目,BJ-001,,,1000,",
        "负数,KA-001,,,-5,",
        "坏日期,KA-001,,,5,2027-13-01",
        "直接赢单,KA-001,key_account,赢单,5,",
    )
    report = run_import(import_spec("opportunities"), csv(*rows), rep, VALID_ONLY)
    assert (report.created, report.refused) == (1, 4)
    assert [r.errors[0].column for r in report.refused_rows] == ["account", "amount", "expected_close_date", "stage"]
    opportunity = Opportunity.objects.get()
    assert (opportunity.name, opportunity.stage.name, opportunity.amount, opportunity.owner_id) == (
        "年度集采",
        "需求确认",
        250000,
        rep.pk,
    )


@pytest.mark.django_db
def test_opportunity_import_checks_the_starting_stage_requirements(rep):
    from jinggeng.customers.tests.factories import AccountFactory
    from jinggeng.pipeline.models import Opportunity

    AccountFactory(owner=rep, code="KA-002")
    rows = ("商机名称,客户编码,阶段,金额", "缺日期,KA-002,需求确认,100")
    report = run_import(import_spec("opportunities"), csv(*rows), rep, VALID_ONLY)
    assert report.refused == 1 and report.refused_rows[0].errors[0].column == "expected_close_date"
    assert Opportunity.objects.count() == 0
