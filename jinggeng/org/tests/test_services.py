import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.core.scope import ScopeLevel
from jinggeng.org import services
from jinggeng.org.models import Division, Employee, EmployeeStatus, OrgUnit, Role, Territory
from jinggeng.org.scope import scope_for, subtree_unit_ids
from jinggeng.org.tests.factories import OrgUnitFactory, TerritoryFactory, grant

User = get_user_model()


def fresh(user):
    return User.objects.get(pk=user.pk)


def audit_count(entity=None):
    qs = AuditLog.objects.all()
    return qs.filter(entity=entity).count() if entity else qs.count()


# --- org units ------------------------------------------------------------------------------


def test_create_unit_builds_path_and_depth_and_audits(org, administrator):
    unit = services.orgunit_create(
        actor=administrator,
        data={"code": "T-PD", "name": "浦东小组", "kind": "team", "parent": "A-SH"},
    )
    assert unit.path == f"{org.shanghai.path}{unit.pk}/"
    assert unit.depth == 3
    log = AuditLog.objects.get(entity="org.orgunit", entity_id=str(unit.pk))
    assert log.action == "create"
    assert log.changes["code"] == [None, "T-PD"]


def test_create_unit_with_unknown_parent_names_the_field(org, administrator):
    before = OrgUnit.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_create(actor=administrator, data={"code": "X", "name": "X", "parent": "NOPE"})
    assert "parent" in exc.value.field_errors
    assert "NOPE" in exc.value.field_errors["parent"][0]
    assert OrgUnit.objects.count() == before


def test_create_unit_collects_every_bad_field(org, administrator):
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_create(actor=administrator, data={"code": "HQ", "name": "", "kind": "planet"})
    assert set(exc.value.field_errors) == {"code", "name", "kind"}


def test_create_unit_needs_permission(org, area_manager):
    with pytest.raises(PermissionDenied):
        services.orgunit_create(actor=area_manager, data={"code": "X", "name": "X", "parent": "A-SH"})
    assert not OrgUnit.objects.filter(code="X").exists()


def test_create_unit_outside_scope_is_refused_on_parent(org, area_manager):
    actor = grant(area_manager, "org.add_orgunit")
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_create(actor=actor, data={"code": "X", "name": "X", "parent": "A-BJ"})
    assert list(exc.value.field_errors) == ["parent"]
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_create(actor=actor, data={"code": "X", "name": "X", "parent": None})
    assert list(exc.value.field_errors) == ["parent"]
    unit = services.orgunit_create(actor=actor, data={"code": "X", "name": "X", "parent": "A-SH"})
    assert unit.parent == org.shanghai


def test_move_rewrites_subtree_and_scope_follows(org, administrator, area_manager, outsider):
    team = OrgUnitFactory(code="T1", parent=org.shanghai)
    sub = OrgUnitFactory(code="T1-1", parent=team)
    assert subtree_unit_ids(org.north) == frozenset({org.north.pk, org.beijing.pk})

    services.orgunit_move(actor=administrator, unit_id=org.shanghai.pk, new_parent_id=org.north.pk)

    shanghai = OrgUnit.objects.get(pk=org.shanghai.pk)
    team.refresh_from_db()
    sub.refresh_from_db()
    north = OrgUnit.objects.get(pk=org.north.pk)
    assert shanghai.parent_id == north.pk
    assert shanghai.path == f"{north.path}{shanghai.pk}/"
    assert team.path == f"{north.path}{shanghai.pk}/{team.pk}/"
    assert sub.path == f"{north.path}{shanghai.pk}/{team.pk}/{sub.pk}/"
    assert (shanghai.depth, team.depth, sub.depth) == (2, 3, 4)
    assert shanghai.version == 2
    # The regional manager of the north now sees the moved subtree; the east no longer holds it.
    assert scope_for(fresh(outsider)).unit_ids == frozenset(
        {org.north.pk, org.beijing.pk, shanghai.pk, team.pk, sub.pk}
    )
    assert subtree_unit_ids(OrgUnit.objects.get(pk=org.east.pk)) == frozenset({org.east.pk})
    assert scope_for(fresh(area_manager)).unit_ids == frozenset({shanghai.pk, team.pk, sub.pk})
    log = AuditLog.objects.get(entity="org.orgunit", entity_id=str(shanghai.pk), action="update")
    assert log.changes["parent"] == [org.east.pk, north.pk]


