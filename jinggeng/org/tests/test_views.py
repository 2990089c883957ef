import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from jinggeng.core.models import AuditLog
from jinggeng.org.models import Division, Employee, OrgUnit, Territory
from jinggeng.org.tests.factories import TerritoryFactory, grant

User = get_user_model()
HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response):
    return response.content.decode()


# --- pages render for people in scope -------------------------------------------------------


def test_unit_list_is_an_indented_tree(org, client_for, general_manager, django_assert_max_num_queries):
    client = client_for(general_manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("org:unit_list"))
    assert response.status_code == 200
    html = text(response)
    assert html.index("精耕食品总部") < html.index("华东大区") < html.index("上海区域") < html.index("华北大区")
    assert "padding-left: 2.5em" in html
    fragment = text(client.get(reverse("org:unit_list"), {"q": "北京"}, **HTMX))
    assert "<html" not in fragment
    assert "北京区域" in fragment
    assert "上海区域" not in fragment


def test_unit_list_for_outsider_shows_only_their_region(org, client_for, outsider):
    html = text(client_for(outsider).get(reverse("org:unit_list")))
    assert "华北大区" in html
    assert "北京区域" in html
    assert "华东大区" not in html
    assert "上海区域" not in html


def test_unit_detail_shows_members_children_territories_history(org, client_for, area_manager, rep, administrator):
    TerritoryFactory(code="T-SH", name="上海全市", org_unit=org.shanghai)
    client_for(administrator).post(
        reverse("org:unit_edit", args=[org.shanghai.pk]),
        {"code": "A-SH", "name": "上海区域", "name_en": "Shanghai", "kind": "area", "parent": "R-EAST", "active": "on"},
    )
    response = client_for(area_manager).get(reverse("org:unit_detail", args=[org.shanghai.pk]))
    assert response.status_code == 200
    html = text(response)
    assert "张三" in html
    assert "上海全市" in html
    assert "Shanghai" in html  # the history shows the change
    assert reverse("org:unit_edit", args=[org.shanghai.pk]) not in html  # no permission to edit


def test_outsider_gets_404_on_every_unit_page(org, client_for, outsider):
    actor = grant(outsider, "org.change_orgunit", "org.delete_orgunit")
    client = client_for(actor)
    before = list(OrgUnit.objects.order_by("pk").values())
    for name in ("org:unit_detail", "org:unit_edit"):
        assert client.get(reverse(name, args=[org.shanghai.pk])).status_code == 404
    data = {"code": "A-SH", "name": "X", "kind": "area", "parent": "R-NORTH"}
    assert client.post(reverse("org:unit_edit", args=[org.shanghai.pk]), data).status_code == 404
    assert client.post(reverse("org:unit_delete", args=[org.shanghai.pk])).status_code == 404
    assert list(OrgUnit.objects.order_by("pk").values()) == before
    assert AuditLog.objects.count() == 0


def test_unit_create_page_and_inline_errors(org, client_for, administrator, area_manager):
    assert client_for(area_manager).get(reverse("org:unit_create")).status_code == 403
    client = client_for(administrator)
    page = client.get(reverse("org:unit_create"), {"parent": "A-SH"})
    assert page.status_code == 200
    assert 'value="A-SH" selected' in text(page)

    response = client.post(
        reverse("org:unit_create"), {"code": "HQ", "name": "重复", "kind": "team", "parent": "A-SH"}, **HTMX
    )
    assert response.status_code == 200
    fragment = text(response)
    assert "<html" not in fragment
    assert 'id="unit-form"' in fragment
    assert "编码已被使用" in fragment
    assert OrgUnit.objects.count() == 5

    response = client.post(
        reverse("org:unit_create"), {"code": "T-PD", "name": "浦东组", "kind": "team", "parent": "A-SH"}, **HTMX
    )
    unit = OrgUnit.objects.get(code="T-PD")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("org:unit_detail", args=[unit.pk])
    assert unit.parent == org.shanghai


