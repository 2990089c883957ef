import pytest

from jinggeng.core.errors import NotFound, PermissionDenied
from jinggeng.org import selectors
from jinggeng.org.models import Division
from jinggeng.org.tests.factories import OrgUnitFactory, TerritoryFactory, make_employee


@pytest.fixture
def everyone(org, general_manager, area_manager, rep, teammate, outsider, administrator):
    return {
        "gm": general_manager,
        "am": area_manager,
        "rep": rep,
        "mate": teammate,
        "rm_north": outsider,
        "admin1": administrator,
    }


def unit_codes(actor, **filters):
    return sorted(u.code for u in selectors.orgunit_list(actor=actor, **filters))


def usernames(actor, **filters):
    return sorted(e.user.username for e in selectors.employee_list(actor=actor, **filters))


def test_orgunit_list_per_persona(everyone):
    all_units = ["A-BJ", "A-SH", "HQ", "R-EAST", "R-NORTH"]
    assert unit_codes(everyone["gm"]) == all_units
    assert unit_codes(everyone["admin1"]) == all_units
    assert unit_codes(everyone["am"]) == ["A-SH"]
    assert unit_codes(everyone["rep"]) == ["A-SH"]
    assert unit_codes(everyone["rm_north"]) == ["A-BJ", "R-NORTH"]
    assert unit_codes(everyone["gm"], q="华") == ["R-EAST", "R-NORTH"]
    assert unit_codes(everyone["gm"], kind="area") == ["A-BJ", "A-SH"]


def test_orgunit_get_outside_scope_is_not_found(org, everyone):
    assert selectors.orgunit_get(actor=everyone["rm_north"], id=org.beijing.pk) == org.beijing
    for actor, unit in (
        (everyone["rm_north"], org.shanghai),
        (everyone["am"], org.east),
        (everyone["rep"], org.company),
    ):
        with pytest.raises(NotFound):
            selectors.orgunit_get(actor=actor, id=unit.pk)
    with pytest.raises(NotFound):
        selectors.orgunit_get(actor=everyone["gm"], id="abc")


def test_orgunit_tree_orders_parents_before_children(org, general_manager, outsider):
    OrgUnitFactory(code="A-AA", parent=org.north)
    tree = [(u.code, level) for u, level in selectors.orgunit_tree(actor=general_manager)]
    assert tree == [
        ("HQ", 0),
        ("R-EAST", 1),
        ("A-SH", 2),
        ("R-NORTH", 1),
        ("A-AA", 2),
        ("A-BJ", 2),
    ]
    tree = [(u.code, level) for u, level in selectors.orgunit_tree(actor=outsider)]
    assert tree == [("R-NORTH", 0), ("A-AA", 1), ("A-BJ", 1)]


def test_employee_list_per_persona(everyone):
    assert usernames(everyone["rep"]) == ["rep"]
    assert usernames(everyone["mate"]) == ["mate"]
    assert usernames(everyone["am"]) == ["am", "mate", "rep"]
    assert usernames(everyone["rm_north"]) == ["rm_north"]
    assert usernames(everyone["gm"]) == ["admin1", "am", "gm", "mate", "rep", "rm_north"]
    assert usernames(everyone["gm"], role="rep") == ["mate", "rep"]
    assert usernames(everyone["gm"], q="张") == ["rep"]
    assert usernames(everyone["gm"], status="left") == []


def test_employee_list_unit_filter_includes_units_below(org, everyone):
    assert usernames(everyone["gm"], org_unit=org.east.pk) == ["am", "mate", "rep"]
    assert usernames(everyone["gm"], org_unit=org.shanghai.pk) == ["am", "mate", "rep"]
    assert usernames(everyone["gm"], org_unit=org.north.pk) == ["rm_north"]
    assert usernames(everyone["gm"], org_unit=999999) == []


def test_employee_get_scoped(everyone):
    rep = everyone["rep"]
    assert selectors.employee_get(actor=rep, id=rep.employee.pk) == rep.employee
    with pytest.raises(NotFound):
        selectors.employee_get(actor=rep, id=everyone["mate"].employee.pk)
    with pytest.raises(NotFound):
        selectors.employee_get(actor=everyone["rm_north"], id=rep.employee.pk)
    assert selectors.employee_get(actor=everyone["am"], id=rep.employee.pk) == rep.employee


def test_territory_list_follows_units(org, everyone):
    TerritoryFactory(code="T-SH", org_unit=org.shanghai, divisions=[Division.objects.get(code="310000")])
    TerritoryFactory(code="T-BJ", org_unit=org.beijing, divisions=[Division.objects.get(code="110000")])
    TerritoryFactory(code="T-EAST", org_unit=org.east)

    def codes(actor):
        return sorted(t.code for t in selectors.territory_list(actor=actor))

    assert codes(everyone["gm"]) == ["T-BJ", "T-EAST", "T-SH"]
    assert codes(everyone["am"]) == ["T-SH"]
    assert codes(everyone["rep"]) == ["T-SH"]
    assert codes(everyone["rm_north"]) == ["T-BJ"]


def test_lists_need_the_view_permission(org):
    distributor = make_employee("dist", "distributor_user", org.shanghai).user
    with pytest.raises(PermissionDenied):
        selectors.employee_list(actor=distributor)
    with pytest.raises(PermissionDenied):
        selectors.orgunit_list(actor=distributor)


def test_division_list_filters(db):
    assert selectors.division_list(parent="320100").count() == 11
    assert selectors.division_list(level="province").count() == 31
    assert [d.code for d in selectors.division_list(q="玄武")] == ["320102"]
    assert selectors.division_get(code="320102").full_name == "江苏省南京市玄武区"
    with pytest.raises(NotFound):
        selectors.division_get(code="999999")
