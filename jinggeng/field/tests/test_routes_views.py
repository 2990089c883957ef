"""The routes pages for every persona: lists, the route page with its map (线路图), forms with the
service's errors, stop changes, the optimiser page and the proposal beside the routes."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from jinggeng.core.models import AuditLog
from jinggeng.field.models import ProposalStatus, Route, RouteProposal, RouteStop
from jinggeng.field.tests.factories import VisitStandardFactory, shanghai_outlets
from jinggeng.field.views.routes import card_url_pattern


@pytest.fixture
def outlets(rep):
    return shanghai_outlets(rep, 4)


@pytest.fixture
def route(client_for, area_manager, rep, outlets):
    from jinggeng.field.services.routes import route_create

    from .test_routes_services import fresh

    return route_create(
        actor=fresh(area_manager),
        data={
            "code": "V-1",
            "name": "页面线路",
            "rep_id": rep.pk,
            "weekdays": [1],
            "start_latitude": "31.21",
            "start_longitude": "121.46",
            "stops": [a.pk for a in outlets],
        },
    )


def stop_ids(route):
    return list(RouteStop.objects.filter(route=route).order_by("position").values_list("account_id", flat=True))


def map_data(response):
    match = re.search(r'<script id="route-map-data" type="application/json">(.*?)</script>', response.content.decode())
    assert match
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_list_per_persona(client_for, route, rep, teammate, outsider, area_manager):
    url = reverse("field:route_list")
    assert "V-1" in client_for(rep).get(url).content.decode()
    assert "V-1" not in client_for(teammate).get(url).content.decode()
    assert "V-1" not in client_for(outsider).get(url).content.decode()
    page = client_for(area_manager).get(url).content.decode()
    assert "V-1" in page and reverse("field:route_create") in page


@pytest.mark.django_db
def test_route_page_with_numbered_map_linking_to_the_card(client_for, route, rep, outlets):
    r = client_for(rep).get(reverse("field:route_detail", args=[route.pk]))
    assert r.status_code == 200
    data = map_data(r)
    (layer,) = data["layers"]
    assert [p["number"] for p in layer["points"]] == [1, 2, 3, 4]
    assert [p["account_id"] for p in layer["points"]] == [a.pk for a in outlets]
    assert layer["start"] == {"lat": 31.21, "lng": 121.46}
    assert data["card"] == card_url_pattern()
    assert data["card"].endswith("/0/")
    page = r.content.decode()
    assert "js/route_map.js" in page
    assert "添加客户" not in page  # a rep reads only


@pytest.mark.django_db
def test_outsider_gets_404_everywhere_and_changes_nothing(client_for, route, outsider, outlets):
    c = client_for(outsider)
    logs = AuditLog.objects.count()
    assert c.get(reverse("field:route_detail", args=[route.pk])).status_code == 404
    assert c.get(reverse("field:route_edit", args=[route.pk])).status_code == 404
    assert c.post(reverse("field:route_edit", args=[route.pk]), {"name": "x"}).status_code == 404
    assert c.post(reverse("field:route_stop_add", args=[route.pk]), {"account_id": outlets[0].pk}).status_code == 404
    url = reverse("field:route_stop_change", args=[route.pk, outlets[0].pk, "remove"])
    assert c.post(url).status_code == 404
    assert c.post(reverse("field:route_delete", args=[route.pk])).status_code == 404
    route.refresh_from_db()
    assert (route.name, route.version, stop_ids(route)) == ("页面线路", 1, [a.pk for a in outlets])
    assert AuditLog.objects.count() == logs


@pytest.mark.django_db
def test_rep_cannot_open_the_forms(client_for, route, rep):
    assert client_for(rep).get(reverse("field:route_create")).status_code == 404
    assert client_for(rep).get(reverse("field:route_edit", args=[route.pk])).status_code == 404
    assert client_for(rep).get(reverse("field:route_optimise")).status_code == 404


@pytest.mark.django_db
def test_create_through_the_form_and_errors_on_the_fields(client_for, area_manager, rep):
    c = client_for(area_manager)
    url = reverse("field:route_create")
    assert c.get(url).status_code == 200
    bad = c.post(url, {"code": "", "name": "x", "rep_id": rep.pk, "cycle": "weekly", "weekdays": ["1", "3"]})
    assert bad.status_code == 422
    assert "每周多次" in bad.content.decode()
    assert Route.objects.count() == 0
    ok = c.post(
        url,
        {"code": "F-1", "name": "表单线路", "rep_id": rep.pk, "cycle": "weekly", "weekdays": ["3"], "active": "on"},
    )
    route = Route.objects.get(code="F-1")
    assert ok.status_code == 302 and ok["Location"] == reverse("field:route_detail", args=[route.pk])
    assert route.weekdays == [3]


@pytest.mark.django_db
def test_edit_with_stale_version_shows_the_conflict(client_for, area_manager, route, rep):
    c = client_for(area_manager)
    url = reverse("field:route_edit", args=[route.pk])
    assert c.get(url).status_code == 200
    body = {"code": "V-1", "name": "新名", "rep_id": rep.pk, "cycle": "weekly", "weekdays": ["1"], "active": "on"}
    assert c.post(url, {**body, "version": 1}).status_code == 302
    stale = c.post(url, {**body, "name": "旧名", "version": 1})
    assert stale.status_code == 422
    route.refresh_from_db()
    assert route.name == "新名"


@pytest.mark.django_db
def test_stop_add_move_remove_through_the_page(client_for, area_manager, route, rep, outlets):
    c = client_for(area_manager)
    extra = shanghai_outlets(rep, 1, lat=31.3)[0]
    page = c.get(reverse("field:route_detail", args=[route.pk])).content.decode()
    assert f'value="{extra.pk}"' in page  # offered
    r = c.post(reverse("field:route_stop_add", args=[route.pk]), {"account_id": extra.pk, "version": 1})
    assert r.status_code == 302
    assert stop_ids(route)[-1] == extra.pk
    c.post(reverse("field:route_stop_change", args=[route.pk, extra.pk, "up"]), {"version": 2})
    assert stop_ids(route)[-2] == extra.pk
    c.post(reverse("field:route_stop_change", args=[route.pk, extra.pk, "remove"]), {"version": 3})
    assert extra.pk not in stop_ids(route)
    stale = c.post(reverse("field:route_stop_change", args=[route.pk, outlets[0].pk, "down"]), {"version": 1})
    assert stale.status_code == 302
    assert stop_ids(route)[0] == outlets[0].pk  # refused: version 1 is old


@pytest.mark.django_db
def test_standards_page(client_for, rep):
    VisitStandardFactory(code="S-KA", name="重点客户标准", grade="A")
    page = client_for(rep).get(reverse("field:standard_list")).content.decode()
    assert "重点客户标准" in page and "查看客户卡" in page


@pytest.mark.django_db
def test_optimise_proposal_and_accept_through_the_pages(client_for, area_manager, route, rep, outsider):
    c = client_for(area_manager)
    assert c.get(reverse("field:route_optimise") + f"?rep={rep.pk}").status_code == 200
    r = c.post(
        reverse("field:route_optimise"),
        {"rep_id": rep.pk, "working_days": ["1", "2"], "time_limit_seconds": "1"},
    )
    proposal = RouteProposal.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("field:proposal_detail", args=[proposal.pk])
    detail = c.get(r["Location"])
    assert detail.status_code == 200
    layers = map_data(detail)["layers"]
    assert {layer["show"] for layer in layers} == {True, False}  # proposed and current
    assert "采纳并改写线路" in detail.content.decode()
    assert client_for(outsider).get(r["Location"]).status_code == 404
    assert client_for(outsider).post(reverse("field:proposal_decide", args=[proposal.pk, "accept"])).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert c.get(reverse("field:proposal_list")).status_code == 200
    no_reason = c.post(reverse("field:proposal_decide", args=[proposal.pk, "reject"]), {"version": 1, "reason": ""})
    assert no_reason.status_code == 422
    ok = c.post(reverse("field:proposal_decide", args=[proposal.pk, "accept"]), {"version": 1})
    assert ok.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ACCEPTED


@pytest.mark.django_db
def test_optimise_bad_input_lists_the_outlets_and_saves_nothing(client_for, area_manager, route, rep, outlets):
    type(outlets[0]).objects.filter(pk=outlets[0].pk).update(latitude=None, longitude=None)
    r = client_for(area_manager).post(reverse("field:route_optimise"), {"rep_id": rep.pk, "time_limit_seconds": "1"})
    assert r.status_code == 422
    page = r.content.decode()
    assert outlets[0].name in page and "没有坐标" in page
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_admin_edits_standards_with_audit_and_shows_routes_read_only(route):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from jinggeng.field.models import VisitStandard

    admin_user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678")
    c = Client()
    c.force_login(admin_user)
    r = c.post(
        reverse("admin:field_visitstandard_add"),
        {
            "code": "S-NEW",
            "name": "新标准",
            "account_type": "outlet",
            "grade": "",
            "required_steps": ["stock", "card"],
            "optional_steps": ["order"],
            "visit_minutes": "20",
            "min_minutes": "5",
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    standard = VisitStandard.objects.get(code="S-NEW")
    assert standard.required_steps == ["card", "stock"]
    assert AuditLog.objects.filter(entity="field.visitstandard", action="create").exists()
    bad = c.post(
        reverse("admin:field_visitstandard_add"),
        {
            "code": "S-BAD",
            "name": "x",
            "required_steps": ["stock"],
            "optional_steps": ["stock"],
            "visit_minutes": "5",
            "min_minutes": "9",
        },
    )
    assert bad.status_code == 200
    assert not VisitStandard.objects.filter(code="S-BAD").exists()
    assert c.get(reverse("admin:field_route_change", args=[route.pk])).status_code == 200
    assert c.get(reverse("admin:field_route_add")).status_code == 403
    for name in ("visit", "outletcoverage", "routeproposal", "dailyreport", "visitaudit", "stockcount"):
        assert c.get(reverse(f"admin:field_{name}_changelist")).status_code == 200
