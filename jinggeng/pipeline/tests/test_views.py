"""Pipeline pages: scoped, 404 for the outsider (nothing changed), inline errors, htmx board moves."""

from __future__ import annotations

import pytest

from jinggeng.core.models import AuditLog
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.pipeline.models import Activity, Lead, Opportunity, StageChange
from jinggeng.pipeline.tests.factories import ActivityFactory, LeadFactory, OpportunityFactory, stage


@pytest.fixture
def records(rep):
    lead = LeadFactory(owner=rep, name="张三的线索")
    opportunity = OpportunityFactory(owner=rep, name="张三的商机")
    activity = ActivityFactory(owner=rep, subject="张三的拜访", opportunity=opportunity)
    return lead, opportunity, activity


@pytest.mark.django_db
def test_pages_render_for_the_owner(client_for, rep, records):
    lead, opportunity, activity = records
    c = client_for(rep)
    for url, text in (
        ("/pipeline/leads/", "张三的线索"),
        (f"/pipeline/leads/{lead.pk}/", "张三的线索"),
        (f"/pipeline/leads/{lead.pk}/edit/", "张三的线索"),
        (f"/pipeline/leads/{lead.pk}/convert/", "转化"),
        ("/pipeline/leads/new/", "新建线索"),
        ("/pipeline/opportunities/", "张三的商机"),
        (f"/pipeline/opportunities/{opportunity.pk}/", "初步接触"),
        (f"/pipeline/opportunities/{opportunity.pk}/edit/", "张三的商机"),
        ("/pipeline/opportunities/new/", "新建商机"),
        ("/pipeline/board/", "张三的商机"),
        (f"/pipeline/board/{opportunity.pipeline_id}/", "张三的商机"),
        ("/pipeline/funnel/", "销售漏斗"),
        (f"/pipeline/activities/{activity.pk}/", "张三的拜访"),
        ("/pipeline/activities/new/", "记录活动"),
        ("/pipeline/calendar/", "张三的拜访"),
        ("/pipeline/activities/", "张三的拜访"),
        ("/pipeline/activities/?open=1&mine=1&kind=meeting", "张三的拜访"),
        ("/pipeline/calendar/feed/", "日历订阅"),
    ):
        response = c.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


