"""Opportunities: lines, stage moves with requirements, won / lost, history, locking, alerts, scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jinggeng.catalog.tests.factories import SkuFactory
from jinggeng.core.models import AuditLog, Notification
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline.models import LossReason, Opportunity, OpportunityLine, Pipeline, StageChange
from jinggeng.pipeline.tests.conftest import patch, post
from jinggeng.pipeline.tests.factories import OpportunityFactory, key_account_pipeline, stage

API = "/api/v1/pipeline"


@pytest.fixture
def sku(db):
    return SkuFactory(code="COLA-500")  # 6 pieces a pack, 4 packs a case


@pytest.mark.django_db
def test_default_pipelines_exist_with_chinese_stages():
    names = dict(Pipeline.objects.values_list("code", "name"))
    assert names == {"key_account": "大客户项目", "distributor_recruitment": "经销商招募"}
    pipeline = key_account_pipeline()
    assert [(s.name, s.probability) for s in pipeline.stages.all()] == [
        ("初步接触", 10),
        ("需求确认", 25),
        ("方案报价", 50),
        ("商务谈判", 75),
        ("赢单", 100),
        ("丢单", 0),
    ]
    assert LossReason.objects.filter(active=True).count() == 7


@pytest.mark.django_db
def test_create_with_lines_converts_units_and_sums_the_amount(client_for, rep, sku):
    account = AccountFactory(owner=rep)
    response = post(
        client_for(rep),
        f"{API}/opportunities",
        {
            "name": "年度供货",
            "account": account.pk,
            "pipeline": "key_account",
            "expected_close_date": "2027-02-15",
            "lines": [
                {"sku": "COLA-500", "quantity": "10", "unit": "case", "price": "80"},
                {"sku": str(sku.pk), "quantity": "3", "unit": "提", "price": "20.5"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert Decimal(body["amount"]) == Decimal("861.50")
    assert [(Decimal(x["quantity_pieces"]), x["unit"]) for x in body["lines"]] == [
        (Decimal("240"), "case"),
        (Decimal("18"), "pack"),
    ]
    assert body["stage"]["name"] == "初步接触" and body["owner"]["id"] == rep.pk and body["probability"] == 10
    assert StageChange.objects.filter(opportunity_id=body["id"], from_stage=None).count() == 1
    assert AuditLog.objects.filter(entity="pipeline.opportunity", action="create").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "COLA-500", "quantity": "-1", "unit": "case", "price": "1"}, "lines.0.quantity"),
        ({"sku": "COLA-500", "quantity": "0", "unit": "case", "price": "1"}, "lines.0.quantity"),
        ({"sku": "COLA-500", "quantity": "1", "unit": "pallet", "price": "1"}, "lines.0.unit"),
        ({"sku": "COLA-500", "quantity": "1", "unit": "case", "price": "-0.01"}, "lines.0.price"),
        ({"sku": "NOPE", "quantity": "1", "unit": "case", "price": "1"}, "lines.0.sku"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_saved(client_for, rep, sku, line, field):
    account = AccountFactory(owner=rep)
    response = post(client_for(rep), f"{API}/opportunities", {"name": "x", "account": account.pk, "lines": [line]})
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert Opportunity.objects.count() == 0 and OpportunityLine.objects.count() == 0
    # the same on an update: the existing lines stay
    opportunity = OpportunityFactory(owner=rep)
    response = patch(client_for(rep), f"{API}/opportunities/{opportunity.pk}", {"lines": [line]})
    assert response.status_code == 422
    assert opportunity.lines.count() == 0
    opportunity.refresh_from_db()
    assert opportunity.version == 1


@pytest.mark.django_db
def test_other_bad_input(client_for, rep, outsider):
    far = AccountFactory(owner=outsider, division_id="110105", city_code="110100")
    c = client_for(rep)
    response = post(c, f"{API}/opportunities", {"name": "x", "account": far.pk})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "account"
    account = AccountFactory(owner=rep)
    response = post(c, f"{API}/opportunities", {"name": "x", "account": account.pk, "amount": "-1"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "amount"
    response = post(c, f"{API}/opportunities", {"name": "x", "account": account.pk, "stage": "赢单"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "stage"
    assert Opportunity.objects.count() == 0


@pytest.mark.django_db
def test_move_checks_required_fields_and_keeps_history(client_for, rep, sku):
    opportunity = OpportunityFactory(owner=rep, amount=Decimal("0"), expected_close_date=None)
    pipeline = opportunity.pipeline
    c = client_for(rep)
    url = f"{API}/opportunities/{opportunity.pk}/move"
    response = post(c, url, {"stage": stage(pipeline, "商务谈判").pk})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "stage_requirements"
    assert body["missing_fields"] == ["expected_close_date", "amount", "lines", "next_step"]
    assert "预计成交日期" in body["detail"] and "产品明细" in body["detail"]
    opportunity.refresh_from_db()
    assert opportunity.stage.name == "初步接触" and opportunity.version == 1
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1
    # fill them in, then the move goes through
    patched = patch(
        c,
        f"{API}/opportunities/{opportunity.pk}",
        {
            "expected_close_date": "2027-01-31",
            "next_step": "周五报价",
            "lines": [{"sku": "COLA-500", "quantity": "100", "unit": "case", "price": "90"}],
            "version": 1,
        },
    )
    assert patched.status_code == 200 and Decimal(patched.json()["amount"]) == Decimal("9000")
    response = post(c, url, {"stage": stage(pipeline, "商务谈判").pk, "version": 2})
    assert response.status_code == 200, response.content
    assert response.json()["stage"]["name"] == "商务谈判" and response.json()["version"] == 3
    spells = c.get(f"{API}/opportunities/{opportunity.pk}/stages").json()
    assert [s["stage"]["name"] for s in spells] == ["初步接触", "商务谈判"]
    assert spells[0]["left_at"] is not None and spells[1]["left_at"] is None
    assert spells[1]["by"] == "张三"


@pytest.mark.django_db
def test_invalid_stage_moves(client_for, rep):
    opportunity = OpportunityFactory(owner=rep)
    other = Pipeline.objects.get(code="distributor_recruitment").stages.first()
    c = client_for(rep)
    url = f"{API}/opportunities/{opportunity.pk}/move"
    for target in (other.pk, opportunity.stage_id, 999999):
        response = post(c, url, {"stage": target})
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_stage"
    # lost needs a reason from the list
    lost = stage(opportunity.pipeline, "丢单")
    response = post(c, url, {"stage": lost.pk})
    assert response.status_code == 422 and response.json()["missing_fields"] == ["lost_reason"]
    response = post(c, url, {"stage": lost.pk, "lost_reason": 999999})
    assert response.status_code == 422 and response.json()["code"] == "invalid_lost_reason"
    opportunity.refresh_from_db()
    assert opportunity.status == "open" and opportunity.version == 1


@pytest.mark.django_db
def test_won_and_lost_close_the_deal(client_for, rep):
    won = OpportunityFactory(owner=rep)
    lost = OpportunityFactory(owner=rep)
    c = client_for(rep)
    body = post(c, f"{API}/opportunities/{won.pk}/win", {}).json()
    assert (body["status"], body["stage"]["name"]) == ("won", "赢单")
    assert body["closed_at"] is not None and body["cycle_days"] is not None
    reason = LossReason.objects.get(name="价格偏高")
    body = post(c, f"{API}/opportunities/{lost.pk}/lose", {"lost_reason": reason.pk, "note": "对手低 5%"}).json()
    assert (body["status"], body["lost_reason"]["name"], body["lost_note"]) == ("lost", "价格偏高", "对手低 5%")
    # closed deals do not move any more
    response = post(c, f"{API}/opportunities/{won.pk}/move", {"stage": stage(won.pipeline, "需求确认").pk})
    assert response.status_code == 422 and response.json()["code"] == "invalid_stage"


@pytest.mark.django_db
def test_second_save_on_an_old_version_says_what_changed(client_for, rep, area_manager):
    opportunity = OpportunityFactory(owner=rep)
    assert (
        patch(
            client_for(area_manager),
            f"{API}/opportunities/{opportunity.pk}",
            {"next_step": "拜访采购", "amount": "120000", "version": 1},
        ).status_code
        == 200
    )
    response = patch(client_for(rep), f"{API}/opportunities/{opportunity.pk}", {"competitors": "某品牌", "version": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "version_conflict"
    assert body["changed_fields"] == ["amount", "next_step"]
    assert "金额、下一步" in body["detail"]
    opportunity.refresh_from_db()
    assert (opportunity.competitors, opportunity.next_step, opportunity.version) == ("", "拜访采购", 2)
    # a move on a stale version is refused the same way
    response = post(
        client_for(rep),
        f"{API}/opportunities/{opportunity.pk}/move",
        {"stage": stage(opportunity.pipeline, "需求确认").pk, "version": 1},
    )
    assert response.status_code == 409


@pytest.mark.django_db
def test_large_deal_notifies_the_manager_chain_once(client_for, rep, area_manager, general_manager, settings):
    settings.PIPELINE_LARGE_DEAL_AMOUNT = 500000
    account = AccountFactory(owner=rep)
    c = client_for(rep)
    small = post(c, f"{API}/opportunities", {"name": "小单", "account": account.pk, "amount": "500000"})
    assert small.status_code == 201
    assert Notification.objects.count() == 0
    big = post(c, f"{API}/opportunities", {"name": "大单", "account": account.pk, "amount": "800000"}).json()
    assert sorted(Notification.objects.filter(kind="large_deal").values_list("user_id", flat=True)) == sorted(
        [area_manager.pk, general_manager.pk]
    )
    patch(c, f"{API}/opportunities/{big['id']}", {"amount": "900000"})
    assert Notification.objects.filter(kind="large_deal").count() == 2
    # raising the small one above the threshold alerts then
    patch(c, f"{API}/opportunities/{small.json()['id']}", {"amount": "600000"})
    assert Notification.objects.filter(kind="large_deal").count() == 4


@pytest.mark.django_db
def test_list_is_scoped_and_filters(
    client_for, rep, teammate, area_manager, outsider, general_manager, django_assert_max_num_queries
):
    OpportunityFactory(owner=rep, name="张三的商机")
    OpportunityFactory(owner=teammate, name="李四的商机")
    OpportunityFactory(
        owner=outsider,
        name="北京商机",
        account=AccountFactory(owner=outsider, division_id="110105", city_code="110100"),
    )

    def names(user, query=""):
        return sorted(x["name"] for x in client_for(user).get(f"{API}/opportunities{query}").json()["items"])

    assert names(rep) == ["张三的商机"]
    assert names(area_manager) == ["张三的商机", "李四的商机"]
    assert names(outsider) == ["北京商机"]
    assert len(names(general_manager)) == 3
    assert names(general_manager, f"?owner={teammate.pk}") == ["李四的商机"]
    c = client_for(general_manager)
    with django_assert_max_num_queries(10):
        assert len(c.get(f"{API}/opportunities?limit=2").json()["items"]) == 2


@pytest.mark.django_db
def test_outsider_gets_404_and_changes_nothing(client_for, rep, outsider):
    opportunity = OpportunityFactory(owner=rep, name="张三的商机")
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    base = f"{API}/opportunities/{opportunity.pk}"
    for url in (base, f"{base}/history", f"{base}/stages"):
        assert c.get(url).status_code == 404, url
    assert patch(c, base, {"name": "篡改"}).status_code == 404
    assert post(c, f"{base}/move", {"stage": stage(opportunity.pipeline, "需求确认").pk}).status_code == 404
    assert post(c, f"{base}/win", {}).status_code == 404
    assert post(c, f"{base}/lose", {"lost_reason": LossReason.objects.first().pk}).status_code == 404
    assert c.delete(base).status_code == 404
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.stage.name, opportunity.status, opportunity.version) == (
        "张三的商机",
        "初步接触",
        "open",
        1,
    )
    assert AuditLog.objects.count() == audits
    assert StageChange.objects.count() == 1


@pytest.mark.django_db
def test_delete_needs_permission_and_loss_reasons_are_editable(client_for, rep, area_manager, general_manager):
    opportunity = OpportunityFactory(owner=rep)
    assert client_for(rep).delete(f"{API}/opportunities/{opportunity.pk}").status_code == 403
    assert client_for(area_manager).delete(f"{API}/opportunities/{opportunity.pk}").status_code == 204
    assert AuditLog.objects.filter(entity="pipeline.opportunity", action="delete").count() == 1
    assert post(client_for(rep), f"{API}/loss-reasons", {"name": "新原因"}).status_code == 403
    created = post(client_for(general_manager), f"{API}/loss-reasons", {"name": "新原因"})
    assert created.status_code == 201
    reason_id = created.json()["id"]
    assert (
        patch(
            client_for(general_manager), f"{API}/loss-reasons/{reason_id}", {"name": "新原因", "active": False}
        ).status_code
        == 200
    )
    assert "新原因" not in [r["name"] for r in client_for(rep).get(f"{API}/loss-reasons").json()]
    assert post(client_for(general_manager), f"{API}/loss-reasons", {"name": "价格偏高"}).status_code == 422


@pytest.mark.django_db
def test_time_in_stage_and_cycle_from_history(rep):
    from jinggeng.pipeline import selectors

    opportunity = OpportunityFactory(owner=rep)
    start = timezone.now() - dt.timedelta(days=10)
    Opportunity.objects.filter(pk=opportunity.pk).update(created_at=start)
    StageChange.objects.filter(opportunity=opportunity).update(at=start)
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=opportunity.stage,
        to_stage=stage(opportunity.pipeline, "需求确认"),
        by=rep,
        at=start + dt.timedelta(days=4),
    )
    spells = selectors.opportunity_stage_history(actor=rep, opportunity_id=opportunity.pk)
    assert spells[0].days == 4.0
    opportunity.refresh_from_db()
    opportunity.closed_at = start + dt.timedelta(days=7, hours=12)
    assert selectors.opportunity_cycle_days(opportunity) == 7.5


@pytest.mark.django_db
def test_stage_configuration_is_validated():
    from django.core.exceptions import ValidationError

    pipeline = key_account_pipeline()
    bad = stage(pipeline, "需求确认")
    bad.required_fields = ["budget"]
    with pytest.raises(ValidationError):
        bad.full_clean()
    bad.required_fields = ["amount"]
    bad.is_won = bad.is_lost = True
    with pytest.raises(ValidationError):
        bad.full_clean()


@pytest.mark.django_db
def test_default_permissions_are_granted_once_and_admin_changes_stay(rep):
    from django.contrib.auth.models import Permission

    from jinggeng.org.models import Role
    from jinggeng.pipeline.permissions import ensure_pipeline_permissions

    group = Role.objects.get(code="rep").group
    assert group.permissions.filter(codename="add_opportunity").exists()
    assert not group.permissions.filter(codename="assign_lead").exists()
    group.permissions.remove(Permission.objects.get(codename="add_opportunity"))
    assert ensure_pipeline_permissions() == 0
    assert not group.permissions.filter(codename="add_opportunity").exists()
