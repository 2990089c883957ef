"""Leads: routing by territory and round robin, reassignment, conversion, scope and bad input."""

from __future__ import annotations

import pytest

from jinggeng.core.models import AuditLog, Notification
from jinggeng.customers.models import Account, Contact
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline.models import Lead, LeadAssignment, LeadStatus, Opportunity, RoundRobinState
from jinggeng.pipeline.services import lead_create
from jinggeng.pipeline.tests.conftest import patch, post
from jinggeng.pipeline.tests.factories import LeadFactory

API = "/api/v1/pipeline"


@pytest.mark.django_db
def test_leads_are_routed_by_territory_round_robin_and_the_state_survives(
    client_for, general_manager, rep, teammate, org, shanghai_territory
):
    owners = []
    for n in range(3):
        response = post(client_for(general_manager), f"{API}/leads", {"name": f"客户{n}", "division": "310115"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["org_unit"]["name"] == "上海区域"
        owners.append(body["owner"]["id"])
    assert owners == [rep.pk, teammate.pk, rep.pk]
    assert RoundRobinState.objects.get(org_unit=org.shanghai).last_user_id == rep.pk
    assert set(LeadAssignment.objects.values_list("rule", flat=True)) == {"territory"}
    # the assigned reps were told
    assert Notification.objects.filter(user=rep, kind="lead_assigned").count() == 2


@pytest.mark.django_db
def test_without_territory_the_lead_stays_with_its_creator(client_for, rep):
    response = post(client_for(rep), f"{API}/leads", {"name": "王五", "company": "某公司", "phone": "138-0013-8000"})
    assert response.status_code == 201
    body = response.json()
    assert (body["owner"]["id"], body["org_unit"]["name"], body["phone"]) == (rep.pk, "上海区域", "13800138000")
    assert LeadAssignment.objects.get().rule == "creator"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "12345"), ("division", "999999"), ("email", "not-an-email"), ("source", "tv"), ("name", "")],
)
def test_bad_lead_input_names_the_field_and_saves_nothing(client_for, rep, field, value):
    data = {"name": "王五", field: value}
    response = post(client_for(rep), f"{API}/leads", data)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert Lead.objects.count() == 0
    assert AuditLog.objects.count() == 0


@pytest.mark.django_db
def test_list_is_scoped_per_persona(
    client_for, rep, teammate, area_manager, outsider, general_manager, django_assert_max_num_queries
):
    LeadFactory(name="张三的线索", owner=rep)
    LeadFactory(name="李四的线索", owner=teammate)
    LeadFactory(name="北京线索", owner=outsider)

    def names(user):
        return sorted(x["name"] for x in client_for(user).get(f"{API}/leads").json()["items"])

    assert names(rep) == ["张三的线索"]
    assert names(area_manager) == ["张三的线索", "李四的线索"]
    assert names(outsider) == ["北京线索"]
    assert len(names(general_manager)) == 3
    c = client_for(general_manager)
    with django_assert_max_num_queries(10):
        assert c.get(f"{API}/leads?limit=2").status_code == 200


@pytest.mark.django_db
def test_outsider_gets_404_and_changes_nothing(client_for, rep, outsider):
    lead = LeadFactory(name="张三的线索", owner=rep)
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    assert c.get(f"{API}/leads/{lead.pk}").status_code == 404
    assert c.get(f"{API}/leads/{lead.pk}/history").status_code == 404
    assert c.get(f"{API}/leads/{lead.pk}/assignments").status_code == 404
    assert patch(c, f"{API}/leads/{lead.pk}", {"name": "篡改"}).status_code == 404
    assert post(c, f"{API}/leads/{lead.pk}/assign", {"to_owner": "rm_north"}).status_code == 404
    assert post(c, f"{API}/leads/{lead.pk}/convert", {"account": {"division": "110105"}}).status_code == 404
    assert c.delete(f"{API}/leads/{lead.pk}").status_code == 404
    lead.refresh_from_db()
    assert (lead.name, lead.owner_id, lead.status, lead.version) == ("张三的线索", rep.pk, LeadStatus.NEW, 1)
    assert AuditLog.objects.count() == audits
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_update_with_stale_version_is_refused(client_for, rep):
    lead = LeadFactory(owner=rep)
    c = client_for(rep)
    assert patch(c, f"{API}/leads/{lead.pk}", {"status": "working", "version": 1}).json()["version"] == 2
    response = patch(c, f"{API}/leads/{lead.pk}", {"interest": "饮料", "version": 1})
    assert response.status_code == 409
    assert response.json()["code"] == "version_conflict"
    assert response.json()["changed_fields"] == ["status"]
    lead.refresh_from_db()
    assert lead.interest == ""
    assert patch(c, f"{API}/leads/{lead.pk}", {"status": "converted"}).status_code == 422


