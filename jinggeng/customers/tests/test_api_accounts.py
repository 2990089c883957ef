"""Accounts through the JSON API, checked for every persona (the outsider included)."""

from __future__ import annotations

import json

import pytest

from jinggeng.core.models import AuditLog
from jinggeng.core.tokens import token_create, token_revoke
from jinggeng.customers.models import Account, OwnershipChange
from jinggeng.customers.tests.factories import AccountFactory, ContactFactory

API = "/api/v1/customers"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def accounts(rep, teammate, outsider):
    mine = AccountFactory(name="张三的便利店", owner=rep)
    theirs = AccountFactory(name="李四的超市", owner=teammate)
    far = AccountFactory(name="北京某商店", owner=outsider, division_id="110105", city_code="110100")
    return mine, theirs, far


def names(response):
    return sorted(item["name"] for item in response.json()["items"])


@pytest.mark.django_db
def test_list_is_scoped_per_persona(client_for, rep, teammate, area_manager, outsider, general_manager, accounts):
    assert names(client_for(rep).get(f"{API}/accounts")) == ["张三的便利店"]
    assert names(client_for(teammate).get(f"{API}/accounts")) == ["李四的超市"]
    assert names(client_for(area_manager).get(f"{API}/accounts")) == ["张三的便利店", "李四的超市"]
    assert names(client_for(outsider).get(f"{API}/accounts")) == ["北京某商店"]
    assert len(client_for(general_manager).get(f"{API}/accounts").json()["items"]) == 3


