"""The account pages in a real headless browser at phone size (390×844)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import page_overflow_px
from jinggeng.customers.tests.factories import AccountFactory

pytestmark = pytest.mark.browser


def test_account_list_and_detail_fit_a_phone(phone_browser, rep):
    mine = [AccountFactory(owner=rep, name=f"浦东好邻居便利店{n}号") for n in range(3)]
    page = phone_browser
    page.login(rep)
    page.goto(page.base_url + reverse("customers:account_list"))
    assert page.locator("h1").first.is_visible()
    assert page.get_by_text("浦东好邻居便利店0号").first.is_visible()
    assert page_overflow_px(page) == 0
    page.goto(page.base_url + reverse("customers:account_detail", args=[mine[0].pk]))
    assert page.get_by_text("浦东好邻居便利店0号").first.is_visible()
    assert page_overflow_px(page) == 0
