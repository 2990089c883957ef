"""The small demo company: complete, consistent and the same for the same seed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F

from jinggeng.catalog.models import Brand, Category, Sku
from jinggeng.core.models import AuditLog
from jinggeng.customers.models import Account, AccountType, AccountUser, Contact, SupplyLink, Tag
from jinggeng.demo import data
from jinggeng.demo.builder import ean13
from jinggeng.org.models import Division, DivisionLevel, Employee, OrgUnit, OrgUnitKind, Role

try:
    from jinggeng.customers.normalize import normalize_name
except ImportError:  # pragma: no cover

    def normalize_name(name: str) -> str:
        return "".join(name.split()).lower()[:120]


def run_demo(**options: object) -> str:
    out = StringIO()
    call_command("demo", scale="small", stdout=out, **options)
    return out.getvalue()


def has_cycle(edges: list[tuple[int, int]]) -> bool:
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[int, int] = {}  # 1 = on the stack, 2 = done
    for start in list(graph):
        if state.get(start):
            continue
        stack = [(start, iter(graph.get(start, [])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                return True
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(graph.get(child, []))))
    return False


@pytest.mark.django_db
def test_small_demo_is_complete_and_consistent() -> None:
    out = run_demo()

    # The org tree: company → 7 regions → 30 areas → 1 team each, paths and depths right.
    assert OrgUnit.objects.filter(kind=OrgUnitKind.COMPANY).count() == 1
    assert OrgUnit.objects.filter(kind=OrgUnitKind.REGION).count() == 7
    assert OrgUnit.objects.filter(kind=OrgUnitKind.AREA).count() == 30
    assert OrgUnit.objects.filter(kind=OrgUnitKind.TEAM).count() == 30
    units = {u.pk: u for u in OrgUnit.objects.all()}
    for unit in units.values():
        parent = units.get(unit.parent_id) if unit.parent_id else None
        assert unit.path == (parent.path if parent else "/") + f"{unit.pk}/"
        assert unit.depth == (parent.depth + 1 if parent else 0)

    # Every role has a user (through its group); demo logins work with the demo password.
    for role in Role.objects.select_related("group"):
        assert role.group.user_set.exists(), role.code
    for username in (
        "gm",
        "director",
        "admin",
        "marketing",
        "service",
        "rm_east",
        "am_shanghai",
        "sup_shanghai",
        "rep_shanghai1",
        "promoter_shanghai1",
        "dist_shanghai",
    ):
        assert authenticate(username=username, password="demo1234") is not None, username
        assert username in out
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert 140 <= Employee.objects.count() <= 200
    assert AccountUser.objects.filter(
        user__username="dist_shanghai", account__account_type=AccountType.DISTRIBUTOR
    ).exists()

    # Catalog: 3 own + 2 competitor brands, 50 SKUs with valid EAN-13 barcodes.
    assert Brand.objects.filter(is_own=True).count() == 3
    assert Brand.objects.filter(is_own=False).count() == 2
    assert Category.objects.filter(parent__isnull=True).count() == 2
    skus = list(Sku.objects.all())
    assert len(skus) == 50
    for sku in skus:
        assert sku.barcode and len(sku.barcode) == 13 and ean13(sku.barcode[:12]) == sku.barcode

    # Accounts: owner's unit is the account's unit; divisions are counties of the area's city.
    assert Account.objects.count() == 3000
    assert Account.objects.filter(account_type=AccountType.DISTRIBUTOR).count() == 90
    assert Account.objects.exclude(org_unit_id=F("owner__employee__org_unit_id")).count() == 0
    assert (
        Account.objects.filter(owner__employee__role__code="rep").exclude(org_unit__kind=OrgUnitKind.TEAM).count() == 0
    )
    city_of_area = {f"A-{c.slug.upper()}": c.city_code for c in data.CITIES}
    area_code_of_unit = {
        u.pk: (u.code if u.kind == OrgUnitKind.AREA else units[u.parent_id].code)
        for u in units.values()
        if u.kind in (OrgUnitKind.AREA, OrgUnitKind.TEAM)
    }
    counties = dict(Division.objects.filter(level=DivisionLevel.COUNTY).values_list("code", "parent_id"))
    rows = Account.objects.values_list("name", "name_key", "division_id", "city_code", "org_unit_id")
    for name, name_key, division_id, city_code, unit_id in rows:
        assert counties[division_id] == city_of_area[area_code_of_unit[unit_id]] == city_code
        assert name_key == normalize_name(name)
    grades = {g: Account.objects.filter(grade=g).count() for g in "ABC"}
    assert 450 <= grades["A"] <= 900 and grades["C"] >= 1200
    assert Tag.objects.filter(name__in=data.TAGS).count() == 3

    # Supply links: distributor → wholesaler → outlet, no cycles, within one area.
    links = list(SupplyLink.objects.values_list("supplier_id", "customer_id"))
    assert len(links) >= 2900
    assert not has_cycle(links)
    assert SupplyLink.objects.filter(supplier__account_type=AccountType.OUTLET).count() == 0
    assert SupplyLink.objects.exclude(supplier__city_code=F("customer__city_code")).count() == 0

    # One audit record per business record.
    assert AuditLog.objects.filter(entity="customers.account", action="create", reason="demo").count() == 3000
    assert AuditLog.objects.filter(entity="customers.contact").count() == Contact.objects.count()
    assert AuditLog.objects.filter(entity="customers.supplylink").count() == len(links)

    # --if-empty does nothing when accounts exist; a second plain run refuses.
    before = (Account.objects.count(), AuditLog.objects.count(), get_user_model().objects.count())
    assert "跳过" in run_demo(if_empty=True)
    with pytest.raises(CommandError):
        run_demo()
    assert (Account.objects.count(), AuditLog.objects.count(), get_user_model().objects.count()) == before


class Rollback(Exception):
    pass


def snapshot() -> tuple[object, ...]:
    run_demo(seed=7)
    return (
        Account.objects.count(),
        Contact.objects.count(),
        SupplyLink.objects.count(),
        Employee.objects.count(),
        list(Account.objects.order_by("id").values_list("name", "grade", "division_id")[:50]),
        list(Employee.objects.order_by("id").values_list("name", "user__username")[:50]),
    )


@pytest.mark.django_db
def test_same_seed_builds_the_same_company() -> None:
    try:
        with transaction.atomic():
            first = snapshot()
            raise Rollback
    except Rollback:
        pass
    assert not Account.objects.exists()
    assert snapshot() == first
