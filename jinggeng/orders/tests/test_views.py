"""Order pages: scoped lists, order entry with htmx, approval box, payments with allocation,
receivables ageing with drill-down, price lists and contracts; the outsider gets 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jinggeng.core.models import AuditLog
from jinggeng.orders.models import (
    ApprovalRule,
    Contract,
    OrderLine,
    OrderStatus,
    PaymentAllocation,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)
from jinggeng.orders.tests.factories import ContractFactory, PriceListFactory, PriceListItemFactory

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.django_db
def test_order_list_is_scoped_filtered_and_has_fragments(
    client_for, rep, teammate, account, make_order, django_assert_max_num_queries
):
    from jinggeng.customers.tests.factories import AccountFactory

    mine = make_order(rep, account)
    make_order(rep, account, status=OrderStatus.APPROVED)
    other = make_order(teammate, AccountFactory(name="李四的店", owner=teammate))
    c = client_for(rep)
    page = c.get("/orders/").content.decode()
    assert mine.number in page and other.number not in page
    with django_assert_max_num_queries(12):
        response = c.get("/orders/?status=draft", **HX)
    body = response.content.decode()
    assert 'id="results"' in body and "<html" not in body
    assert mine.number in body and body.count("orders/") >= 1
    assert "已审批" not in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_order_entry_on_the_phone(client_for, rep, account, sku):
    PriceListItemFactory(price_list=PriceListFactory(grade="B"), sku=sku, price=Decimal("3.00"))
    c = client_for(rep)
    assert c.get("/orders/new/").status_code == 200
    response = c.post("/orders/new/", {"account_id": account.pk, "order_date": "2026-03-01"}, **HX)
    assert response.status_code == 204
    order = SalesOrder.objects.get()
    assert response["HX-Redirect"] == f"/orders/{order.pk}/edit/"
    edit = c.get(f"/orders/{order.pk}/edit/").content.decode()
    assert "添加商品" in edit and 'name="quantity"' in edit
    quote = c.get(f"/orders/{order.pk}/price/?sku={sku.code}&unit=case&quantity=2", **HX).content.decode()
    assert "<strong>3.00</strong>" in quote and "144.00" in quote and "基础价格表" not in quote
    added = c.post(
        f"/orders/{order.pk}/lines/",
        {"sku": sku.code, "unit": "case", "quantity": "2", "discount_percent": "", "version": 1},
        **HX,
    ).content.decode()
    assert 'id="lines"' in added and "144.00" in added
    assert OrderLine.objects.count() == 1
    bad = c.post(f"/orders/{order.pk}/lines/", {"sku": sku.code, "unit": "case", "quantity": "-2", "version": 2}, **HX)
    assert bad.status_code == 200
    assert "必须大于 0" in bad.content.decode()
    assert OrderLine.objects.count() == 1
    stale = c.post(f"/orders/{order.pk}/lines/", {"sku": sku.code, "unit": "case", "quantity": "1", "version": 1}, **HX)
    assert "已被他人修改" in stale.content.decode()
    assert OrderLine.objects.count() == 1
    line = OrderLine.objects.get()
    assert c.post(f"/orders/{order.pk}/lines/{line.pk}/delete/", **HX).status_code == 200
    assert OrderLine.objects.count() == 0


@pytest.mark.django_db
def test_order_create_form_shows_errors_inline(client_for, rep, far_account):
    c = client_for(rep)
    response = c.post("/orders/new/", {"account_id": far_account.pk, "order_date": "2026-03-01"}, **HX)
    assert response.status_code == 200
    assert 'id="order-form"' in response.content.decode()
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
def test_approval_box_shows_why_and_approves(client_for, rep, area_manager, account, make_order):
    ApprovalRule.objects.create(name="折扣", min_discount_percent=Decimal("10"), manager_level=1)
    order = make_order(rep, account, discount="15")
    c = client_for(rep)
    assert c.post(f"/orders/{order.pk}/submit/", {"version": 1}).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    rep_page = c.get(f"/orders/{order.pk}/").content.decode()
    assert "折扣 15% 超过 10%" in rep_page and "审批通过" not in rep_page
    m = client_for(area_manager)
    page = m.get(f"/orders/{order.pk}/").content.decode()
    assert "折扣 15% 超过 10%（规则“折扣”，由 李经理 审批）" in page and "审批通过" in page
    m.post(f"/orders/{order.pk}/approve/", {"note": "同意", "version": order.version})
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    page = m.get(f"/orders/{order.pk}/").content.decode()
    assert "同意" in page and "修改历史" in page
    # A move not allowed from the state: a message, nothing changes.
    response = m.post(f"/orders/{order.pk}/complete/", {}, follow=True)
    assert "不能变为" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED


@pytest.mark.django_db
def test_payment_entry_and_allocation(client_for, rep, account, make_order):
    order = make_order(rep, account, quantity="5", status=OrderStatus.APPROVED)  # 420
    c = client_for(rep)
    response = c.post(
        "/orders/payments/new/",
        {"account_id": account.pk, "amount": "300", "received_on": "2026-03-05", "method": "cash"},
        **HX,
    )
    receipt = PaymentReceipt.objects.get()
    assert response["HX-Redirect"] == f"/orders/payments/{receipt.pk}/"
    page = c.get(f"/orders/payments/{receipt.pk}/").content.decode()
    assert order.number in page and "300.00" in page
    over = c.post(f"/orders/payments/{receipt.pk}/allocate/", {"order_id": order.pk, "amount": "301"}, **HX)
    assert "超过回款未核销余额 300.00" in over.content.decode()
    assert PaymentAllocation.objects.count() == 0
    ok = c.post(f"/orders/payments/{receipt.pk}/allocate/", {"order_id": order.pk, "amount": "120"}, **HX)
    assert ok.status_code == 204
    page = c.get(f"/orders/payments/{receipt.pk}/").content.decode()
    assert "180.00" in page  # unallocated
    bad = c.post("/orders/payments/new/", {"account_id": account.pk, "amount": "-5", "method": "cash"}, **HX)
    assert "必须大于 0" in bad.content.decode()
    assert PaymentReceipt.objects.count() == 1
    assert "PR" in c.get("/orders/payments/").content.decode()


@pytest.mark.django_db
def test_receivables_page_and_drill_down(client_for, rep, area_manager, outsider, account, make_order):
    order = make_order(rep, account, quantity="1", order_date=dt.date(2026, 1, 5), status=OrderStatus.APPROVED)
    m = client_for(area_manager)
    page = m.get("/orders/receivables/?group_by=owner&as_of=2026-06-30").content.decode()
    assert "张三" in page and "84.00" in page
    assert f"owner={rep.pk}&bucket=d90_plus" in page
    drill = m.get(f"/orders/receivables/orders/?owner={rep.pk}&bucket=d90_plus&as_of=2026-06-30").content.decode()
    assert order.number in drill
    assert (
        order.number
        not in client_for(outsider)
        .get(f"/orders/receivables/orders/?owner={rep.pk}&bucket=d90_plus&as_of=2026-06-30")
        .content.decode()
    )
    assert (
        "张三" not in client_for(outsider).get("/orders/receivables/?group_by=owner&as_of=2026-06-30").content.decode()
    )
    assert m.get("/orders/receivables/orders/?bucket=nope").status_code == 404


@pytest.mark.django_db
def test_price_list_pages(client_for, general_manager, rep, sku):
    gm = client_for(general_manager)
    response = gm.post(
        "/orders/price-lists/new/",
        {"code": "PL-A", "name": "A 级价", "valid_from": "2026-01-01", "grade": "A", "active": "on"},
        **HX,
    )
    pl = PriceList.objects.get()
    assert response["HX-Redirect"] == f"/orders/price-lists/{pl.pk}/"
    bad = gm.post(f"/orders/price-lists/{pl.pk}/items/", {"sku": sku.code, "price": "-2"}, **HX).content.decode()
    assert "不能小于 0" in bad and PriceListItem.objects.count() == 0
    good = gm.post(f"/orders/price-lists/{pl.pk}/items/", {"sku": sku.code, "price": "2.80"}, **HX).content.decode()
    assert "2.80" in good and PriceListItem.objects.count() == 1
    assert "PL-A" in client_for(rep).get("/orders/price-lists/").content.decode()
    assert client_for(rep).get("/orders/price-lists/new/").status_code == 404
    assert (
        client_for(rep).post(f"/orders/price-lists/{pl.pk}/items/", {"sku": sku.code, "price": "1"}).status_code == 404
    )
    bad_period = gm.post(
        f"/orders/price-lists/{pl.pk}/edit/",
        {"code": "PL-A", "name": "A 级价", "valid_from": "2026-01-01", "valid_to": "2025-01-01", "version": 1},
        **HX,
    ).content.decode()
    assert "失效日期不能早于生效日期" in bad_period


@pytest.mark.django_db
def test_contract_pages_and_upload(client_for, rep, account, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)
    c = client_for(rep)
    response = c.post(
        "/orders/contracts/new/",
        {
            "account_id": account.pk,
            "code": "HT-9",
            "period_from": "2026-01-01",
            "period_to": "2026-12-31",
            "status": "active",
        },
        **HX,
    )
    contract = Contract.objects.get()
    assert response["HX-Redirect"] == f"/orders/contracts/{contract.pk}/"
    c.post(f"/orders/contracts/{contract.pk}/", {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7 x")})
    bad = c.post(f"/orders/contracts/{contract.pk}/", {"file": SimpleUploadedFile("a.exe", b"MZ")}).content.decode()
    assert "不支持的文件类型" in bad
    attachment = contract.attachments.get()
    download = c.get(f"/orders/contracts/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.7 x"
    assert "HT-9" in c.get("/orders/contracts/").content.decode()


@pytest.mark.django_db
def test_outsider_gets_404_on_every_page_and_nothing_changes(
    client_for, rep, outsider, account, make_order, sku, settings, tmp_path
):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.MEDIA_ROOT = str(tmp_path)
    draft = make_order(rep, account)
    approved = make_order(rep, account, status=OrderStatus.APPROVED)
    receipt = PaymentReceipt.objects.create(
        number="PR-X",
        account=account,
        owner=rep,
        org_unit=account.org_unit,
        amount=100,
        received_on="2026-03-02",
        method="cash",
    )
    allocation = PaymentAllocation.objects.create(receipt=receipt, order=approved, amount=10)
    contract = ContractFactory(account=account)
    c = client_for(outsider)
    audits = AuditLog.objects.count()
    for url in (
        f"/orders/{draft.pk}/",
        f"/orders/{draft.pk}/edit/",
        f"/orders/{draft.pk}/price/?sku={sku.code}",
        f"/orders/payments/{receipt.pk}/",
        f"/orders/contracts/{contract.pk}/",
        f"/orders/contracts/{contract.pk}/edit/",
    ):
        assert c.get(url).status_code == 404, url
    for url, data in (
        (f"/orders/{draft.pk}/submit/", {}),
        (f"/orders/{draft.pk}/cancel/", {}),
        (f"/orders/{approved.pk}/ship/", {}),
        (f"/orders/{draft.pk}/lines/", {"sku": sku.code, "quantity": "1", "unit": "case"}),
        (f"/orders/{draft.pk}/lines/{draft.lines.get().pk}/delete/", {}),
        (f"/orders/payments/{receipt.pk}/allocate/", {"order_id": approved.pk, "amount": "1"}),
        (f"/orders/allocations/{allocation.pk}/delete/", {}),
        (f"/orders/contracts/{contract.pk}/", {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7")}),
        (f"/orders/contracts/{contract.pk}/edit/", {"code": "X"}),
    ):
        assert c.post(url, data).status_code == 404, url
    for page in ("/orders/", "/orders/payments/", "/orders/contracts/"):
        body = c.get(page).content.decode()
        assert draft.number not in body and "PR-X" not in body and contract.code not in body
    draft.refresh_from_db()
    approved.refresh_from_db()
    receipt.refresh_from_db()
    assert (draft.status, draft.version, approved.status, receipt.allocated_amount) == ("draft", 1, "approved", 0)
    assert draft.lines.count() == 1 and PaymentAllocation.objects.count() == 1
    assert contract.attachments.count() == 0
    assert AuditLog.objects.count() == audits


@pytest.mark.django_db
def test_order_header_edit_with_version(client_for, rep, area_manager, outsider, account, make_order):
    order = make_order(rep, account)
    c = client_for(rep)
    assert "修改订单信息" in c.get(f"/orders/{order.pk}/header/").content.decode()
    data = {"account_id": account.pk, "order_date": "2026-03-05", "payment_terms_days": "45", "notes": "", "version": 1}
    assert c.post(f"/orders/{order.pk}/header/", data, **HX).status_code == 204
    order.refresh_from_db()
    assert (order.due_date, order.version) == (dt.date(2026, 4, 19), 2)
    stale = client_for(area_manager).post(f"/orders/{order.pk}/header/", {**data, "notes": "x"}, **HX)
    assert "已被他人修改" in stale.content.decode() and "payment_terms_days" in stale.content.decode()
    assert client_for(outsider).post(f"/orders/{order.pk}/header/", data).status_code == 404
    order.refresh_from_db()
    assert (order.notes, order.version) == ("", 2)