def test_move_under_itself_or_descendant_is_refused(org, administrator):
    team = OrgUnitFactory(code="T1", parent=org.shanghai)
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    logs = audit_count()
    for target in (org.east.pk, org.shanghai.pk, team.pk):
        with pytest.raises(ValidationFailed) as exc:
            services.orgunit_move(actor=administrator, unit_id=org.east.pk, new_parent_id=target)
        assert exc.value.code == "org_cycle"
        assert list(exc.value.field_errors) == ["parent"]
    assert dict(OrgUnit.objects.values_list("pk", "path")) == paths
    assert audit_count() == logs


def test_update_with_parent_change_moves_and_refuses_cycles(org, administrator):
    team = OrgUnitFactory(code="T1", parent=org.shanghai)
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_update(actor=administrator, unit_id=org.east.pk, data={"parent": "T1"})
    assert exc.value.code == "org_cycle"
    unit = services.orgunit_update(
        actor=administrator,
        unit_id=team.pk,
        data={"parent": "A-BJ", "name": "新组"},
        expected_version=1,
    )
    assert unit.path == f"{org.beijing.path}{team.pk}/"
    assert unit.name == "新组"
    assert unit.version == 2


def test_update_unit_version_conflict(org, administrator):
    with pytest.raises(Conflict) as exc:
        services.orgunit_update(actor=administrator, unit_id=org.east.pk, data={"name": "X"}, expected_version=7)
    assert exc.value.code == "version_conflict"
    assert OrgUnit.objects.get(pk=org.east.pk).name == "华东大区"


def test_update_unit_out_of_scope_is_not_found(org, area_manager):
    actor = grant(area_manager, "org.change_orgunit")
    with pytest.raises(NotFound):
        services.orgunit_update(actor=actor, unit_id=org.beijing.pk, data={"name": "X"})
    assert OrgUnit.objects.get(pk=org.beijing.pk).name == "北京区域"
    assert audit_count("org.orgunit") == 0
    unit = services.orgunit_update(actor=actor, unit_id=org.shanghai.pk, data={"name": "上海"})
    assert unit.name == "上海"


def test_move_to_parent_outside_scope_is_refused(org, outsider):
    actor = grant(outsider, "org.change_orgunit")
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_move(actor=actor, unit_id=org.beijing.pk, new_parent_id=org.east.pk)
    assert list(exc.value.field_errors) == ["parent"]
    assert OrgUnit.objects.get(pk=org.beijing.pk).parent_id == org.north.pk


