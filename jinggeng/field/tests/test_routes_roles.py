"""The default roles get their field permissions after migrating (once)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from jinggeng.field.roles import FIELD_ROLE_PERMISSIONS, grant_field_permissions
from jinggeng.org.models import Role


@pytest.mark.django_db
def test_roles_hold_their_field_permissions_after_migrate():
    rep = Role.objects.get(code="rep")
    held = {
        f"field.{c}"
        for c in rep.group.permissions.filter(content_type__app_label="field").values_list("codename", flat=True)
    }
    assert held == set(FIELD_ROLE_PERMISSIONS["rep"])
    assert "field.add_visit" in held
    assert "field.change_route" not in held
    manager = Role.objects.get(code="area_manager")
    assert manager.group.permissions.filter(content_type__app_label="field", codename="change_routeproposal").exists()


@pytest.mark.django_db
def test_grant_leaves_a_changed_role_alone():
    rep = Role.objects.get(code="rep")
    rep.group.permissions.remove(*Permission.objects.filter(content_type__app_label="field", codename="add_visit"))
    assert grant_field_permissions() == 0
    assert not rep.group.permissions.filter(content_type__app_label="field", codename="add_visit").exists()


def test_rep_and_managers_defined_for_every_role_that_works_in_the_field():
    for code in ("rep", "supervisor", "area_manager", "regional_manager", "general_manager", "administrator"):
        assert FIELD_ROLE_PERMISSIONS[code]
    assert "distributor_user" not in FIELD_ROLE_PERMISSIONS