def test_unit_edit_move_cycle_error_inline(org, client_for, administrator):
    client = client_for(administrator)
    data = {"code": "R-EAST", "name": "华东大区", "kind": "region", "parent": "A-SH", "version": 1}
    response = client.post(reverse("org:unit_edit", args=[org.east.pk]), data)
    # A-SH is below R-EAST: it is not even offered, so the form refuses the choice.
    assert response.status_code == 200
    assert OrgUnit.objects.get(pk=org.east.pk).parent_id == org.company.pk

    data = {"code": "R-EAST", "name": "华东", "kind": "region", "parent": "HQ", "version": 9}
    response = client.post(reverse("org:unit_edit", args=[org.east.pk]), data)
    assert "记录已被他人修改" in text(response)
    assert OrgUnit.objects.get(pk=org.east.pk).name == "华东大区"

    data["version"] = 1
    response = client.post(reverse("org:unit_edit", args=[org.east.pk]), data)
    assert response.status_code == 302
    assert OrgUnit.objects.get(pk=org.east.pk).name == "华东"


# --- employees ------------------------------------------------------------------------------


def test_employee_list_scoped_filters_and_pages(
    org, client_for, area_manager, rep, teammate, outsider, settings, django_assert_max_num_queries
):
    client = client_for(area_manager)
    with django_assert_max_num_queries(14):
        html = text(client.get(reverse("org:employee_list")))
    assert "张三" in html
    assert "李四" in html
    assert "赵经理" not in html
    assert "张三" not in text(client.get(reverse("org:employee_list"), {"q": "李四"}))
    fragment = text(client.get(reverse("org:employee_list"), {"role": "area_manager"}, **HTMX))
    assert "<html" not in fragment
    assert "李经理" in fragment
    assert "张三" not in fragment

    settings.PAGE_SIZE_DEFAULT = 2
    first = client.get(reverse("org:employee_list"), {"sort": "code"})
    assert first.context["next_cursor"]
    assert len(first.context["items"]) == 2
    second = client.get(reverse("org:employee_list"), {"sort": "code", "cursor": first.context["next_cursor"]})
    assert len(second.context["items"]) == 1
    assert second.context["next_cursor"] is None
    assert "分页游标无效" in text(client.get(reverse("org:employee_list"), {"cursor": "???"}))


def test_rep_sees_only_themselves(org, client_for, rep, teammate):
    html = text(client_for(rep).get(reverse("org:employee_list")))
    assert "张三" in html
    assert "李四" not in html
    assert client_for(rep).get(reverse("org:employee_detail", args=[teammate.employee.pk])).status_code == 404


def test_employee_detail_with_history(org, client_for, administrator, rep):
    client = client_for(administrator)
    client.post(reverse("org:employee_leave", args=[rep.employee.pk]), {"leave_date": "2026-11-01", "reason": "辞职"})
    html = text(client.get(reverse("org:employee_detail", args=[rep.employee.pk])))
    assert "张三" in html
    assert "辞职" in html
    assert "离职" in html
    assert User.objects.get(pk=rep.pk).is_active is False


def test_outsider_gets_404_on_every_employee_page(org, client_for, outsider, rep):
    actor = grant(outsider, "org.change_employee")
    client = client_for(actor)
    before = list(Employee.objects.order_by("pk").values())
    for name in ("org:employee_detail", "org:employee_edit"):
        assert client.get(reverse(name, args=[rep.employee.pk])).status_code == 404
    assert client.post(reverse("org:employee_edit", args=[rep.employee.pk]), {"name": "X"}).status_code == 404
    leave = client.post(reverse("org:employee_leave", args=[rep.employee.pk]), {"leave_date": "2026-11-01"})
    assert leave.status_code == 404
    assert list(Employee.objects.order_by("pk").values()) == before
    assert User.objects.get(pk=rep.pk).is_active is True
    assert AuditLog.objects.count() == 0


def test_employee_create_and_edit_pages(org, client_for, administrator, area_manager, rep):
    client = client_for(administrator)
    assert client.get(reverse("org:employee_create")).status_code == 200
    assert client_for(rep).get(reverse("org:employee_create")).status_code == 403
    data = {
        "username": "wangwu",
        "code": "E-100",
        "name": "王五",
        "role": "rep",
        "org_unit": "A-SH",
        "manager": area_manager.employee.code,
        "phone": "12345",
    }
    response = client.post(reverse("org:employee_create"), data, **HTMX)
    assert response.status_code == 200
    assert "电话号码无效" in text(response)
    assert not User.objects.filter(username="wangwu").exists()

    data["phone"] = "13912345678"
    response = client.post(reverse("org:employee_create"), data, **HTMX)
    employee = Employee.objects.get(code="E-100")
    assert response["HX-Redirect"] == reverse("org:employee_detail", args=[employee.pk])
    assert employee.manager == area_manager.employee

    page = client.get(reverse("org:employee_edit", args=[employee.pk]))
    assert page.status_code == 200
    assert 'name="username"' not in text(page)
    edit = {k: v for k, v in data.items() if k not in ("username",)}
    edit.update({"name": "王五五", "role": "promoter", "version": 1})
    response = client.post(reverse("org:employee_edit", args=[employee.pk]), edit)
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.name == "王五五"
    assert employee.role.code == "promoter"


