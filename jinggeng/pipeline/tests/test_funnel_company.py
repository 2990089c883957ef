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