def test_delete_unit_refused_while_in_use(org, administrator, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_delete(actor=administrator, unit_id=org.east.pk)
    assert exc.value.code == "orgunit_has_children"
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_delete(actor=administrator, unit_id=org.shanghai.pk)
    assert exc.value.code == "orgunit_has_employees"

    empty = OrgUnitFactory(code="EMPTY", parent=org.north)
    Account = apps.get_model("customers", "Account")
    Account.objects.create(
        name="某超市",
        account_type="outlet",
        division_id="110101",
        org_unit=empty,
        city_code="110100",
    )
    with pytest.raises(ValidationFailed) as exc:
        services.orgunit_delete(actor=administrator, unit_id=empty.pk)
    assert exc.value.code == "orgunit_has_accounts"
    assert OrgUnit.objects.filter(pk=empty.pk).exists()
    assert audit_count("org.orgunit") == 0


def test_delete_empty_unit(org, administrator):
    empty = OrgUnitFactory(code="EMPTY", parent=org.north)
    services.orgunit_delete(actor=administrator, unit_id=empty.pk)
    assert not OrgUnit.objects.filter(pk=empty.pk).exists()
    assert AuditLog.objects.get(entity="org.orgunit", entity_id=str(empty.pk)).action == "delete"


# --- employees ------------------------------------------------------------------------------


def employee_data(**overrides):
    data = {
        "username": "wangwu",
        "email": "wangwu@example.com",
        "code": "E-100",
        "name": "王五",
        "role": "rep",
        "org_unit": "A-SH",
        "phone": "13912345678",
        "start_date": "2026-03-01",
    }
    data.update(overrides)
    return data


def test_employee_create_makes_user_group_and_audit(org, administrator, area_manager):
    employee = services.employee_create(actor=administrator, data=employee_data(manager=area_manager.employee.code))
    user = employee.user
    assert user.username == "wangwu"
    assert user.email == "wangwu@example.com"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["role:rep"]
    assert employee.org_unit == org.shanghai
    assert employee.manager == area_manager.employee
    assert employee.start_date == dt.date(2026, 3, 1)
    assert employee.status == EmployeeStatus.ACTIVE
    assert fresh(user).has_perm("customers.add_account")
    log = AuditLog.objects.get(entity="org.employee", entity_id=str(employee.pk))
    assert log.changes["username"] == [None, "wangwu"]


def test_employee_create_with_password(org, administrator):
    employee = services.employee_create(actor=administrator, data=employee_data(password="Zx9-long-pass"))
    assert employee.user.check_password("Zx9-long-pass")


@pytest.mark.parametrize("phone", ["12345", "12912345678", "1391234567", "abc", "021-123"])
def test_employee_bad_phone_is_refused(org, administrator, phone):
    users = User.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.employee_create(actor=administrator, data=employee_data(phone=phone))
    assert list(exc.value.field_errors) == ["phone"]
    assert exc.value.code == "bad_phone"
    assert User.objects.count() == users
    assert not Employee.objects.filter(code="E-100").exists()


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("021-64381234", "021-64381234"),
        ("0755-1234567-88", "0755-1234567-88"),
    ],
)
def test_employee_good_phones(org, administrator, raw, stored):
    employee = services.employee_create(actor=administrator, data=employee_data(phone=raw))
    assert employee.phone == stored


def test_employee_create_names_each_bad_reference(org, administrator):
    with pytest.raises(ValidationFailed) as exc:
        services.employee_create(
            actor=administrator,
            data=employee_data(username="rep-x", role="pilot", org_unit="NOPE", manager="NOPE", start_date="3/1"),
        )
    assert set(exc.value.field_errors) == {"role", "org_unit", "manager", "start_date"}


