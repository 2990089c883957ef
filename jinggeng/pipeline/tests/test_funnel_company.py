"""The company-wide funnel takes a shortcut (the stage history of the whole pipeline, without
joining the opportunities); it must give the same figures as the filtered path."""

from __future__ import annotations

import datetime as dt

import pytest

from jinggeng.pipeline import selectors
from jinggeng.pipeline.tests.factories import key_account_pipeline
from jinggeng.pipeline.tests.test_funnel import deals  # noqa: F401  (fixture)


@pytest.mark.django_db
def test_company_funnel_equals_the_filtered_path(general_manager, outsider, deals):  # noqa: F811
    pipeline = key_account_pipeline()
    whole = selectors.funnel(actor=general_manager, pipeline_id=pipeline.pk)
    # A filter that keeps every opportunity but takes the filtered path.
    filtered = selectors.funnel(
        actor=general_manager,
        pipeline_id=pipeline.pk,
        filters=selectors.OpportunityFilters(created_from=dt.date(2000, 1, 1)),
    )
    figures = [(s.name, s.count, s.amount, s.reached, s.conversion) for s in whole.stages]
    assert figures == [(s.name, s.count, s.amount, s.reached, s.conversion) for s in filtered.stages]
    assert (whole.total, whole.won, whole.lost, whole.win_rate, whole.avg_cycle_days, whole.won_amount) == (
        filtered.total,
        filtered.won,
        filtered.lost,
        filtered.win_rate,
        filtered.avg_cycle_days,
        filtered.won_amount,
    )
    assert whole.total == 5  # the outsider's deal too: the general manager sees the company
    assert {s.name: s.reached for s in whole.stages}["需求确认"] == 4
    # The outsider's scope takes the filtered path and sees only its own deal.
    mine = selectors.funnel(actor=outsider, pipeline_id=pipeline.pk)
    assert mine.total == 1 and {s.name: s.reached for s in mine.stages}["需求确认"] == 1


def reached_from_history(opportunity_ids: list[int]) -> dict[str, int]:
    """The definition: per non-lost stage, the opportunities whose history reached it or a later one."""
    from collections import defaultdict

    from jinggeng.pipeline.models import StageChange

    top: dict[int, int] = defaultdict(int)
    for change in StageChange.objects.filter(opportunity_id__in=opportunity_ids).select_related("to_stage"):
        if not change.to_stage.is_lost:
            top[change.opportunity_id] = max(top[change.opportunity_id], change.to_stage.order)
    pipeline = key_account_pipeline()
    return {s.name: sum(1 for t in top.values() if t >= s.order) for s in pipeline.stages.all() if not s.is_lost}


@pytest.mark.django_db
def test_reached_counts_moves_back_and_reopened_deals_from_their_history(general_manager, area_manager, deals):  # noqa: F811
    from jinggeng.pipeline.models import Opportunity
    from jinggeng.pipeline.tests.test_funnel import walk

    a, b, c, d, _far, _month = deals
    walk(a, "需求确认", "方案报价", "商务谈判", "需求确认")  # moved back: reached 商务谈判, now in 需求确认
    walk(d, "初步接触", "方案报价")  # reopened after 丢单: reached 方案报价
    pipeline = key_account_pipeline()
    everyone = list(Opportunity.objects.filter(pipeline=pipeline).values_list("id", flat=True))
    expected = reached_from_history(everyone)
    assert expected["商务谈判"] == 2  # a (moved back) and c (won)
    whole = selectors.funnel(actor=general_manager, pipeline_id=pipeline.pk)
    assert {s.name: s.reached for s in whole.stages if not s.is_lost} == expected
    mine = [o.pk for o in (a, b, c, d)]
    scoped = selectors.funnel(actor=area_manager, pipeline_id=pipeline.pk)
    assert {s.name: s.reached for s in scoped.stages if not s.is_lost} == reached_from_history(mine)


@pytest.mark.django_db
def test_board_parts_give_the_scoped_totals_and_largest_cards(area_manager, rep, outsider, deals):  # noqa: F811
    from decimal import Decimal

    from jinggeng.pipeline.models import Opportunity
    from jinggeng.pipeline.tests.factories import OpportunityFactory

    for amount in ("5000", "700000", "700000", "1"):
        OpportunityFactory(owner=rep, amount=Decimal(amount))
    OpportunityFactory(owner=outsider, amount=Decimal("9000000"))  # out of scope, largest of all
    pipeline = key_account_pipeline()
    for actor in (area_manager, rep, outsider):
        scoped = selectors.scoped_opportunities(actor).filter(pipeline=pipeline)
        for per_column in (1, 2, 50):  # 1 and 2: the first stage takes the ordered LIMIT path
            columns = selectors.opportunity_board(actor=actor, pipeline_id=pipeline.pk, per_column=per_column)
            for column in columns:
                in_stage = scoped.filter(stage=column.stage)
                assert column.count == in_stage.count()
                assert column.amount == sum((o.amount for o in in_stage), Decimal("0"))
                expected = list(in_stage.order_by("-amount", "id").values_list("id", flat=True)[:per_column])
                assert [card.pk for card in column.cards] == expected
    first = selectors.opportunity_board(actor=area_manager, pipeline_id=pipeline.pk, per_column=2)[0]
    assert first.count == 5 and [c.amount for c in first.cards] == [Decimal("700000")] * 2
    assert not Opportunity.objects.filter(pk__in=[c.pk for c in first.cards], owner=outsider).exists()