def test_area_manager_editing_self_keeps_invisible_manager(org, client_for, area_manager, general_manager):
    actor = grant(area_manager, "org.change_employee")
    client = client_for(actor)
    employee = area_manager.employee
    data = {
        "code": employee.code,
        "name": "李经理",
        "role": "area_manager",
        "org_unit": "A-SH",
        "manager": general_manager.employee.code,
        "phone": "13812345678",
        "version": employee.version,
    }
    response = client.post(reverse("org:employee_edit", args=[employee.pk]), data)
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.manager == general_manager.employee
    assert employee.phone == "13812345678"


# --- territories ----------------------------------------------------------------------------


def test_territory_pages(org, client_for, administrator, outsider):
    territory = TerritoryFactory(
        code="T-SH", name="上海全市", org_unit=org.shanghai, divisions=[Division.objects.get(code="310000")]
    )
    client = client_for(administrator)
    assert "上海全市" in text(client.get(reverse("org:territory_list")))
    html = text(client.get(reverse("org:territory_detail", args=[territory.pk])))
    assert "上海市" in html
    response = client.post(
        reverse("org:territory_create"),
        {"code": "T-JS", "name": "江苏", "org_unit": "R-EAST", "divisions": "320000, 329999"},
        **HTMX,
    )
    assert "329999" in text(response)
    assert not Territory.objects.filter(code="T-JS").exists()
    response = client.post(
        reverse("org:territory_edit", args=[territory.pk]),
        {
            "code": "T-SH",
            "name": "上海",
            "org_unit": "A-SH",
            "divisions": "310000 320100",
            "active": "on",
            "version": 1,
        },
    )
    assert response.status_code == 302
    assert sorted(territory.divisions.values_list("code", flat=True)) == ["310000", "320100"]

    outsider_client = client_for(grant(outsider, "org.change_territory", "org.delete_territory"))
    assert "上海" not in text(outsider_client.get(reverse("org:territory_list")))
    for name in ("org:territory_detail", "org:territory_edit"):
        assert outsider_client.get(reverse(name, args=[territory.pk])).status_code == 404
    assert outsider_client.post(reverse("org:territory_delete", args=[territory.pk])).status_code == 404
    assert Territory.objects.filter(pk=territory.pk).exists()


@pytest.mark.parametrize("name", ["org:unit_list", "org:employee_list", "org:territory_list"])
def test_pages_need_login(db, client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_validate_on_change_saves_nothing(org, client_for, administrator):
    client = client_for(administrator)
    data = {"_validate": "1", "username": "wangwu", "code": "E-100", "name": "", "phone": "12345"}
    response = client.post(reverse("org:employee_create"), data, **HTMX)
    fragment = text(response)
    assert response.status_code == 200
    assert 'id="employee-form"' in fragment
    # The form's own errors come first; required fields still empty are not flagged yet.
    assert response.context["form"].errors == {}
    data.update({"name": "王五", "role": "rep", "org_unit": "A-SH"})
    response = client.post(reverse("org:employee_create"), data, **HTMX)
    assert list(response.context["form"].errors) == ["phone"]
    assert "电话号码无效" in text(response)
    data["phone"] = "13912345678"
    response = client.post(reverse("org:employee_create"), data, **HTMX)
    assert response.status_code == 200
    assert "errorlist" not in text(response)
    assert not User.objects.filter(username="wangwu").exists()
    assert not Employee.objects.filter(code="E-100").exists()
    assert AuditLog.objects.count() == 0


def test_employee_list_newest_first_pages_without_gaps(org, client_for, general_manager, area_manager, rep, settings):
    settings.PAGE_SIZE_DEFAULT = 2
    client = client_for(general_manager)
    seen = []
    params = {"sort": "-created_at"}
    for _ in range(5):
        response = client.get(reverse("org:employee_list"), params)
        seen += [e.user.username for e in response.context["items"]]
        if not response.context["next_cursor"]:
            break
        params["cursor"] = response.context["next_cursor"]
    assert seen == ["rep", "am", "gm"]
