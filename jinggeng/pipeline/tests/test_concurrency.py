"""Two people saving the same opportunity at the same moment: one wins, the other gets a conflict."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from jinggeng.core.errors import Conflict
from jinggeng.org.models import Division
from jinggeng.pipeline import services
from jinggeng.pipeline.models import Opportunity, StageChange
from jinggeng.pipeline.tests.factories import OpportunityFactory, stage


@pytest.fixture
def restored_defaults(transactional_db):
    """Transactional tests may start from a flushed database (a test before may have flushed it
    without re-running post_migrate): put back the permissions, roles, default pipelines and one
    division this test needs. Everything here is idempotent."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from jinggeng.org.roles import ensure_default_roles
    from jinggeng.pipeline.permissions import ensure_pipeline_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    ensure_default_roles()
    ensure_pipeline_permissions()
    migration = importlib.import_module("jinggeng.pipeline.migrations.0002_default_pipelines")
    migration.create_defaults(apps, None)
    Division.objects.get_or_create(
        code="310115", defaults={"name": "浦东新区", "level": "county", "full_name": "上海市浦东新区"}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_saves_on_one_version_keep_one_and_refuse_the_other(restored_defaults, rep, area_manager):
    opportunity = OpportunityFactory(owner=rep)
    target = stage(opportunity.pipeline, "需求确认").pk
    outcomes: list[str] = []
    barrier = threading.Barrier(2)
    User = get_user_model()

    def save(user_id: int, action: str) -> None:
        try:
            actor = User.objects.get(pk=user_id)
            barrier.wait()
            if action == "move":
                services.opportunity_move_stage(
                    actor=actor, opportunity_id=opportunity.pk, stage_id=target, expected_version=1
                )
            else:
                services.opportunity_update(
                    actor=actor, opportunity_id=opportunity.pk, data={"next_step": "报价"}, expected_version=1
                )
            outcomes.append("saved")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=save, args=(rep.pk, "move")),
        threading.Thread(target=save, args=(area_manager.pk, "edit")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["saved", "version_conflict"]
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    assert opportunity.version == 2
    moved = opportunity.stage_id == target
    assert moved != (opportunity.next_step == "报价")  # exactly one of the two changes landed
    assert StageChange.objects.filter(opportunity=opportunity).count() == (2 if moved else 1)
