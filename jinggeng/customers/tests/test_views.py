"""Customer pages: scoped lists, 404 for the outsider, validation shown inline, nothing saved."""

from __future__ import annotations

import pytest

from jinggeng.core.models import AuditLog
from jinggeng.customers.models import Account
from jinggeng.customers.tests.factories import AccountFactory, ContactFactory


@pytest.mark.django_db
def test_list_shows_only_scope_and_escapes_names(client_for, rep, teammate):
    AccountFactory(name="<script>alert(1)</script>店", owner=rep)
    AccountFactory(name="李四的超市", owner=teammate)
    page = client_for(rep).get("/customers/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;店" in page
    assert "<script>alert(1)" not in page
    assert "李四的超市" not in page


@pytest.mark.django_db
def test_htmx_request_gets_only_the_results_fragment(client_for, rep):
    AccountFactory(name="张三的店", owner=rep)
    response = client_for(rep).get("/customers/?q=张", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="results"' in body and "<html" not in body and "张三的店" in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_outsider_gets_404_on_every_page_and_nothing_changes(client_for, rep, outsider):
    account = AccountFactory(name="张三的店", owner=rep)
    contact = ContactFactory(account=account)
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    for url in (
        f"/customers/{account.pk}/",
        f"/customers/{account.pk}/edit/",
        f"/customers/contacts/{contact.pk}/edit/",
        f"/customers/{account.pk}/contacts/new/",
    ):
        assert c.get(url).status_code == 404, url
    assert (
        c.post(
            f"/customers/{account.pk}/edit/",
            {"name": "x", "account_type": "outlet", "division": "310115", "grade": "A", "status": "active"},
        ).status_code
        == 404
    )
    assert c.post(f"/customers/{account.pk}/transfer/", {"to_owner": "rm_north", "reason": "x"}).status_code == 404
    account.refresh_from_db()
    assert (account.name, account.owner_id) == ("张三的店", rep.pk)
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_create_form_shows_field_errors_inline_and_saves_nothing(client_for, rep):
    c = client_for(rep)
    assert c.get("/customers/new/").status_code == 200
    response = c.post(
        "/customers/new/",
        {
            "name": "新店",
            "account_type": "outlet",
            "grade": "C",
            "status": "active",
            "division": "123",
            "latitude": "200",
            "longitude": "121",
            "phone": "abc",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "无效的行政区划代码" in body and "电话号码格式不正确" in body and "应在 -90 到 90 之间" in body
    assert Account.objects.count() == 0
    response = c.post(
        "/customers/new/",
        {
            "name": "新店",
            "account_type": "outlet",
            "grade": "C",
            "status": "active",
            "division": "310115",
        },
    )
    assert response.status_code == 302
    account = Account.objects.get()
    assert (account.owner_id, account.name) == (rep.pk, "新店")
    detail = c.get(response["Location"]).content.decode()
    assert "新店" in detail and "上海市浦东新区" in detail


@pytest.mark.django_db
def test_detail_shows_history_and_map_page_renders(client_for, rep):
    c = client_for(rep)
    c.post(
        "/customers/new/",
        {"name": "历史店", "account_type": "outlet", "grade": "C", "status": "active", "division": "310115"},
    )
    account = Account.objects.get()
    c.post(
        f"/customers/{account.pk}/edit/",
        {
            "name": "历史店",
            "account_type": "outlet",
            "grade": "A",
            "status": "active",
            "division": "310115",
            "version": account.version,
        },
    )
    body = c.get(f"/customers/{account.pk}/").content.decode()
    assert "修改历史" in body and '<span title="grade">等级</span>: C → A' in body
    assert c.get("/customers/map/").status_code == 200
    points = c.get("/api/v1/customers/accounts/map").json()
    assert points == []  # created without coordinates


@pytest.mark.django_db
def test_english_interface(client_for, rep):
    c = client_for(rep)
    c.post("/i18n/setlang/", {"language": "en", "next": "/customers/"})
    assert c.get("/customers/").status_code == 200


@pytest.mark.django_db
def test_list_filters_by_custom_field(client_for, rep):
    from jinggeng.customers.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(key="fridges", label="冷柜数量", field_type="number")
    AccountFactory(name="有冷柜", owner=rep, custom={"fridges": 2})
    AccountFactory(name="没冷柜", owner=rep, custom={"fridges": 0})
    body = client_for(rep).get("/customers/?custom.fridges=2").content.decode()
    assert "有冷柜" in body and "没冷柜" not in body and "冷柜数量" in body


@pytest.mark.django_db
def test_contact_detail_for_readers_edit_only_with_permission(client_for, org, rep, outsider):
    from jinggeng.org.tests.factories import make_employee

    supervisor = make_employee("sup", "supervisor", org.shanghai, name="督导甲").user
    contact = ContactFactory(account=AccountFactory(owner=rep), name="王老板")
    body = client_for(supervisor).get(f"/customers/contacts/{contact.pk}/").content.decode()
    assert "王老板" in body and f"/customers/contacts/{contact.pk}/edit/" not in body
    assert client_for(supervisor).get(f"/customers/contacts/{contact.pk}/edit/").status_code == 404
    assert (
        f"/customers/contacts/{contact.pk}/edit/"
        in client_for(rep).get(f"/customers/contacts/{contact.pk}/").content.decode()
    )
    assert client_for(outsider).get(f"/customers/contacts/{contact.pk}/").status_code == 404


@pytest.mark.django_db
def test_division_options_by_name_or_code(client_for, rep):
    c = client_for(rep)
    assert (
        '<option value="310115">上海市浦东新区</option>'
        in c.get("/customers/divisions/?division=浦东").content.decode()
    )
    by_code = c.get("/customers/divisions/?division=310115").content.decode()
    assert by_code.count("<option") == 1 and "310115" in by_code
    assert "<option" not in c.get("/customers/divisions/?division=").content.decode()