def test_employee_create_duplicate_username(org, administrator, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.employee_create(actor=administrator, data=employee_data(username="rep"))
    assert list(exc.value.field_errors) == ["username"]


def test_employee_manager_cycle_is_refused(org, administrator, rep, area_manager):
    with pytest.raises(ValidationFailed) as exc:
        services.employee_update(
            actor=administrator,
            employee_id=area_manager.employee.pk,
            data={"manager": rep.employee.code},
        )
    assert exc.value.code == "manager_cycle"
    with pytest.raises(ValidationFailed) as exc:
        services.employee_update(actor=administrator, employee_id=rep.employee.pk, data={"manager": "rep"})
    assert Employee.objects.get(pk=area_manager.employee.pk).manager == Employee.objects.get(user__username="gm")
    assert audit_count("org.employee") == 0


def test_employee_self_manager_is_a_cycle(org, administrator, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.employee_update(actor=administrator, employee_id=rep.employee.pk, data={"manager": rep.employee.code})
    assert exc.value.code == "manager_cycle"


def test_employee_role_change_resyncs_groups(org, administrator, rep):
    employee = services.employee_update(
        actor=administrator,
        employee_id=rep.employee.pk,
        data={"role": "supervisor"},
        expected_version=1,
    )
    assert list(employee.user.groups.values_list("name", flat=True)) == ["role:supervisor"]
    assert employee.version == 2
    assert scope_for(fresh(rep)).level == ScopeLevel.SUBTREE
    log = AuditLog.objects.get(entity="org.employee", entity_id=str(employee.pk), action="update")
    supervisor = Role.objects.get(code="supervisor")
    assert log.changes == {"role": [Role.objects.get(code="rep").pk, supervisor.pk]}


def test_employee_update_version_conflict(org, administrator, rep):
    with pytest.raises(Conflict):
        services.employee_update(
            actor=administrator, employee_id=rep.employee.pk, data={"name": "X"}, expected_version=5
        )
    assert Employee.objects.get(pk=rep.employee.pk).name == "张三"


def test_employee_placed_outside_scope_is_refused(org, area_manager, outsider):
    actor = grant(area_manager, "org.add_employee", "org.change_employee")
    with pytest.raises(ValidationFailed) as exc:
        services.employee_create(actor=actor, data=employee_data(org_unit="A-BJ"))
    assert list(exc.value.field_errors) == ["org_unit"]
    assert not User.objects.filter(username="wangwu").exists()
    # Someone else's employee does not exist for the actor.
    with pytest.raises(NotFound):
        services.employee_update(actor=actor, employee_id=outsider.employee.pk, data={"name": "X"})
    # The actor may not hand out a wider scope than their own.
    with pytest.raises(ValidationFailed) as exc:
        services.employee_create(actor=actor, data=employee_data(role="general_manager"))
    assert exc.value.code == "scope_exceeds_actor"
    employee = services.employee_create(actor=actor, data=employee_data())
    assert employee.org_unit == org.shanghai


def test_employee_leave(org, administrator, rep):
    employee = services.employee_leave(
        actor=administrator,
        employee_id=rep.employee.pk,
        leave_date=dt.date(2026, 11, 1),
        reason="个人原因",
    )
    assert employee.status == EmployeeStatus.LEFT
    assert employee.leave_date == dt.date(2026, 11, 1)
    assert fresh(rep).is_active is False
    log = AuditLog.objects.get(entity="org.employee", entity_id=str(employee.pk))
    assert log.reason == "个人原因"
    assert log.changes["status"] == ["active", "left"]
    with pytest.raises(ValidationFailed) as exc:
        services.employee_leave(actor=administrator, employee_id=rep.employee.pk, leave_date="2026-11-02")
    assert exc.value.code == "already_left"


def test_employee_leave_needs_permission(org, area_manager, rep):
    with pytest.raises(PermissionDenied):
        services.employee_leave(actor=area_manager, employee_id=rep.employee.pk, leave_date="2026-11-01")
    assert fresh(rep).is_active is True


# --- roles ----------------------------------------------------------------------------------


def test_role_default_scope_admin_only(org, administrator, area_manager, rep):
    with pytest.raises(PermissionDenied):
        services.role_set_default_scope(actor=area_manager, role_code="rep", scope="team")
    assert Role.objects.get(code="rep").default_scope == "self"
    role = services.role_set_default_scope(actor=administrator, role_code="rep", scope="team")
    assert role.default_scope == "team"
    assert scope_for(fresh(rep)).unit_ids == frozenset({org.shanghai.pk})
    with pytest.raises(ValidationFailed):
        services.role_set_default_scope(actor=administrator, role_code="rep", scope="galaxy")
    with pytest.raises(NotFound):
        services.role_set_default_scope(actor=administrator, role_code="pilot", scope="team")


# --- territories ----------------------------------------------------------------------------


def test_territory_create_and_bad_division_code(org, administrator):
    with pytest.raises(ValidationFailed) as exc:
        services.territory_create(
            actor=administrator,
            data={
                "code": "T-JS",
                "name": "江苏",
                "org_unit": "R-EAST",
                "divisions": ["320000", "329999", "12"],
            },
        )
    assert list(exc.value.field_errors) == ["divisions"]
    messages = " ".join(exc.value.field_errors["divisions"])
    assert "329999" in messages
    assert "12" in messages
    assert not Territory.objects.filter(code="T-JS").exists()
    territory = services.territory_create(
        actor=administrator,
        data={
            "code": "T-JS",
            "name": "江苏",
            "org_unit": "R-EAST",
            "divisions": ["320000", "310000"],
        },
    )
    assert sorted(territory.divisions.values_list("code", flat=True)) == ["310000", "320000"]
    log = AuditLog.objects.get(entity="org.territory", entity_id=str(territory.pk))
    assert log.changes["divisions"] == [None, ["310000", "320000"]]


def test_territory_update_and_delete(org, administrator):
    territory = TerritoryFactory(code="T1", org_unit=org.east, divisions=[Division.objects.get(code="320000")])
    services.territory_update(
        actor=administrator,
        territory_id=territory.pk,
        data={"divisions": ["320100"], "org_unit": "A-SH"},
    )
    territory.refresh_from_db()
    assert list(territory.divisions.values_list("code", flat=True)) == ["320100"]
    assert territory.org_unit == org.shanghai
    log = AuditLog.objects.get(entity="org.territory", action="update")
    assert log.changes["divisions"] == [["320000"], ["320100"]]
    services.territory_delete(actor=administrator, territory_id=territory.pk)
    assert not Territory.objects.filter(pk=territory.pk).exists()


def test_territory_out_of_scope(org, area_manager):
    actor = grant(area_manager, "org.change_territory", "org.add_territory")
    territory = TerritoryFactory(code="T-BJ", org_unit=org.beijing)
    with pytest.raises(NotFound):
        services.territory_update(actor=actor, territory_id=territory.pk, data={"name": "X"})
    with pytest.raises(ValidationFailed) as exc:
        services.territory_create(actor=actor, data={"code": "T2", "name": "X", "org_unit": "A-BJ"})
    assert list(exc.value.field_errors) == ["org_unit"]
    assert Territory.objects.get(pk=territory.pk).name != "X"


def test_territory_for_division_most_specific(org):
    province = TerritoryFactory(code="T-P", org_unit=org.east, divisions=[Division.objects.get(code="320000")])
    city = TerritoryFactory(code="T-C", org_unit=org.east, divisions=[Division.objects.get(code="320100")])
    county = TerritoryFactory(code="T-X", org_unit=org.shanghai, divisions=[Division.objects.get(code="320102")])
    assert services.territory_for_division("320102") == county
    assert services.territory_for_division("320104") == city
    assert services.territory_for_division("320100") == city
    assert services.territory_for_division("320205") == province
    assert services.territory_for_division("320000") == province
    assert services.territory_for_division("110101") is None
    assert services.territory_for_division("999999") is None
    county.active = False
    county.save(update_fields=["active"])
    assert services.territory_for_division("320102") == city


def test_update_without_changes_keeps_version_and_writes_no_audit(org, administrator, rep):
    employee = rep.employee
    same = {"name": employee.name, "role": "rep", "org_unit": "A-SH", "phone": employee.phone, "email": rep.email}
    result = services.employee_update(actor=administrator, employee_id=employee.pk, data=same)
    assert result.version == 1
    unit = services.orgunit_update(actor=administrator, unit_id=org.east.pk, data={"name": "华东大区", "parent": "HQ"})
    assert unit.version == 1
    territory = TerritoryFactory(code="T1", org_unit=org.east, divisions=[Division.objects.get(code="320000")])
    result = services.territory_update(actor=administrator, territory_id=territory.pk, data={"divisions": ["320000"]})
    assert result.version == 1
    assert AuditLog.objects.count() == 0


def test_status_left_through_update_works_like_leave_and_can_be_undone(org, administrator, rep):
    employee = services.employee_update(actor=administrator, employee_id=rep.employee.pk, data={"status": "left"})
    assert employee.status == EmployeeStatus.LEFT
    assert employee.leave_date is not None
    assert fresh(rep).is_active is False
    employee = services.employee_update(actor=administrator, employee_id=rep.employee.pk, data={"status": "active"})
    assert employee.leave_date is None
    assert fresh(rep).is_active is True
    assert employee.version == 3


def test_nobody_sets_themselves_left(org, administrator):
    with pytest.raises(ValidationFailed) as exc:
        services.employee_update(actor=administrator, employee_id=administrator.employee.pk, data={"status": "left"})
    assert exc.value.code == "cannot_leave_self"
    with pytest.raises(ValidationFailed) as exc:
        services.employee_leave(actor=administrator, employee_id=administrator.employee.pk, leave_date="2026-11-01")
    assert exc.value.code == "cannot_leave_self"
    assert fresh(administrator).is_active is True