@pytest.mark.django_db
def test_outsider_gets_404_on_every_page_and_nothing_changes(client_for, outsider, records):
    lead, opportunity, activity = records
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    for url in (
        f"/pipeline/leads/{lead.pk}/",
        f"/pipeline/leads/{lead.pk}/edit/",
        f"/pipeline/leads/{lead.pk}/convert/",
        f"/pipeline/opportunities/{opportunity.pk}/",
        f"/pipeline/opportunities/{opportunity.pk}/edit/",
        f"/pipeline/activities/{activity.pk}/",
    ):
        assert c.get(url).status_code == 404, url
    target = stage(opportunity.pipeline, "需求确认").pk
    posts = (
        (f"/pipeline/leads/{lead.pk}/edit/", {"name": "篡改", "source": "web"}),
        (f"/pipeline/leads/{lead.pk}/assign/", {"to_owner": "rm_north"}),
        (f"/pipeline/leads/{lead.pk}/convert/", {"account_type": "outlet"}),
        (f"/pipeline/opportunities/{opportunity.pk}/edit/", {"name": "篡改", "account": opportunity.account_id}),
        (f"/pipeline/opportunities/{opportunity.pk}/move/", {"stage": target}),
        (f"/pipeline/opportunities/{opportunity.pk}/lines/", {"sku": "x", "quantity": "1", "price": "1"}),
        (f"/pipeline/activities/{activity.pk}/complete/", {}),
    )
    for url, data in posts:
        assert c.post(url, data).status_code == 404, url
        assert c.post(url, data, HTTP_HX_REQUEST="true").status_code == 404, url
    assert "张三的商机" not in c.get("/pipeline/board/").content.decode()
    assert "张三的线索" not in c.get("/pipeline/leads/").content.decode()
    assert "张三的拜访" not in c.get("/pipeline/activities/").content.decode()
    assert "张三的商机" not in c.get("/pipeline/opportunities/").content.decode()
    assert "张三的拜访" not in c.get("/pipeline/calendar/?team=1").content.decode()
    lead.refresh_from_db()
    opportunity.refresh_from_db()
    activity.refresh_from_db()
    assert (lead.name, lead.owner_id, lead.version) == ("张三的线索", records[0].owner_id, 1)
    assert (opportunity.name, opportunity.stage.name, opportunity.version) == ("张三的商机", "初步接触", 1)
    assert activity.done_at is None
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_lead_form_shows_errors_inline_and_saves_nothing(client_for, rep):
    c = client_for(rep)
    response = c.post(
        "/pipeline/leads/new/", {"name": "王五", "phone": "12345", "source": "web"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="lead-form"' in body and "<html" not in body
    assert "errorlist" in body
    assert Lead.objects.count() == 0
    response = c.post(
        "/pipeline/leads/new/", {"name": "王五", "phone": "13800138000", "source": "web"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    lead = Lead.objects.get()
    assert response["HX-Redirect"] == f"/pipeline/leads/{lead.pk}/"


@pytest.mark.django_db
def test_board_drop_moves_the_card_or_shows_the_error_on_it(client_for, rep):
    opportunity = OpportunityFactory(owner=rep, expected_close_date=None)
    c = client_for(rep)
    url = f"/pipeline/opportunities/{opportunity.pk}/move/"
    refused = c.post(url, {"stage": stage(opportunity.pipeline, "需求确认").pk, "version": 1}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    body = refused.content.decode()
    assert f'id="opp-{opportunity.pk}"' in body and "预计成交日期" in body and "<html" not in body
    opportunity.refresh_from_db()
    assert opportunity.stage.name == "初步接触"
    OpportunityFactory._meta.model.objects.filter(pk=opportunity.pk).update(expected_close_date="2027-05-01")
    moved = c.post(url, {"stage": stage(opportunity.pipeline, "需求确认").pk, "version": 1}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200
    assert moved["HX-Trigger"] == "board-changed"
    card = moved.content.decode()
    assert opportunity.account.name in card and rep.employee.name in card and 'data-version="2"' in card
    opportunity.refresh_from_db()
    assert opportunity.stage.name == "需求确认"
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2
    # the board fragment for the refresh
    fragment = c.get(f"/pipeline/board/{opportunity.pipeline_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="columns"' in fragment and "<html" not in fragment
    assert opportunity.account.name in fragment and rep.employee.name in fragment


@pytest.mark.django_db
def test_activity_form_and_complete(client_for, rep):
    opportunity = OpportunityFactory(owner=rep)
    c = client_for(rep)
    bad = c.post("/pipeline/activities/new/", {"kind": "task", "subject": "跟进"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    assert Activity.objects.count() == 0
    back = f"/pipeline/opportunities/{opportunity.pk}/"
    ok = c.post(
        "/pipeline/activities/new/",
        {"kind": "call", "subject": "电话跟进", "opportunity": opportunity.pk, "next": back},
    )
    assert ok.status_code == 302 and ok["Location"] == back
    activity = Activity.objects.get()
    assert c.post(f"/pipeline/activities/{activity.pk}/complete/").status_code == 302
    activity.refresh_from_db()
    assert activity.done_at is not None


@pytest.mark.django_db
def test_convert_page_and_opportunity_line_form(client_for, rep):
    lead = LeadFactory(owner=rep, company="新客户公司", division_id="310115")
    c = client_for(rep)
    response = c.post(
        f"/pipeline/leads/{lead.pk}/convert/",
        {"account_name": "新客户公司", "account_type": "key_account", "division": "310115", "pipeline": ""},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.account.name == "新客户公司"
    opportunity = OpportunityFactory(owner=rep, account=AccountFactory(owner=rep))
    from jinggeng.catalog.tests.factories import SkuFactory

    SkuFactory(code="TEA-1")
    bad = c.post(
        f"/pipeline/opportunities/{opportunity.pk}/lines/",
        {"sku": "TEA-1", "quantity": "-2", "unit": "case", "price": "5"},
        follow=True,
    )
    assert "必须大于 0" in bad.content.decode()
    assert opportunity.lines.count() == 0
    c.post(
        f"/pipeline/opportunities/{opportunity.pk}/lines/",
        {"sku": "TEA-1", "quantity": "2", "unit": "case", "price": "5"},
    )
    assert opportunity.lines.count() == 1
    assert Opportunity.objects.get(pk=opportunity.pk).amount == 10


@pytest.mark.django_db
def test_filters_offer_only_people_and_units_in_scope(client_for, rep, teammate, area_manager, outsider, records):
    page = client_for(area_manager).get("/pipeline/board/").content.decode()
    assert "张三" in page and "李四" in page and "赵经理" not in page and "北京区域" not in page
    own = client_for(rep).get("/pipeline/board/").content.decode()
    assert ">李四<" not in own and ">张三<" in own
    filtered = client_for(area_manager).get(f"/pipeline/board/?owner={teammate.pk}").content.decode()
    assert "张三的商机" not in filtered


@pytest.mark.django_db
def test_opportunity_form_by_account_code_with_inline_errors(client_for, rep, outsider):
    AccountFactory(owner=rep, code="KA-9")
    AccountFactory(owner=outsider, code="BJ-9", division_id="110105", city_code="110100")
    c = client_for(rep)
    bad = c.post("/pipeline/opportunities/new/", {"name": "项目", "account": "BJ-9"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "errorlist" in bad.content.decode() and "<html" not in bad.content.decode()
    assert Opportunity.objects.count() == 0
    ok = c.post(
        "/pipeline/opportunities/new/", {"name": "项目", "account": "KA-9", "amount": "5000"}, HTTP_HX_REQUEST="true"
    )
    assert ok.status_code == 204
    opportunity = Opportunity.objects.get()
    assert ok["HX-Redirect"] == f"/pipeline/opportunities/{opportunity.pk}/"
    stale = c.post(
        f"/pipeline/opportunities/{opportunity.pk}/edit/",
        {"name": "改名", "account": "KA-9", "version": 0},
        HTTP_HX_REQUEST="true",
    )
    assert "已被他人修改" in stale.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.name == "项目"


@pytest.mark.django_db
def test_activity_list_by_account(client_for, rep):
    a = AccountFactory(owner=rep)
    b = AccountFactory(owner=rep)
    ActivityFactory(owner=rep, subject="甲客户拜访", account=a)
    ActivityFactory(owner=rep, subject="乙客户拜访", account=b)
    page = client_for(rep).get(f"/pipeline/activities/?account={a.pk}").content.decode()
    assert "甲客户拜访" in page and "乙客户拜访" not in page
    assert f'name="account" value="{a.pk}"' in page
