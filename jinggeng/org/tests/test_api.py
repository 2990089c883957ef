import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from jinggeng.core.models import AuditLog
from jinggeng.org.models import Division, Employee, OrgUnit, Role, Territory
from jinggeng.org.tests.factories import TerritoryFactory, grant

User = get_user_model()
BASE = "/api/v1/org"


def send(client, method, url, body=None):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


def problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    return body


# --- units ----------------------------------------------------------------------------------


def test_unit_list_scoped_and_paginated(org, client_for, general_manager, area_manager, django_assert_max_num_queries):
    client = client_for(general_manager)
    with django_assert_max_num_queries(11):
        response = client.get(f"{BASE}/units?limit=3&sort=code")
    body = response.json()
    assert [u["code"] for u in body["items"]] == ["A-BJ", "A-SH", "HQ"]
    assert body["items"][1]["parent_code"] == "R-EAST"
    page2 = client.get(f"{BASE}/units?limit=3&sort=code&cursor={body['next_cursor']}").json()
    assert [u["code"] for u in page2["items"]] == ["R-EAST", "R-NORTH"]
    assert page2["next_cursor"] is None
    assert [u["code"] for u in client_for(area_manager).get(f"{BASE}/units").json()["items"]] == ["A-SH"]


def test_unit_list_bad_sort_is_a_problem(org, client_for, general_manager):
    body = problem(client_for(general_manager).get(f"{BASE}/units?sort=secret"), 422, "invalid_sort")
    assert body["errors"][0]["field"] == "sort"


def test_unit_get_and_outsider(org, client_for, outsider, general_manager):
    assert client_for(outsider).get(f"{BASE}/units/{org.beijing.pk}").json()["code"] == "A-BJ"
    problem(client_for(outsider).get(f"{BASE}/units/{org.shanghai.pk}"), 404, "not_found")
    problem(client_for(outsider).get(f"{BASE}/units/{org.shanghai.pk}/history"), 404, "not_found")


def test_unit_create_update_move_delete(org, client_for, administrator):
    client = client_for(administrator)
    response = send(client, "post", f"{BASE}/units", {"code": "T-PD", "name": "浦东组", "parent": "A-SH"})
    assert response.status_code == 201
    unit = response.json()
    assert unit["depth"] == 3
    assert unit["path"] == f"{org.shanghai.path}{unit['id']}/"

    response = send(client, "patch", f"{BASE}/units/{unit['id']}", {"name": "浦东一组", "version": 1})
    assert response.json()["name"] == "浦东一组"
    assert response.json()["version"] == 2
    problem(
        send(client, "patch", f"{BASE}/units/{unit['id']}", {"name": "X", "version": 1}),
        409,
        "version_conflict",
    )

    response = send(client, "post", f"{BASE}/units/{unit['id']}/move", {"parent_id": org.beijing.pk})
    assert response.json()["path"] == f"{org.beijing.path}{unit['id']}/"
    body = problem(
        send(client, "post", f"{BASE}/units/{org.north.pk}/move", {"parent_id": unit["id"]}),
        422,
        "org_cycle",
    )
    assert body["errors"] == [{"field": "parent", "message": body["detail"]}]

    history = client.get(f"{BASE}/units/{unit['id']}/history").json()["items"]
    assert [h["action"] for h in history] == ["update", "update", "create"]
    assert history[0]["actor"] == "管理员"

    assert client.delete(f"{BASE}/units/{unit['id']}").status_code == 204
    assert not OrgUnit.objects.filter(pk=unit["id"]).exists()
    problem(client.delete(f"{BASE}/units/{org.east.pk}"), 422, "orgunit_has_children")