@pytest.mark.django_db
def test_outsider_gets_404_and_changes_nothing(client_for, outsider, accounts):
    mine = accounts[0]
    c = client_for(outsider)
    audit_before = AuditLog.objects.count()
    assert c.get(f"{API}/accounts/{mine.pk}").status_code == 404
    assert c.get(f"{API}/accounts/{mine.pk}/history").status_code == 404
    response = patch(c, f"{API}/accounts/{mine.pk}", {"name": "被篡改"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert c.delete(f"{API}/accounts/{mine.pk}").status_code == 404
    assert post(c, f"{API}/accounts/{mine.pk}/transfer", {"to_owner": "rm_north", "reason": "x"}).status_code == 404
    mine.refresh_from_db()
    assert mine.name == "张三的便利店"
    assert mine.owner.username == "rep"
    assert AuditLog.objects.count() == audit_before


@pytest.mark.django_db
def test_create_update_and_history(client_for, rep):
    c = client_for(rep)
    response = post(
        c,
        f"{API}/accounts",
        {
            "name": "浦东惠民便利店",
            "account_type": "outlet",
            "division": "310115",
            "phone": "138 0013 8000",
            "latitude": "31.22",
            "longitude": "121.54",
            "tags": ["新开户"],
            "channel_type": "convenience",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"]["name"] == "张三"
    assert body["org_unit"]["name"] == "上海区域"
    assert body["phone"] == "13800138000"
    assert body["tags"] == ["新开户"]
    assert body["division_name"] == "上海市浦东新区"
    account_id = body["id"]
    response = patch(c, f"{API}/accounts/{account_id}", {"grade": "A", "version": body["version"]})
    assert response.status_code == 200
    assert response.json()["grade"] == "A"
    assert response.json()["version"] == body["version"] + 1
    history = c.get(f"{API}/accounts/{account_id}/history").json()
    assert [h["action"] for h in history] == ["update", "create"]
    assert history[0]["changes"]["grade"] == ["C", "A"]
    assert history[0]["actor"] == "张三"


@pytest.mark.django_db
def test_stale_version_is_refused_with_conflict(client_for, rep, accounts):
    mine = accounts[0]
    c = client_for(rep)
    assert patch(c, f"{API}/accounts/{mine.pk}", {"grade": "B", "version": 1}).status_code == 200
    response = patch(c, f"{API}/accounts/{mine.pk}", {"grade": "A", "version": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "version_conflict"
    mine.refresh_from_db()
    assert mine.grade == "B"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("division", "999999", "division"),
        ("latitude", "95", "latitude"),
        ("phone", "12345", "phone"),
        ("account_type", "shop", "account_type"),
        ("owner", "rm_north", "owner"),
        ("tax_id", "91310000MA1FL0000X", "tax_id"),
        ("custom", {"nope": 1}, "custom.nope"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client_for, rep, outsider, field, value, code):
    data = {
        "name": "坏数据店",
        "account_type": "outlet",
        "division": "310115",
        "latitude": "31.2",
        "longitude": "121.5",
    }
    data[field] = value
    before = Account.objects.count()
    response = post(client_for(rep), f"{API}/accounts", data)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_failed"
    assert code in {e["field"] for e in body["errors"]}
    assert Account.objects.count() == before


@pytest.mark.django_db
def test_duplicate_is_warned_with_candidates_and_can_be_forced(client_for, rep, outsider, accounts):
    AccountFactory(
        name="北京 朝阳 老王超市", owner=outsider, division_id="110105", city_code="110100", phone="13911112222"
    )
    c = client_for(rep)
    data = {"name": "北京朝阳老王超市", "account_type": "outlet", "division": "110105"}
    response = post(c, f"{API}/accounts", data)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_suspected"
    # The candidate belongs to another region: reported, but neither its id nor its name leaks.
    assert body["candidates"] == [{"id": None, "name": "", "reasons": ["name_city"], "org_unit": "华北大区"}]
    forced = post(c, f"{API}/accounts?allow_duplicate=true", data)
    assert forced.status_code == 201


@pytest.mark.django_db
def test_cursor_pages_walk_every_row_once(client_for, general_manager, rep):
    for i in range(7):
        AccountFactory(name=f"店{i:02d}", owner=rep)
    c = client_for(general_manager)
    seen, cursor = [], None
    while True:
        url = f"{API}/accounts?limit=3&sort=-name" + (f"&cursor={cursor}" if cursor else "")
        body = c.get(url).json()
        seen += [i["name"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"店{i:02d}" for i in reversed(range(7))]
    assert c.get(f"{API}/accounts?cursor=garbage").json()["code"] == "invalid_cursor"


@pytest.mark.django_db
def test_filters_division_grade_and_prefix(client_for, general_manager, rep):
    AccountFactory(name="甲店", owner=rep, grade="A")
    AccountFactory(name="乙店", owner=rep, grade="B")
    AccountFactory(name="甲二店", owner=rep, grade="A", division_id="110105", city_code="110100")
    c = client_for(general_manager)
    assert names(c.get(f"{API}/accounts?division=310000&grade=A")) == ["甲店"]
    assert names(c.get(f"{API}/accounts?division=110100")) == ["甲二店"]
    assert names(c.get(f"{API}/accounts?q=甲")) == ["甲二店", "甲店"]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(client_for, general_manager, rep, django_assert_max_num_queries):
    for i in range(30):
        AccountFactory(name=f"店{i}", owner=rep)
    c = client_for(general_manager)
    with django_assert_max_num_queries(8):
        assert len(c.get(f"{API}/accounts?limit=30").json()["items"]) == 30


@pytest.mark.django_db
def test_transfer_records_history_and_bulk_transfer_is_atomic(client_for, area_manager, rep, teammate, outsider):
    a1 = AccountFactory(owner=rep)
    a2 = AccountFactory(owner=rep)
    c = client_for(area_manager)
    response = post(c, f"{API}/accounts/{a1.pk}/transfer", {"to_owner": "mate", "reason": "调整线路"})
    assert response.status_code == 200
    assert response.json()["owner"]["name"] == "李四"
    # A transfer to somebody outside the manager's scope is refused and moves nothing.
    response = post(c, f"{API}/accounts/transfer-all", {"from_owner": "rep", "to_owner": "rm_north", "reason": "离职"})
    assert response.status_code == 422
    a2.refresh_from_db()
    assert a2.owner == rep
    response = post(c, f"{API}/accounts/transfer-all", {"from_owner": "rep", "to_owner": "mate", "reason": "离职"})
    assert response.json() == {"moved": 1}
    a2.refresh_from_db()
    assert a2.owner == teammate
    changes = OwnershipChange.objects.filter(account=a2)
    assert [(ch.from_owner_id, ch.to_owner_id, ch.reason) for ch in changes] == [(rep.pk, teammate.pk, "离职")]
    ownership = c.get(f"{API}/accounts/{a1.pk}/ownership").json()
    assert ownership[0]["from_owner"] == "张三" and ownership[0]["to_owner"] == "李四"


@pytest.mark.django_db
def test_rep_cannot_transfer(client_for, rep):
    account = AccountFactory(owner=rep)
    response = post(client_for(rep), f"{API}/accounts/{account.pk}/transfer", {"to_owner": "rep", "reason": "x"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.owner == rep


@pytest.mark.django_db
def test_merge_moves_contacts_and_links(client_for, general_manager, rep):
    survivor = AccountFactory(name="惠民便利店", owner=rep)
    dupe = AccountFactory(name="惠民便利店(重复)", owner=rep, phone="13800000001")
    boss = ContactFactory(account=dupe, name="王老板", is_primary=True)
    supplier = AccountFactory(name="某经销商", owner=rep, account_type="distributor")
    c = client_for(general_manager)
    assert post(c, f"{API}/supply-links", {"supplier_id": supplier.pk, "customer_id": dupe.pk}).status_code == 201
    response = post(c, f"{API}/accounts/{survivor.pk}/merge", {"merged_id": dupe.pk, "reason": "重复建档"})
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "13800000001"
    dupe.refresh_from_db()
    assert dupe.status == "closed" and dupe.merged_into_id == survivor.pk
    assert [c.name for c in survivor.contacts.all()] == ["王老板"]
    assert list(survivor.supplied_by.values_list("supplier_id", flat=True)) == [supplier.pk]
    assert AuditLog.objects.filter(entity="customers.account", entity_id=str(dupe.pk), action="merge").count() == 1
    # The moved contact and supply link each carry their own record of the move.
    boss.refresh_from_db()
    assert (boss.is_primary, boss.version) == (False, 2)
    (contact_log,) = AuditLog.objects.filter(entity="customers.contact", entity_id=str(boss.pk), action="merge")
    assert contact_log.changes == {"account": [dupe.pk, survivor.pk], "is_primary": [True, False]}
    (link_log,) = AuditLog.objects.filter(entity="customers.supplylink", action="merge")
    assert link_log.changes == {"customer": [dupe.pk, survivor.pk]}


@pytest.mark.django_db
def test_new_primary_contact_unflags_the_old_one_with_history(client_for, rep):
    account = AccountFactory(owner=rep)
    old = ContactFactory(account=account, name="张经理", is_primary=True)
    c = client_for(rep)
    response = post(c, f"{API}/contacts", {"account_id": account.pk, "name": "李店长", "is_primary": True})
    assert response.status_code == 201, response.content
    old.refresh_from_db()
    assert (old.is_primary, old.version) == (False, 2)
    (log,) = AuditLog.objects.filter(entity="customers.contact", entity_id=str(old.pk), action="update")
    assert log.changes == {"is_primary": [True, False]} and "李店长" in log.reason


@pytest.mark.django_db
def test_supply_link_cycle_refused(client_for, general_manager, rep, outsider):
    d = AccountFactory(owner=rep, account_type="distributor")
    w = AccountFactory(owner=rep, account_type="wholesaler")
    o = AccountFactory(owner=rep)
    c = client_for(general_manager)
    assert post(c, f"{API}/supply-links", {"supplier_id": d.pk, "customer_id": w.pk}).status_code == 201
    assert post(c, f"{API}/supply-links", {"supplier_id": w.pk, "customer_id": o.pk}).status_code == 201
    response = post(c, f"{API}/supply-links", {"supplier_id": o.pk, "customer_id": d.pk})
    assert response.status_code == 422
    assert response.json()["code"] == "supply_cycle"
    assert d.supplied_by.count() == 0
    link_id = c.get(f"{API}/supply-links?account_id={o.pk}").json()["items"][0]["id"]
    assert patch(c, f"{API}/supply-links/{link_id}", {"active": False}).json()["active"] is False
    history = c.get(f"{API}/supply-links/{link_id}/history").json()
    assert history[0]["changes"] == {"active": [True, False]}
    assert client_for(outsider).get(f"{API}/supply-links/{link_id}").status_code == 404
    assert patch(client_for(outsider), f"{API}/supply-links/{link_id}", {"active": True}).status_code == 404


@pytest.mark.django_db
def test_token_auth_and_revocation(rep, accounts):
    from django.test import Client

    token, raw = token_create(actor=rep, user=rep, name="手机")
    c = Client()
    assert c.get(f"{API}/accounts").status_code == 401
    response = c.get(f"{API}/accounts", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert [i["name"] for i in response.json()["items"]] == ["张三的便利店"]
    token.refresh_from_db()
    assert token.last_used_at is not None
    token_revoke(actor=rep, token_id=token.pk)
    assert c.get(f"{API}/accounts", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_custom_fields_validated_and_filterable(client_for, general_manager, rep):
    from jinggeng.customers.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(key="area_sqm", label="营业面积", account_type="outlet", field_type="number")
    CustomFieldDefinition.objects.create(
        key="shop_kind", label="门店类型", account_type="outlet", field_type="choice", choices=["社区店", "商圈店"]
    )
    c = client_for(rep)
    base = {"account_type": "outlet", "division": "310115"}
    bad = post(c, f"{API}/accounts", {**base, "name": "甲", "custom": {"area_sqm": "很大", "shop_kind": "路边"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"custom.area_sqm", "custom.shop_kind"}
    ok = post(c, f"{API}/accounts", {**base, "name": "乙", "custom": {"area_sqm": "120", "shop_kind": "社区店"}})
    assert ok.status_code == 201 and ok.json()["custom"] == {"area_sqm": 120, "shop_kind": "社区店"}
    post(c, f"{API}/accounts", {**base, "name": "丙", "custom": {"area_sqm": 80}})
    assert names(client_for(general_manager).get(f"{API}/accounts?custom.area_sqm=120")) == ["乙"]
    assert names(client_for(general_manager).get(f"{API}/accounts?custom.shop_kind=社区店")) == ["乙"]


@pytest.mark.django_db
def test_contacts_scoped(client_for, rep, outsider, accounts):
    contact = ContactFactory(account=accounts[0], name="王老板")
    assert [c["name"] for c in client_for(rep).get(f"{API}/contacts").json()["items"]] == ["王老板"]
    assert client_for(outsider).get(f"{API}/contacts").json()["items"] == []
    assert client_for(outsider).get(f"{API}/contacts/{contact.pk}").status_code == 404
    response = patch(client_for(outsider), f"{API}/contacts/{contact.pk}", {"name": "x"})
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.name == "王老板"
    response = post(client_for(rep), f"{API}/contacts", {"account_id": accounts[0].pk, "name": "小李", "email": "bad"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "email"


@pytest.mark.django_db
def test_supervisor_sees_subtree_but_cannot_edit(client_for, org, rep, accounts):
    from jinggeng.org.tests.factories import make_employee

    supervisor = make_employee("sup", "supervisor", org.shanghai, name="督导甲").user
    mine = accounts[0]
    c = client_for(supervisor)
    assert names(c.get(f"{API}/accounts")) == ["张三的便利店", "李四的超市"]
    audits = AuditLog.objects.count()
    response = patch(c, f"{API}/accounts/{mine.pk}", {"grade": "A"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    mine.refresh_from_db()
    assert mine.grade == "C"
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_distributor_user_sees_own_company_and_its_outlets(client_for, org, rep):
    from jinggeng.customers.models import AccountUser, SupplyLink
    from jinggeng.org.tests.factories import make_employee

    distributor = AccountFactory(name="浦东经销商", owner=rep, account_type="distributor")
    outlet = AccountFactory(name="下游门店", owner=rep)
    AccountFactory(name="无关门店", owner=rep)
    SupplyLink.objects.create(supplier=distributor, customer=outlet)
    staff = make_employee("dist1", "distributor_user", org.shanghai, name="经销商员工").user
    AccountUser.objects.create(user=staff, account=distributor)
    assert names(client_for(staff).get(f"{API}/accounts")) == ["下游门店", "浦东经销商"]


@pytest.mark.django_db
def test_detail_visibility_is_the_list_scope_for_every_persona(
    client_for, org, rep, teammate, area_manager, outsider, general_manager
):
    """The detail checks the scope on the row (``account_row_visible``); the list filters in
    SQL. For every persona, a distributor's staff included, both must agree on every account."""
    from jinggeng.customers.models import AccountUser, SupplyLink
    from jinggeng.customers.selectors import scoped_accounts
    from jinggeng.org.tests.factories import make_employee

    distributor = AccountFactory(name="浦东经销商", owner=rep, account_type="distributor")
    outlet = AccountFactory(name="下游门店", owner=teammate)
    SupplyLink.objects.create(supplier=distributor, customer=outlet)
    unowned = AccountFactory(name="无主门店", owner=None, org_unit=org.shanghai)
    north = AccountFactory(name="北京门店", owner=outsider, division_id="110105", city_code="110100")
    company_level = AccountFactory(name="总部直营", owner=None, org_unit=org.company)
    staff = make_employee("dist1", "distributor_user", org.shanghai, name="经销商员工").user
    AccountUser.objects.create(user=staff, account=distributor)
    everyone = [distributor, outlet, unowned, north, company_level]

    for persona in (rep, teammate, area_manager, outsider, general_manager, staff):
        visible = set(scoped_accounts(persona).values_list("id", flat=True))
        c = client_for(persona)
        for account in everyone:
            response = c.get(f"{API}/accounts/{account.pk}")
            expected = 200 if account.pk in visible else 404
            assert response.status_code == expected, (persona.username, account.name)
    assert {a.pk for a in everyone} == set(scoped_accounts(general_manager).values_list("id", flat=True))


@pytest.mark.django_db
def test_detail_answer_has_every_field_as_stored(client_for, rep):
    from decimal import Decimal

    from jinggeng.customers.models import Tag
    from jinggeng.customers.schemas import AccountOut

    account = AccountFactory(
        owner=rep, name="浦东旗舰店", short_name="旗舰", credit_limit=Decimal("50000.00"), custom={"area_m2": 120}
    )
    account.tags.add(Tag.objects.create(name="重点"), Tag.objects.create(name="KA"))
    body = client_for(rep).get(f"{API}/accounts/{account.pk}").json()
    AccountOut.model_validate(body)
    account.refresh_from_db()
    assert body["name"] == "浦东旗舰店" and body["short_name"] == "旗舰"
    assert body["credit_limit"] == "50000.00" and body["custom"] == {"area_m2": 120}
    assert body["tags"] == ["KA", "重点"]
    assert body["owner"] == {"id": rep.pk, "name": rep.employee.name}
    assert body["org_unit"]["id"] == account.org_unit_id
    assert body["division"] == "310115" and body["division_name"]
    assert body["version"] == account.version and body["merged_into"] is None
    assert body["created_at"].startswith(account.created_at.strftime("%Y-%m-%dT%H:%M"))
