"""Funnel and forecast: counts, conversion from history, win rate, cycle, weighted forecast, scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline import selectors
from jinggeng.pipeline.models import Opportunity, OpportunityStatus, StageChange
from jinggeng.pipeline.tests.factories import OpportunityFactory, key_account_pipeline, stage

API = "/api/v1/pipeline"


def walk(opportunity, *names, days_each=2, status=None):
    """Give an opportunity a stage history through ``names`` (days apart) and leave it in the last."""
    pipeline = opportunity.pipeline
    at = opportunity.created_at
    previous = opportunity.stage
    for name in names:
        at += dt.timedelta(days=days_each)
        target = stage(pipeline, name)
        StageChange.objects.create(opportunity=opportunity, from_stage=previous, to_stage=target, at=at)
        previous = target
    fields = {"stage": previous}
    if previous.is_won or previous.is_lost:
        fields.update(status=OpportunityStatus.WON if previous.is_won else OpportunityStatus.LOST, closed_at=at)
    Opportunity.objects.filter(pk=opportunity.pk).update(**fields)


@pytest.fixture
def deals(rep, teammate, outsider):
    month = timezone.localdate().replace(day=15) + dt.timedelta(days=31)
    a = OpportunityFactory(owner=rep, amount=Decimal("100000"), expected_close_date=month)  # stays in 初步接触
    b = OpportunityFactory(owner=rep, amount=Decimal("200000"), expected_close_date=month)
    walk(b, "需求确认", "方案报价")
    c = OpportunityFactory(owner=teammate, amount=Decimal("300000"))
    walk(c, "需求确认", "方案报价", "商务谈判", "赢单", days_each=5)  # won after 20 days
    d = OpportunityFactory(owner=teammate, amount=Decimal("50000"))
    walk(d, "需求确认", "丢单")
    far = OpportunityFactory(
        owner=outsider, account=AccountFactory(owner=outsider, division_id="110105", city_code="110100")
    )
    walk(far, "需求确认")
    return a, b, c, d, far, month


@pytest.mark.django_db
def test_funnel_figures(area_manager, deals):
    pipeline = key_account_pipeline()
    funnel = selectors.funnel(actor=area_manager, pipeline_id=pipeline.pk)
    by_name = {s.name: s for s in funnel.stages}
    assert [(s.name, s.count, s.amount) for s in funnel.stages] == [
        ("初步接触", 1, Decimal("100000")),
        ("需求确认", 0, Decimal("0")),
        ("方案报价", 1, Decimal("200000")),
        ("商务谈判", 0, Decimal("0")),
        ("赢单", 1, Decimal("300000")),
        ("丢单", 1, Decimal("50000")),
    ]
    assert [by_name[n].reached for n in ("初步接触", "需求确认", "方案报价", "商务谈判", "赢单")] == [4, 3, 2, 1, 1]
    assert by_name["初步接触"].conversion == 0.75
    assert by_name["需求确认"].conversion == round(2 / 3, 4)
    assert by_name["商务谈判"].conversion == 1.0
    assert (funnel.total, funnel.won, funnel.lost, funnel.win_rate) == (4, 1, 1, 0.5)
    assert funnel.avg_cycle_days == 20.0
    assert funnel.won_amount == Decimal("300000")
    # filtered by owner
    only_rep = selectors.funnel(
        actor=area_manager, pipeline_id=pipeline.pk, filters=selectors.OpportunityFilters(owner=deals[0].owner_id)
    )
    assert only_rep.total == 2 and only_rep.win_rate is None


@pytest.mark.django_db
def test_funnel_is_scoped(client_for, outsider, rep, deals):
    pipeline = key_account_pipeline()
    body = client_for(outsider).get(f"{API}/pipelines/{pipeline.pk}/funnel").json()
    assert body["total"] == 1
    assert [s["count"] for s in body["stages"]][:2] == [0, 1]
    body = client_for(rep).get(f"{API}/pipelines/{pipeline.pk}/funnel").json()
    assert body["total"] == 2
    # each figure opens the records behind it
    records = body["stages"][2]["records"]
    assert records.startswith(f"{API}/opportunities?") and f"stage={body['stages'][2]['stage_id']}" in records
    items = client_for(rep).get(records).json()["items"]
    assert [i["id"] for i in items] == [deals[1].pk]
    reached = (
        client_for(rep).get(f"{API}/opportunities", {"reached_stage": body["stages"][1]["stage_id"]}).json()["items"]
    )
    assert [i["id"] for i in reached] == [deals[1].pk]


@pytest.mark.django_db
def test_weighted_forecast(client_for, rep, area_manager, deals):
    month = deals[5]
    rows = selectors.forecast(actor=area_manager, pipeline_id=key_account_pipeline().pk)
    expected_month = f"{month:%Y-%m}"
    row = next(r for r in rows if r.month == expected_month)
    # 100000 × 10% + 200000 × 50%
    assert (row.count, row.amount, row.weighted) == (2, Decimal("300000.00"), Decimal("110000.00"))
    body = client_for(rep).get(f"{API}/forecast").json()
    assert [(r["month"], r["count"]) for r in body] == [(expected_month, 2)]
    assert client_for(rep).get(body[0]["records"]).json()["items"].__len__() == 2


@pytest.mark.django_db
def test_board_totals_and_funnel_page(client_for, area_manager, deals, django_assert_max_num_queries):
    pipeline = key_account_pipeline()
    c = client_for(area_manager)
    with django_assert_max_num_queries(15):
        columns = c.get(f"{API}/pipelines/{pipeline.pk}/board").json()
    assert [(col["stage"]["name"], col["count"]) for col in columns] == [
        ("初步接触", 1),
        ("需求确认", 0),
        ("方案报价", 1),
        ("商务谈判", 0),
        ("赢单", 1),
        ("丢单", 1),
    ]
    assert Decimal(columns[2]["weighted"]) == Decimal("100000.00")
    cards = [card for col in columns for card in col["cards"]]
    from jinggeng.pipeline.models import Opportunity

    for card in cards:
        opportunity = Opportunity.objects.select_related("account", "owner__employee").get(pk=card["id"])
        assert card["account"] == {"id": opportunity.account_id, "name": opportunity.account.name}
        assert card["owner"] == {"id": opportunity.owner_id, "name": opportunity.owner.employee.name}
        assert (Decimal(card["amount"]), card["version"]) == (opportunity.amount, opportunity.version)
    assert len(cards) == 4
    page = c.get(f"/pipeline/funnel/{pipeline.pk}/").content.decode()
    assert "echarts.min.js" in page and "funnel-data" in page
    assert f"/pipeline/opportunities/?pipeline={pipeline.pk}&amp;reached_stage=" in page
