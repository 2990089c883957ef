"""The daily coverage alert: counts per area to the nearest managers, once per area and day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from jinggeng.core.models import Notification
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import OutletCoverage
from jinggeng.field.services.reports import coverage_alert_send

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)


def coverage(rep, unit, due_on):
    return OutletCoverage.objects.create(
        account=AccountFactory(owner=rep), rep=rep, org_unit=unit, cycle_days=7, due_on=due_on
    )


def test_the_area_manager_is_told_once_a_day(rep, outsider, org, area_manager, general_manager):
    coverage(rep, org.shanghai, TODAY - dt.timedelta(days=3))
    coverage(rep, org.shanghai, TODAY - dt.timedelta(days=1))
    coverage(rep, org.shanghai, TODAY)  # due today: not overdue yet
    coverage(outsider, org.beijing, TODAY - dt.timedelta(days=10))  # Beijing has no area manager

    assert coverage_alert_send(today=TODAY) == 2
    note = Notification.objects.get(user=area_manager)
    assert note.kind == "field_coverage"
    assert "2" in note.title and "上海区域" in note.title
    assert "3" in note.body
    assert note.link == f"/insights/coverage/?org_unit={org.shanghai.pk}"
    # 北京区域 has no manager of its own: the nearest level up (华北大区) has the outsider.
    north = Notification.objects.get(user=outsider)
    assert "北京区域" in north.title and "1" in north.title
    assert not Notification.objects.filter(user__in=[rep, general_manager]).exists()

    assert coverage_alert_send(today=TODAY) == 0  # once per area and day
    assert Notification.objects.count() == 2
    assert coverage_alert_send(today=TODAY + dt.timedelta(days=1)) == 2


def test_the_command_runs_once(rep, org, area_manager, capsys):
    coverage(rep, org.shanghai, dt.date(2020, 1, 1))
    call_command("field_coverage_alerts")
    assert "notifications=1" in capsys.readouterr().out
    assert Notification.objects.filter(user=area_manager).count() == 1
