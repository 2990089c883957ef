"""The stock part's pages: stock count form, suggested order, competitor notes, customer card,
distribution — for the rep, and 404 with nothing changed for the outsider."""

# ruff: noqa: F811  (the shared fixtures are imported from factories_stock)

from __future__ import annotations

from django.urls import reverse

from jinggeng.core.models import AuditLog
from jinggeng.customers.tests.factories import ContactFactory
from jinggeng.field.models import (
    CompetitorNote,
    StockCount,
    SuggestedOrderLine,
    VisitFlag,
    VisitPhoto,
    VisitStatus,
)
from jinggeng.field.tests.factories_stock import (  # noqa: F401 (fixtures)
    DAY,
    cola,
    history,
    outlet,
    record_today,
    tea,
    visit,
)
from jinggeng.orders.models import OrderLine, SalesOrder


def test_stock_form_lists_the_skus_and_saves_cases_and_pieces(client_for, rep, visit, history, cola, tea):
    c = client_for(rep)
    url = reverse("field:visit_stock", args=[visit.pk])
    page = c.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="s{cola.pk}-stock_cases"' in html and f'name="s{tea.pk}-stock_pieces"' in html
    assert "1 箱 = 4 提 = 24 瓶" in html
    r = c.post(
        url,
        {
            f"s{cola.pk}-stock_cases": "0",
            f"s{cola.pk}-stock_pieces": "20",
            f"s{cola.pk}-received_cases": "2",
            f"s{cola.pk}-facings": "3",
            f"s{tea.pk}-stock_pieces": "10",
        },
    )
    assert r.status_code == 302
    assert r["Location"] == reverse("field:visit_suggest", args=[visit.pk])
    assert dict(StockCount.objects.filter(visit=visit).values_list("sku__code", "stock")) == {"COLA": 20, "TEA": 10}
    assert StockCount.objects.get(visit=visit, sku=cola).received == 48
    # The suggestion was computed on the way.
    assert dict(SuggestedOrderLine.objects.filter(visit=visit).values_list("sku__code", "suggested_qty")) == {
        "COLA": 1,
        "TEA": 2,
    }
    page = c.get(reverse("field:visit_suggest", args=[visit.pk])).content.decode()
    assert "3.286" in page and f'name="q{cola.pk}"' in page


def test_stock_form_errors_stay_on_the_form_and_nothing_is_saved(client_for, rep, visit, cola):
    c = client_for(rep)
    r = c.post(reverse("field:visit_stock", args=[visit.pk]), {f"s{cola.pk}-stock_pieces": "-4"})
    assert r.status_code == 422
    assert "第 1 行（COLA）：库存不能为负数" in r.content.decode()
    assert StockCount.objects.count() == 0


def test_accept_on_the_page_creates_the_draft_order(client_for, rep, visit, history, cola, tea):
    record_today(rep, visit)
    c = client_for(rep)
    url = reverse("field:visit_suggest", args=[visit.pk])
    r = c.post(url, {"action": "compute"})
    assert r.status_code == 200
    r = c.post(url, {"action": "accept", f"q{cola.pk}": "2", f"q{tea.pk}": "0"})
    assert r.status_code == 200
    order = SalesOrder.objects.get()
    assert list(OrderLine.objects.filter(order=order).values_list("sku__code", "quantity")) == [("COLA", 2)]
    assert order.number in r.content.decode()
    c.post(url, {"action": "accept", f"q{cola.pk}": "2", f"q{tea.pk}": "0"})
    assert SalesOrder.objects.count() == 1


def test_competitor_page_adds_a_note_and_shows_errors(client_for, rep, visit):
    c = client_for(rep)
    url = reverse("field:visit_competitor", args=[visit.pk])
    assert c.get(url).status_code == 200
    r = c.post(url, {"brand_name": "竞品丁", "price": "-1"})
    assert r.status_code == 422
    assert "价格不能为负数" in r.content.decode()
    assert CompetitorNote.objects.count() == 0
    r = c.post(url, {"brand_name": "竞品丁", "product": "丁水", "price": "1.50"})
    assert r.status_code == 200
    assert "竞品丁" in r.content.decode()
    assert CompetitorNote.objects.get().price == 1.5


