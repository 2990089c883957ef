"""The route pages in a real headless browser at 390×844: nothing scrolls sideways, the route map
(线路图) draws a numbered stop per outlet and the path, and a stop's popup opens the card."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from jinggeng.field.services.routes import route_create, route_proposal_create
from jinggeng.field.tests.factories import shanghai_outlets
from jinggeng.field.views.routes import card_url_pattern


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def overflow(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.django_db(transaction=True)
def test_route_page_and_map_on_a_phone(phone_browser, area_manager, rep):
    page = phone_browser
    outlets = shanghai_outlets(rep, 6)
    route = route_create(
        actor=fresh(area_manager),
        data={
            "code": "P-1",
            "name": "手机线路",
            "rep_id": rep.pk,
            "weekdays": [1],
            "start_latitude": "31.215",
            "start_longitude": "121.465",
            "stops": [a.pk for a in outlets],
        },
    )
    page.login(rep)
    page.goto(page.base_url + reverse("field:route_detail", args=[route.pk]))
    page.wait_for_selector(".route-stop")
    assert page.locator(".route-stop").count() == 6
    assert page.locator("#route-map path.leaflet-interactive").count() >= 1  # the path
    assert overflow(page) == 0
    page.locator(".route-stop").first.click()
    link = page.locator(".leaflet-popup-content a")
    link.wait_for()
    expected = card_url_pattern().replace("/0/", f"/{outlets[0].pk}/")
    assert link.get_attribute("href") == expected
    page.goto(page.base_url + reverse("field:route_list"))
    assert "P-1" in page.content()
    assert overflow(page) == 0


@pytest.mark.django_db(transaction=True)
def test_proposal_page_on_a_phone(phone_browser, area_manager, rep):
    page = phone_browser
    outlets = shanghai_outlets(rep, 8)
    manager = fresh(area_manager)
    for code, day, part in (("P-MON", 1, outlets[0::2]), ("P-THU", 4, outlets[1::2])):
        route_create(
            actor=manager,
            data={"code": code, "name": code, "rep_id": rep.pk, "weekdays": [day], "stops": [a.pk for a in part]},
        )
    proposal = route_proposal_create(
        actor=manager, rep_id=rep.pk, data={"working_days": [1, 4], "time_limit_seconds": 1}
    )
    page.login(area_manager)
    page.goto(page.base_url + reverse("field:proposal_detail", args=[proposal.pk]))
    page.wait_for_selector(".route-stop")
    shown = sum(len(d["account_ids"]) for d in proposal.proposed)
    assert page.locator(".route-stop").count() == shown  # proposed layers on, current off
    assert page.locator("text=采纳并改写线路").count() == 1
    assert overflow(page) == 0
    page.goto(page.base_url + reverse("field:route_optimise") + f"?rep={rep.pk}")
    assert overflow(page) == 0
