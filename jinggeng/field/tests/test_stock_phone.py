"""The stock part's pages in a real headless browser at phone size (390×844): they fit the
screen, and a stock count can be typed and saved with the phone's inputs."""

# ruff: noqa: F811  (the shared fixtures are imported from factories_stock)

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import page_overflow_px
from jinggeng.field.models import StockCount
from jinggeng.field.services import stock as services
from jinggeng.field.tests.factories_stock import (  # noqa: F401 (fixtures)
    cola,
    history,
    outlet,
    record_today,
    tea,
    visit,
)

pytestmark = pytest.mark.browser


def test_stock_pages_fit_a_phone_and_a_count_saves(phone_browser, rep, org, visit, history, cola):
    page = phone_browser
    page.login(rep)
    page.goto(page.base_url + reverse("field:visit_stock", args=[visit.pk]))
    assert page.locator("h1").first.is_visible()
    assert page_overflow_px(page) == 0
    page.fill(f'input[name="s{cola.pk}-stock_pieces"]', "20")
    page.fill(f'input[name="s{cola.pk}-received_cases"]', "2")
    page.get_by_role("button", name="保存盘点并计算建议订单").click()
    page.wait_for_url("**/suggest/")
    assert StockCount.objects.get(visit=visit, sku=cola).stock == 20
    assert page.get_by_text("3.286").first.is_visible()
    assert page_overflow_px(page) == 0
    services.competitor_note_add(actor=rep, visit=visit, data={"brand_name": "竞品甲", "price": "3.20"})
    for url in (
        reverse("field:visit_competitor", args=[visit.pk]),
        reverse("field:card", args=[visit.account_id]),
        reverse("field:distribution") + f"?org_unit={org.shanghai.pk}",
    ):
        page.goto(page.base_url + url)
        assert page.locator("h1").first.is_visible()
        assert page_overflow_px(page) == 0, url