def test_customer_card_shows_profile_visits_flags_and_stock_sheet(client_for, rep, visit, history):
    ContactFactory(account=visit.account, name="王老板", phone="13900000001")
    VisitFlag.objects.create(visit=visit, code="far_check_in", detail={"distance_m": 350})
    photo = VisitPhoto.objects.create(
        visit=visit, file="visits/2026/11/shelf.jpg", sha256="a" * 64, size=1000, content_type="image/jpeg"
    )
    record_today(rep, visit)
    r = client_for(rep).get(reverse("field:card", args=[visit.account_id]))
    assert r.status_code == 200
    html = r.content.decode()
    assert visit.account.name in html
    assert "王老板" in html and "tel:13900000001" in html
    assert "签到距离过远" in html
    assert f'src="{reverse("field:visit_photo_file", args=[photo.pk])}"' in html
    assert "进销存" in html
    assert "<td>11-30</td><td>20</td><td>48</td><td>36</td>" in html
    assert reverse("field:visit_stock", args=[visit.pk]) in html  # the open visit's steps


def test_distribution_page_shows_the_figures_with_their_definitions(client_for, rep, org, visit, history):
    record_today(rep, visit)
    r = client_for(rep).get(reverse("field:distribution"), {"org_unit": org.shanghai.pk, "window_days": 30})
    assert r.status_code == 200
    html = r.content.decode()
    assert "数值铺货率 = " in html and "加权铺货率 = " in html


def test_outsider_gets_404_on_every_page_and_nothing_changes(client_for, rep, outsider, visit, history, cola):
    record_today(rep, visit)
    logs = AuditLog.objects.count()
    c = client_for(outsider)
    for name in ("field:visit_stock", "field:visit_suggest", "field:visit_competitor"):
        url = reverse(name, args=[visit.pk])
        assert c.get(url).status_code == 404
        assert c.post(url, {f"s{cola.pk}-stock_pieces": "99", "action": "accept", "brand_name": "x"}).status_code == 404
    assert c.get(reverse("field:card", args=[visit.account_id])).status_code == 404
    assert sorted(StockCount.objects.filter(visit=visit).values_list("stock", flat=True)) == [10, 20]
    assert CompetitorNote.objects.count() == 0
    assert SalesOrder.objects.count() == 0
    assert AuditLog.objects.count() == logs


def test_closed_visit_shows_no_form(client_for, rep, visit, cola):
    visit.status = VisitStatus.COMPLETED
    visit.save()
    html = client_for(rep).get(reverse("field:visit_stock", args=[visit.pk])).content.decode()
    assert "保存盘点" not in html
    assert "已完成" in html


def test_pages_do_not_grow_a_query_per_row(
    client_for, rep, org, visit, history, cola, tea, django_assert_max_num_queries
):
    from jinggeng.catalog.tests.factories import SkuFactory
    from jinggeng.field.tests.factories_stock import past_count

    more = [SkuFactory() for _ in range(8)]
    for n, sku in enumerate(more):
        past_count(account=visit.account, rep=rep, sku=sku, day=DAY.replace(day=1 + n), stock=5 + n)
    record_today(rep, visit)
    c = client_for(rep)
    with django_assert_max_num_queries(20):
        assert c.get(reverse("field:card", args=[visit.account_id])).status_code == 200
    with django_assert_max_num_queries(16):
        assert c.get(reverse("field:visit_stock", args=[visit.pk])).status_code == 200
    with django_assert_max_num_queries(16):
        assert c.get(reverse("field:visit_suggest", args=[visit.pk])).status_code == 200
    with django_assert_max_num_queries(16):
        assert c.get(reverse("field:distribution"), {"org_unit": org.shanghai.pk}).status_code == 200


def test_htmx_gets_the_form_fragment_with_its_errors(client_for, rep, visit, cola):
    r = client_for(rep).post(
        reverse("field:visit_stock", args=[visit.pk]), {f"s{cola.pk}-stock_pieces": "-4"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200  # htmx swaps only 2xx answers
    html = r.content.decode()
    assert html.lstrip().startswith('<form id="stock-sheet"')
    assert "第 1 行（COLA）：库存不能为负数" in html
    assert StockCount.objects.count() == 0