@pytest.mark.django_db
def test_manual_reassignment_is_recorded(client_for, rep, teammate, area_manager, outsider):
    lead = LeadFactory(owner=rep)
    # a rep may not reassign
    assert post(client_for(rep), f"{API}/leads/{lead.pk}/assign", {"to_owner": "mate"}).status_code == 403
    # not to someone outside the manager's scope
    response = post(client_for(area_manager), f"{API}/leads/{lead.pk}/assign", {"to_owner": "rm_north"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "to_owner"
    response = post(
        client_for(area_manager), f"{API}/leads/{lead.pk}/assign", {"to_owner": "mate", "reason": "张三休假"}
    )
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == teammate.pk
    assignment = LeadAssignment.objects.get()
    assert (assignment.from_owner_id, assignment.to_owner_id, assignment.rule, assignment.by_id) == (
        rep.pk,
        teammate.pk,
        "manual",
        area_manager.pk,
    )
    audit = AuditLog.objects.get(entity="pipeline.lead", action="transfer")
    assert audit.changes["owner"] == [rep.pk, teammate.pk] and audit.reason == "张三休假"
    history = client_for(area_manager).get(f"{API}/leads/{lead.pk}/assignments").json()
    assert [h["rule"] for h in history] == ["manual"]
    assert client_for(rep).get(f"{API}/leads/{lead.pk}").status_code == 404  # no longer the rep's


@pytest.mark.django_db
def test_convert_creates_account_contact_and_opportunity_in_one_step(client_for, rep):
    lead = LeadFactory(owner=rep, name="王经理", company="浦东食品有限公司", phone="13900001111", division_id="310115")
    response = post(
        client_for(rep),
        f"{API}/leads/{lead.pk}/convert",
        {"create_opportunity": True, "opportunity": {"amount": "80000", "expected_close_date": "2027-03-31"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "converted"
    account = Account.objects.get()
    assert (account.name, account.account_type, account.owner_id, account.division_id) == (
        "浦东食品有限公司",
        "key_account",
        rep.pk,
        "310115",
    )
    contact = Contact.objects.get()
    assert (contact.account_id, contact.name, contact.phone) == (account.pk, "王经理", "13900001111")
    opportunity = Opportunity.objects.get()
    assert (opportunity.account_id, opportunity.amount, opportunity.stage.name) == (account.pk, 80000, "初步接触")
    assert body["account"]["id"] == account.pk and body["opportunity"]["id"] == opportunity.pk
    # converting again is refused
    again = post(client_for(rep), f"{API}/leads/{lead.pk}/convert", {})
    assert again.status_code == 422 and again.json()["code"] == "lead_not_convertible"


@pytest.mark.django_db
def test_convert_stops_on_a_suspected_duplicate_and_saves_nothing(client_for, rep):
    AccountFactory(name="已有客户", owner=rep, phone="13900001111")
    lead = LeadFactory(owner=rep, phone="13900001111", division_id="310115")
    response = post(client_for(rep), f"{API}/leads/{lead.pk}/convert", {"create_opportunity": True})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_suspected"
    assert Account.objects.count() == 1
    assert Contact.objects.count() == 0 and Opportunity.objects.count() == 0
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and lead.account_id is None
    # a bad opportunity also rolls back the new account and contact
    response = post(
        client_for(rep),
        f"{API}/leads/{lead.pk}/convert",
        {"allow_duplicate": True, "create_opportunity": True, "opportunity": {"amount": "-5"}},
    )
    assert response.status_code == 422
    assert Account.objects.count() == 1 and Contact.objects.count() == 0
    # linking to the existing account works
    existing = Account.objects.get()
    response = post(client_for(rep), f"{API}/leads/{lead.pk}/convert", {"account_id": existing.pk})
    assert response.status_code == 200
    assert Contact.objects.get().account_id == existing.pk


@pytest.mark.django_db
def test_convert_refuses_an_account_outside_scope(client_for, rep, outsider):
    far = AccountFactory(owner=outsider, division_id="110105", city_code="110100")
    lead = LeadFactory(owner=rep)
    response = post(client_for(rep), f"{API}/leads/{lead.pk}/convert", {"account_id": far.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "account_id"
    assert Contact.objects.count() == 0


@pytest.mark.django_db
def test_service_requires_permission(rep, org):
    from jinggeng.core.errors import PermissionDenied
    from jinggeng.org.tests.factories import make_employee

    promoter = make_employee("promo", "promoter", org.shanghai).user
    with pytest.raises(PermissionDenied):
        lead_create(actor=promoter, data={"name": "x"})
    assert Lead.objects.count() == 0