def test_unit_create_bad_input(org, client_for, administrator):
    client = client_for(administrator)
    body = problem(send(client, "post", f"{BASE}/units", {"code": "X"}), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["name"]
    body = problem(send(client, "post", f"{BASE}/units", {"code": "HQ", "name": "X"}), 422, "duplicate")
    assert [e["field"] for e in body["errors"]] == ["code"]
    assert OrgUnit.objects.count() == 5


def test_unit_writes_by_outsider_are_404_and_change_nothing(org, client_for, outsider):
    actor = grant(outsider, "org.change_orgunit", "org.delete_orgunit")
    client = client_for(actor)
    before = list(OrgUnit.objects.order_by("pk").values())
    problem(send(client, "patch", f"{BASE}/units/{org.shanghai.pk}", {"name": "X"}), 404, "not_found")
    problem(
        send(client, "post", f"{BASE}/units/{org.shanghai.pk}/move", {"parent_id": org.north.pk}),
        404,
        "not_found",
    )
    problem(client.delete(f"{BASE}/units/{org.shanghai.pk}"), 404, "not_found")
    assert list(OrgUnit.objects.order_by("pk").values()) == before
    assert AuditLog.objects.count() == 0


def test_unit_write_in_scope_without_permission_is_403(org, client_for, outsider):
    problem(
        send(client_for(outsider), "patch", f"{BASE}/units/{org.beijing.pk}", {"name": "X"}),
        403,
        "permission_denied",
    )
    assert OrgUnit.objects.get(pk=org.beijing.pk).name == "北京区域"


def test_anonymous_gets_401(org):
    problem(Client().get(f"{BASE}/units"), 401, "not_authenticated")


# --- employees ------------------------------------------------------------------------------


def test_employee_list_scoped(org, client_for, rep, teammate, area_manager, outsider, django_assert_max_num_queries):
    client = client_for(area_manager)
    with django_assert_max_num_queries(11):
        body = client.get(f"{BASE}/employees?sort=code").json()
    assert sorted(e["username"] for e in body["items"]) == ["am", "mate", "rep"]
    assert [e["username"] for e in client_for(rep).get(f"{BASE}/employees").json()["items"]] == ["rep"]
    assert [e["username"] for e in client_for(outsider).get(f"{BASE}/employees").json()["items"]] == ["rm_north"]
    first = client.get(f"{BASE}/employees?sort=name&limit=2").json()
    second = client.get(f"{BASE}/employees?sort=name&limit=2&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_employee_get_and_history(org, client_for, rep, area_manager, outsider):
    body = client_for(area_manager).get(f"{BASE}/employees/{rep.employee.pk}").json()
    assert body["username"] == "rep"
    assert body["role"] == "rep"
    assert body["org_unit_code"] == "A-SH"
    assert body["manager_code"] == area_manager.employee.code
    assert body["scope_level"] == "self"
    problem(client_for(outsider).get(f"{BASE}/employees/{rep.employee.pk}"), 404, "not_found")
    problem(client_for(outsider).get(f"{BASE}/employees/{rep.employee.pk}/history"), 404, "not_found")
    assert client_for(area_manager).get(f"{BASE}/employees/{rep.employee.pk}/history").json()["items"] == []


def test_employee_create_patch_leave(org, client_for, administrator, area_manager):
    client = client_for(administrator)
    data = {
        "username": "wangwu",
        "code": "E-100",
        "name": "王五",
        "role": "rep",
        "org_unit": "A-SH",
        "manager": area_manager.employee.code,
        "phone": "13912345678",
        "start_date": "2026-03-01",
    }
    response = send(client, "post", f"{BASE}/employees", data)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "active"
    assert created["manager_code"] == area_manager.employee.code

    response = send(
        client,
        "patch",
        f"{BASE}/employees/{created['id']}",
        {"role": "promoter", "version": 1},
    )
    assert response.json()["role"] == "promoter"
    assert list(User.objects.get(username="wangwu").groups.values_list("name", flat=True)) == ["role:promoter"]

    response = send(
        client,
        "post",
        f"{BASE}/employees/{created['id']}/leave",
        {"leave_date": "2026-11-01", "reason": "辞职"},
    )
    assert response.json()["status"] == "left"
    assert response.json()["leave_date"] == "2026-11-01"
    assert User.objects.get(username="wangwu").is_active is False
    history = client.get(f"{BASE}/employees/{created['id']}/history").json()["items"]
    assert [h["action"] for h in history] == ["update", "update", "create"]
    assert history[0]["reason"] == "辞职"


def test_employee_create_bad_phone_names_the_field(org, client_for, administrator):
    data = {
        "username": "x1",
        "code": "E-1",
        "name": "X",
        "role": "rep",
        "org_unit": "A-SH",
        "phone": "12345",
    }
    body = problem(send(client_for(administrator), "post", f"{BASE}/employees", data), 422, "bad_phone")
    assert [e["field"] for e in body["errors"]] == ["phone"]
    assert not User.objects.filter(username="x1").exists()


def test_employee_create_missing_fields_is_422(org, client_for, administrator):
    body = problem(
        send(client_for(administrator), "post", f"{BASE}/employees", {"username": "x"}),
        422,
        "validation_failed",
    )
    assert {e["field"] for e in body["errors"]} == {"code", "name", "role", "org_unit"}


def test_employee_writes_by_outsider_are_404_and_change_nothing(org, client_for, outsider, rep):
    actor = grant(outsider, "org.change_employee", "org.add_employee")
    client = client_for(actor)
    before = list(Employee.objects.order_by("pk").values())
    problem(
        send(client, "patch", f"{BASE}/employees/{rep.employee.pk}", {"name": "X"}),
        404,
        "not_found",
    )
    problem(
        send(
            client,
            "post",
            f"{BASE}/employees/{rep.employee.pk}/leave",
            {"leave_date": "2026-11-01"},
        ),
        404,
        "not_found",
    )
    data = {"username": "x1", "code": "E-1", "name": "X", "role": "rep", "org_unit": "A-SH"}
    body = problem(send(client, "post", f"{BASE}/employees", data), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["org_unit"]
    assert list(Employee.objects.order_by("pk").values()) == before
    assert User.objects.get(pk=rep.pk).is_active is True
    assert AuditLog.objects.count() == 0


# --- territories ----------------------------------------------------------------------------


def test_territory_crud(org, client_for, administrator):
    client = client_for(administrator)
    response = send(
        client,
        "post",
        f"{BASE}/territories",
        {"code": "T-JS", "name": "江苏", "org_unit": "R-EAST", "divisions": ["320000"]},
    )
    assert response.status_code == 201
    territory = response.json()
    assert territory["divisions"] == ["320000"]
    response = send(
        client,
        "patch",
        f"{BASE}/territories/{territory['id']}",
        {"divisions": ["320100", "320200"]},
    )
    assert response.json()["divisions"] == ["320100", "320200"]
    assert client.get(f"{BASE}/territories/{territory['id']}").json()["org_unit_code"] == "R-EAST"
    assert [t["code"] for t in client.get(f"{BASE}/territories").json()["items"]] == ["T-JS"]
    assert len(client.get(f"{BASE}/territories/{territory['id']}/history").json()["items"]) == 2
    body = problem(
        send(client, "patch", f"{BASE}/territories/{territory['id']}", {"divisions": ["320199"]}),
        422,
        "bad_division",
    )
    assert "320199" in body["errors"][0]["message"]
    assert client.delete(f"{BASE}/territories/{territory['id']}").status_code == 204
    assert Territory.objects.count() == 0


def test_territory_outsider(org, client_for, outsider, django_assert_max_num_queries):
    territory = TerritoryFactory(code="T-SH", org_unit=org.shanghai, divisions=[Division.objects.get(code="310000")])
    TerritoryFactory(code="T-BJ", org_unit=org.beijing, divisions=[Division.objects.get(code="110000")])
    actor = grant(outsider, "org.change_territory", "org.delete_territory")
    client = client_for(actor)
    with django_assert_max_num_queries(11):
        assert [t["code"] for t in client.get(f"{BASE}/territories").json()["items"]] == ["T-BJ"]
    problem(client.get(f"{BASE}/territories/{territory.pk}"), 404, "not_found")
    problem(client.get(f"{BASE}/territories/{territory.pk}/history"), 404, "not_found")
    problem(send(client, "patch", f"{BASE}/territories/{territory.pk}", {"name": "X"}), 404, "not_found")
    problem(client.delete(f"{BASE}/territories/{territory.pk}"), 404, "not_found")
    territory.refresh_from_db()
    assert territory.name != "X"
    assert list(territory.divisions.values_list("code", flat=True)) == ["310000"]
    assert AuditLog.objects.count() == 0


# --- divisions and roles --------------------------------------------------------------------


def test_divisions(client_for, rep, django_assert_max_num_queries):
    client = client_for(rep)
    with django_assert_max_num_queries(6):
        first = client.get(f"{BASE}/divisions?parent=320100&limit=5").json()
    assert [d["code"] for d in first["items"]] == ["320102", "320104", "320105", "320106", "320111"]
    assert first["items"][0]["parent"] == "320100"
    rest = client.get(f"{BASE}/divisions?parent=320100&limit=50&cursor={first['next_cursor']}").json()
    assert len(rest["items"]) == 6
    assert rest["next_cursor"] is None
    assert len(client.get(f"{BASE}/divisions?level=province&limit=100").json()["items"]) == 31
    assert client.get(f"{BASE}/divisions/320102").json()["full_name"] == "江苏省南京市玄武区"
    problem(client.get(f"{BASE}/divisions/999999"), 404, "not_found")


def test_roles(org, client_for, administrator, area_manager):
    roles = client_for(area_manager).get(f"{BASE}/roles").json()
    assert len(roles) == 11
    assert roles[0]["code"] == "general_manager"
    problem(
        send(client_for(area_manager), "patch", f"{BASE}/roles/rep", {"default_scope": "team"}),
        403,
        "permission_denied",
    )
    assert Role.objects.get(code="rep").default_scope == "self"
    response = send(client_for(administrator), "patch", f"{BASE}/roles/rep", {"default_scope": "team"})
    assert response.json()["default_scope"] == "team"
    problem(
        send(client_for(administrator), "patch", f"{BASE}/roles/pilot", {"default_scope": "team"}),
        404,
        "not_found",
    )


@pytest.mark.parametrize("url", ["/units", "/employees", "/territories"])
def test_bad_cursor_is_a_problem(org, client_for, general_manager, url):
    problem(client_for(general_manager).get(f"{BASE}{url}?cursor=!!!"), 422, "invalid_cursor")


def test_unit_children_filter(org, client_for, general_manager):
    body = client_for(general_manager).get(f"{BASE}/units?parent={org.company.pk}&sort=code").json()
    assert [u["code"] for u in body["items"]] == ["R-EAST", "R-NORTH"]


def test_openapi_document_lists_the_org_paths(db, client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/org/units/{unit_id}/move",
        "/api/v1/org/employees/{employee_id}/leave",
        "/api/v1/org/divisions",
    ):
        assert path in paths
