import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from jinggeng.core.models import AuditLog
from jinggeng.org.models import Employee, OrgUnit, Role

User = get_user_model()


@pytest.fixture
def superuser(org, administrator):
    user = User.objects.get(pk=administrator.pk)
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


# --- createadmin ----------------------------------------------------------------------------


def test_createadmin_on_an_empty_database_makes_hq(db, capsys):
    assert not OrgUnit.objects.exists()
    call_command("createadmin", "--username", "boss", "--password", "Very-long-pass-42", "--email", "b@example.com")
    user = User.objects.get(username="boss")
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password("Very-long-pass-42")
    hq = OrgUnit.objects.get()
    assert (hq.code, hq.name, hq.kind, hq.path, hq.depth) == ("HQ", "总部", "company", f"/{hq.pk}/", 0)
    employee = user.employee
    assert employee.name == "管理员"
    assert employee.role.code == "administrator"
    assert employee.org_unit == hq
    assert list(user.groups.values_list("name", flat=True)) == ["role:administrator"]
    assert "administrator boss created" in capsys.readouterr().out
    assert AuditLog.objects.filter(entity="org.employee", entity_id=str(employee.pk), action="create").count() == 1


def test_createadmin_uses_the_existing_root_and_env_password(org, monkeypatch):
    monkeypatch.setenv("JINGGENG_ADMIN_PASSWORD", "Env-long-pass-42")
    call_command("createadmin", "--username", "ops", "--name", "运维")
    user = User.objects.get(username="ops")
    assert user.check_password("Env-long-pass-42")
    assert user.employee.org_unit == org.company
    assert user.employee.name == "运维"
    assert OrgUnit.objects.count() == 5


def test_createadmin_refuses_an_existing_username(org, rep):
    employees = Employee.objects.count()
    with pytest.raises(CommandError, match="rep"):
        call_command("createadmin", "--username", "rep", "--password", "Very-long-pass-42")
    assert Employee.objects.count() == employees
    assert User.objects.get(username="rep").is_superuser is False


def test_createadmin_refuses_a_weak_or_missing_password(db, monkeypatch):
    monkeypatch.delenv("JINGGENG_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError):
        call_command("createadmin", "--username", "boss", "--password", "123")
    with pytest.raises(CommandError, match="JINGGENG_ADMIN_PASSWORD"):
        call_command("createadmin", "--username", "boss")
    assert not User.objects.filter(username="boss").exists()
    assert not OrgUnit.objects.exists()


# --- admin ----------------------------------------------------------------------------------


def test_admin_pages_render(org, client_for, superuser):
    client = client_for(superuser)
    for name in ("orgunit", "role", "employee", "division", "territory"):
        assert client.get(reverse(f"admin:org_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:org_division_changelist"), {"q": "玄武"}).status_code == 200
    role = Role.objects.get(code="rep")
    page = client.get(reverse("admin:org_role_change", args=[role.pk]))
    assert reverse("admin:auth_group_change", args=[role.group_id]) in page.content.decode()


def test_admin_move_keeps_paths_and_refuses_cycles(org, client_for, superuser):
    client = client_for(superuser)
    url = reverse("admin:org_orgunit_change", args=[org.east.pk])
    data = {"code": "R-EAST", "name": "华东大区", "name_en": "", "kind": "region", "parent": org.shanghai.pk}
    response = client.post(url, data)
    assert response.status_code == 200  # the form is shown again with the error
    assert OrgUnit.objects.get(pk=org.east.pk).parent_id == org.company.pk

    url = reverse("admin:org_orgunit_change", args=[org.shanghai.pk])
    data = {"code": "A-SH", "name": "上海区域", "name_en": "", "kind": "area", "parent": org.north.pk, "active": "on"}
    assert client.post(url, data).status_code == 302
    shanghai = OrgUnit.objects.get(pk=org.shanghai.pk)
    assert shanghai.path == f"{org.north.path}{shanghai.pk}/"
    assert shanghai.depth == 2
    assert AuditLog.objects.filter(entity="org.orgunit", entity_id=str(shanghai.pk), action="update").count() == 1

    response = client.post(
        reverse("admin:org_orgunit_add"),
        {"code": "T-NEW", "name": "新组", "name_en": "", "kind": "team", "parent": shanghai.pk, "active": "on"},
    )
    assert response.status_code == 302
    new = OrgUnit.objects.get(code="T-NEW")
    assert new.path == f"{shanghai.path}{new.pk}/"
    assert new.depth == 3


def test_admin_employee_role_change_syncs_groups(org, client_for, superuser, rep):
    employee = rep.employee
    url = reverse("admin:org_employee_change", args=[employee.pk])
    data = {
        "user": rep.pk,
        "code": employee.code,
        "name": employee.name,
        "role": Role.objects.get(code="supervisor").pk,
        "org_unit": org.shanghai.pk,
        "manager": "",
        "phone": employee.phone,
        "status": "active",
        "start_date": "",
        "leave_date": "",
        "scope_override": "",
    }
    response = client_for(superuser).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(User.objects.get(pk=rep.pk).groups.values_list("name", flat=True)) == ["role:supervisor"]
