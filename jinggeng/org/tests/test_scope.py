from jinggeng.core.scope import ScopeLevel
from jinggeng.org.scope import scope_for


def test_scope_levels_follow_roles(org, rep, area_manager, outsider, general_manager):
    assert scope_for(rep).level == ScopeLevel.SELF
    assert scope_for(rep).unit_ids == frozenset()
    assert scope_for(area_manager).unit_ids == frozenset({org.shanghai.pk})
    assert scope_for(outsider).unit_ids == frozenset({org.north.pk, org.beijing.pk})
    assert scope_for(general_manager).everything is True


def test_personal_override_beats_role_default(org, rep):
    employee = rep.employee
    employee.scope_override = ScopeLevel.TEAM
    employee.save(update_fields=["scope_override"])
    rep.refresh_from_db()
    assert scope_for(rep).unit_ids == frozenset({org.shanghai.pk})
