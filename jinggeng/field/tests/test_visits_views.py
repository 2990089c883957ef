"""The visits pages: today, the visit page and its actions, the managers' list, a new ad-hoc
visit, the service worker; the outsider gets 404 and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from jinggeng.core.models import AuditLog
from jinggeng.field.models import Visit, VisitPhoto, VisitStatus, VisitStep
from jinggeng.field.services.visits import visit_check_in
from jinggeng.field.tests.factories_visits import (
    OUTLET_LAT,
    image_bytes,
    minutes_ago,
    outlet,
    position,
    standard,
    upload,
    visit_today,
)


@pytest.fixture(autouse=True)
def _field_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FIELD_WORK_START = "00:00"
    settings.FIELD_WORK_END = "23:59"


@pytest.fixture
def std(db):
    return standard(required_steps=["card", "posm"], optional_steps=["shelf", "farewell"])


@pytest.fixture
def shop(rep):
    return outlet(rep, name="张三的便利店", address="浦东大道 1 号")


@pytest.fixture
def visit(rep, shop, std):
    return visit_today(rep, shop, std=std)


def url(name, *args):
    return reverse(f"field:{name}", args=args)


@pytest.mark.django_db
def test_today_lists_the_day_in_route_order_with_carried_and_ad_hoc(rep, shop, std, client_for):
    first = visit_today(rep, shop, std=std, planned_position=1)
    yesterday = visit_today(
        rep, outlet(rep), std=std, visit_date=timezone.localdate() - dt.timedelta(days=1), status=VisitStatus.MISSED
    )
    carried = visit_today(
        rep, yesterday.account, std=std, planned_position=2, carried_from=yesterday, planned_date=yesterday.visit_date
    )
    adhoc = visit_today(rep, outlet(rep, name="顺路小店"), std=std, kind="ad_hoc", planned_position=None)
    r = client_for(rep).get(url("today"))
    assert r.status_code == 200
    html = r.content.decode()
    assert (
        html.index(f'id="visit-{first.pk}"')
        < html.index(f'id="visit-{carried.pk}"')
        < html.index(f'id="visit-{adhoc.pk}"')
    )
    assert f'id="visit-{yesterday.pk}"' not in html
    assert "顺延自" in html and "临时拜访" in html
    assert html.count("data-geo data-label") == 3  # a check-in button per visit not yet started
    assert "css/field.css" in html and "field/offline.js" in html
    assert url("visit_detail", first.pk) in html  # kept for offline reading
    assert "capture" not in html


@pytest.mark.django_db
def test_visit_page_shows_checklist_and_actions_for_the_rep(rep, visit, client_for):
    client = client_for(rep)
    html = client.get(url("visit_detail", visit.pk)).content.decode()
    assert "签到" in html and url("visit_check_in", visit.pk) in html
    assert "必做" in html
    assert url("visit_photo", visit.pk) not in html  # photos once checked in

    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(20)))
    html = client.get(url("visit_detail", visit.pk)).content.decode()
    assert 'capture="environment"' in html
    assert url("visit_check_out", visit.pk) in html
    assert 'value="poster"' in html


@pytest.mark.django_db
def test_rep_works_a_visit_through_the_pages(rep, visit, shop, client_for):
    client = client_for(rep)
    far = position(lat=OUTLET_LAT + Decimal("0.002"), device_at=minutes_ago(20))
    r = client.post(url("visit_check_in", visit.pk), {**far, "idempotency_key": "page-checkin-01"})
    assert (r.status_code, r["Location"]) == (303, url("visit_detail", visit.pk))
    again = client.post(url("visit_check_in", visit.pk), {**far, "idempotency_key": "page-checkin-01"})
    assert again.status_code == 303  # a resent form does its work once
    visit.refresh_from_db()
    assert (visit.status, visit.version, visit.check_in_distance_m) == (VisitStatus.IN_PROGRESS, 2, 222.4)

    r = client.post(url("visit_step", visit.pk), {"kind": "posm", "checks": ["poster", "display"]})
    assert r.status_code == 303
    assert VisitStep.objects.get(visit=visit, kind="posm").data == {
        "checks": {"poster": True, "shelf_strip": False, "display": True, "price_tag": False}
    }
    r = client.post(url("visit_photo", visit.pk), {"file": upload(image_bytes("JPEG"), "s.jpg"), "kind": "shelf"})
    assert r.status_code == 303
    assert VisitPhoto.objects.filter(visit=visit).count() == 1

    r = client.post(url("visit_check_out", visit.pk), position(device_at=minutes_ago(1)))
    assert r.status_code == 303
    r = client.post(url("visit_complete", visit.pk))
    assert r.status_code == 422  # the card step is missing
    html = r.content.decode()
    assert "还有必做步骤未完成：查看客户卡" in html
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.IN_PROGRESS

    client.post(url("visit_step", visit.pk), {"kind": "card"})
    r = client.post(url("visit_complete", visit.pk))
    assert r.status_code == 303
    visit.refresh_from_db()
    assert (visit.status, visit.actual_position) == (VisitStatus.COMPLETED, 1)
    html = client.get(url("visit_detail", visit.pk)).content.decode()
    assert "签到距离过远" in html and "222.4" in html


@pytest.mark.django_db
def test_bad_input_on_the_pages_is_a_clear_error(rep, visit, client_for):
    client = client_for(rep)
    r = client.post(url("visit_check_in", visit.pk), {"latitude": "", "longitude": ""})
    assert r.status_code == 422
    assert "缺少定位" in r.content.decode()
    r = client.post(url("visit_check_out", visit.pk), position())
    assert r.status_code == 409
    assert "请先签到再签退" in r.content.decode()
    visit_check_in(actor=rep, visit_id=visit.pk, data=position())
    r = client.post(url("visit_photo", visit.pk), {"file": upload(b"GIF89a nope", "x.gif")})
    assert r.status_code == 422
    assert "不是可用的图片" in r.content.decode()
    r = client.post(url("visit_photo", visit.pk), {})
    assert r.status_code == 422
    assert VisitPhoto.objects.count() == 0


@pytest.mark.django_db
def test_manager_list_with_flags_and_filters(rep, area_manager, visit, shop, std, client_for):
    visit_check_in(
        actor=rep, visit_id=visit.pk, data=position(lat=OUTLET_LAT + Decimal("0.01"), device_at=minutes_ago(9))
    )
    quiet = visit_today(rep, outlet(rep, name="安静小店"), std=std, planned_position=2)
    client = client_for(area_manager)
    html = client.get(url("visit_list")).content.decode()
    assert "张三的便利店" in html and "安静小店" in html and "签到距离过远" in html
    html = client.get(url("visit_list"), {"flag": "far_check_in"}).content.decode()
    assert "张三的便利店" in html and "安静小店" not in html
    html = client.get(url("visit_list"), {"status": "planned"}).content.decode()
    assert "安静小店" in html and "张三的便利店" not in html
    r = client.get(url("visit_list"), {"flagged": "1"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<tbody" in r.content.decode() and "<html" not in r.content.decode()
    detail = client.get(url("visit_detail", visit.pk)).content.decode()
    assert "签到距离过远" in detail and url("visit_check_out", visit.pk) not in detail  # reads, does not act
    assert client.get(url("visit_detail", quiet.pk)).status_code == 200


@pytest.mark.django_db
def test_new_ad_hoc_visit_page(rep, shop, std, client_for):
    client = client_for(rep)
    r = client.get(url("visit_new"), {"account": shop.pk})
    assert r.status_code == 200 and "张三的便利店" in r.content.decode() and "checked" in r.content.decode()
    r = client.post(url("visit_new"), {"account_id": shop.pk, "idempotency_key": "page-adhoc-001"})
    assert r.status_code == 303
    visit = Visit.objects.get()
    assert r["Location"] == url("visit_detail", visit.pk)
    assert (
        client.post(url("visit_new"), {"account_id": shop.pk, "idempotency_key": "page-adhoc-001"}).status_code == 303
    )
    r = client.post(url("visit_new"), {"account_id": shop.pk})  # a second one: the open visit instead
    assert (r.status_code, r["Location"]) == (303, url("visit_detail", visit.pk))
    assert Visit.objects.count() == 1
    r = client.post(url("visit_new"), {"account_id": ""})
    assert r.status_code == 422 and "请选择客户" in r.content.decode()


@pytest.mark.django_db
def test_outsider_gets_404_and_changes_nothing(rep, outsider, visit, shop, client_for):
    visit_check_in(actor=rep, visit_id=visit.pk, data=position(device_at=minutes_ago(10)))
    visit.refresh_from_db()
    logs = AuditLog.objects.count()
    client = client_for(outsider)
    assert client.get(url("visit_detail", visit.pk)).status_code == 404
    assert "张三的便利店" not in client.get(url("visit_list")).content.decode()
    assert "张三的便利店" not in client.get(url("today")).content.decode()
    for name, data in (
        ("visit_check_in", position()),
        ("visit_check_out", position()),
        ("visit_step", {"kind": "card"}),
        ("visit_photo", {"file": upload(image_bytes())}),
        ("visit_complete", {}),
    ):
        assert client.post(url(name, visit.pk), data).status_code == 404, name
    assert client.post(url("visit_new"), {"account_id": shop.pk}).status_code == 404
    after = Visit.objects.get(pk=visit.pk)
    assert (after.version, after.status, after.check_out_at) == (visit.version, VisitStatus.IN_PROGRESS, None)
    assert (Visit.objects.count(), VisitStep.objects.count(), VisitPhoto.objects.count()) == (1, 0, 0)
    assert AuditLog.objects.count() == logs


@pytest.mark.django_db
def test_pages_need_login(client, visit):
    assert client.get(url("today")).status_code == 302
    assert client.post(url("visit_check_in", visit.pk), position()).status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.PLANNED


@pytest.mark.django_db
def test_service_worker_is_served_for_the_field_scope(client):
    r = client.get(url("service_worker"))
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/javascript")
    assert r["Service-Worker-Allowed"] == "/field/"
    assert b'addEventListener("fetch"' in r.content
    # Its one message is translated for the language of the request that fetched it.
    body = r.content.decode()
    assert "__OFFLINE_TEXT__" not in body
    assert 'var OFFLINE_TEXT = "离线：' in body
    english = client.get(url("service_worker"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'var OFFLINE_TEXT = "Offline:' in english


@pytest.mark.django_db
def test_links_to_the_stock_part_pages(rep, shop, client_for):
    """The visit page and today's page link the stock part's pages by their URL names (looked
    up with a guard, so a missing one is left out rather than breaking the page)."""
    from jinggeng.field.views.visits import optional_url

    std = standard(required_steps=["card", "stock"], optional_steps=["competitor", "order"])
    visit = visit_today(rep, shop, std=std)
    client = client_for(rep)
    html = client.get(url("visit_detail", visit.pk)).content.decode()
    for name, arg in (
        ("visit_stock", visit.pk),
        ("visit_competitor", visit.pk),
        ("visit_suggest", visit.pk),
        ("card", shop.pk),
    ):
        assert reverse(f"field:{name}", args=[arg]) in html, name
    assert reverse("field:card", args=[shop.pk]) in client.get(url("today")).content.decode()
    assert optional_url("field:no_such_page", 1) == ""


@pytest.mark.django_db
def test_pages_do_not_grow_a_query_per_visit(rep, area_manager, std, client_for, django_assert_max_num_queries):
    for n in range(6):
        v = visit_today(rep, outlet(rep), std=std, planned_position=n + 1)
        v.flags.create(code="far_check_in", detail={"distance_m": 300.0, "max_distance_m": 200.0})
    rep_client, manager_client = client_for(rep), client_for(area_manager)
    with django_assert_max_num_queries(10):
        assert rep_client.get(url("today")).status_code == 200
    with django_assert_max_num_queries(11):
        assert manager_client.get(url("visit_list")).status_code == 200
