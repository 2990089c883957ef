"""Factories for pipeline records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline.models import Activity, ActivityKind, Lead, Opportunity, Pipeline, Stage, StageChange


def key_account_pipeline() -> Pipeline:
    """The default 大客户项目 pipeline made by the data migration."""
    return Pipeline.objects.get(code="key_account")


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"联系人{n}")
    company = factory.Sequence(lambda n: f"线索公司{n}")
    phone = factory.Sequence(lambda n: f"137{n:08d}")
    owner = None
    org_unit = factory.LazyAttribute(lambda o: o.owner.employee.org_unit if o.owner else None)


class OpportunityFactory(factory.django.DjangoModelFactory):
    """An open opportunity in the first stage of 大客户项目, with its first stage-history row."""

    class Meta:
        model = Opportunity
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"商机{n}")
    owner = None
    account = factory.LazyAttribute(lambda o: AccountFactory(owner=o.owner))
    org_unit = factory.LazyAttribute(lambda o: o.owner.employee.org_unit)
    pipeline = factory.LazyFunction(key_account_pipeline)
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.order_by("order").first())
    amount = Decimal("100000")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    stage_entered_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def history(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            StageChange.objects.create(
                opportunity=self, from_stage=None, to_stage=self.stage, by=self.owner, at=self.created_at
            )


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.MEETING
    subject = factory.Sequence(lambda n: f"拜访{n}")
    owner = None
    org_unit = factory.LazyAttribute(lambda o: o.owner.employee.org_unit)
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=2))
