"""The routes API for every persona: scope (outsider 404, nothing changed), permissions, problem
details, versions, the route map and the optimiser's proposals."""

from __future__ import annotations

import json

import pytest

from jinggeng.core.models import AuditLog
from jinggeng.field.models import ProposalStatus, Route, RouteProposal, RouteStop
from jinggeng.field.tests.factories import VisitStandardFactory, shanghai_outlets

API = "/api/v1/field/routes"


def send(client, method, url, data):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def outlets(rep):
    return shanghai_outlets(rep, 4)


@pytest.fixture
def route(client_for, area_manager, rep, outlets):
    body = {
        "code": "API-1",
        "name": "接口线路",
        "rep_id": rep.pk,
        "weekdays": [2],
        "start_time": "09:00",
        "end_time": "17:00",
        "stops": [{"account_id": a.pk} for a in outlets],
    }
    r = send(client_for(area_manager), "post", API, body)
    assert r.status_code == 201, r.content
    return Route.objects.get(pk=r.json()["id"])


def stop_ids(route):
    return list(RouteStop.objects.filter(route=route).order_by("position").values_list("account_id", flat=True))


@pytest.mark.django_db
def test_create_answers_the_route_with_its_stops(route, outlets, rep, org):
    assert route.code == "API-1"
    assert stop_ids(route) == [a.pk for a in outlets]


@pytest.mark.django_db
def test_list_and_detail_per_persona(client_for, route, rep, teammate, area_manager, outsider, outlets):
    assert [r["code"] for r in client_for(rep).get(API).json()["items"]] == ["API-1"]
    assert client_for(teammate).get(API).json()["items"] == []
    assert [r["code"] for r in client_for(area_manager).get(API).json()["items"]] == ["API-1"]
    assert client_for(outsider).get(API).json()["items"] == []
    detail = client_for(rep).get(f"{API}/{route.pk}").json()
    assert detail["rep"] == {"id": rep.pk, "name": "张三"}
    assert detail["cycle_days"] == 7
    assert [s["account_id"] for s in detail["stops"]] == [a.pk for a in outlets]
    assert client_for(outsider).get(f"{API}/{route.pk}").status_code == 404
    assert client_for(teammate).get(f"{API}/{route.pk}").status_code == 404
    assert [r["code"] for r in client_for(area_manager).get(API, {"weekday": 2}).json()["items"]] == ["API-1"]
    assert client_for(area_manager).get(API, {"weekday": 3}).json()["items"] == []


@pytest.mark.django_db
def test_outsider_writes_are_404_and_change_nothing(client_for, route, outsider, outlets):
    c = client_for(outsider)
    logs = AuditLog.objects.count()
    assert send(c, "patch", f"{API}/{route.pk}", {"name": "x"}).status_code == 404
    assert c.delete(f"{API}/{route.pk}").status_code == 404
    assert send(c, "post", f"{API}/{route.pk}/stops", {"account_id": outlets[0].pk}).status_code == 404
    assert c.delete(f"{API}/{route.pk}/stops/{outlets[0].pk}").status_code == 404
    assert send(c, "put", f"{API}/{route.pk}/stop-order", {"account_ids": []}).status_code == 404
    assert c.get(f"{API}/{route.pk}/map").status_code == 404
    assert c.get(f"{API}/{route.pk}/history").status_code == 404
    route.refresh_from_db()
    assert (route.name, route.version, stop_ids(route)) == ("接口线路", 1, [a.pk for a in outlets])
    assert AuditLog.objects.count() == logs


@pytest.mark.django_db
def test_rep_reads_but_may_not_write(client_for, route, rep):
    r = send(client_for(rep), "patch", f"{API}/{route.pk}", {"name": "x"})
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"


@pytest.mark.django_db
def test_patch_with_stale_version_is_409(client_for, route, area_manager):
    c = client_for(area_manager)
    ok = send(c, "patch", f"{API}/{route.pk}", {"name": "新名字", "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = send(c, "patch", f"{API}/{route.pk}", {"name": "旧", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    route.refresh_from_db()
    assert route.name == "新名字"


@pytest.mark.django_db
def test_bad_input_is_422_with_fields(client_for, area_manager, rep):
    r = send(
        client_for(area_manager),
        "post",
        API,
        {"code": "", "name": "x", "rep_id": rep.pk, "cycle": "weekly", "weekdays": [1, 2]},
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"code", "weekdays"} <= fields
    assert Route.objects.count() == 0


@pytest.mark.django_db
def test_stops_add_reorder_remove(client_for, route, area_manager, rep, outlets):
    c = client_for(area_manager)
    extra = shanghai_outlets(rep, 1, lat=31.4)[0]
    r = send(c, "post", f"{API}/{route.pk}/stops", {"account_id": extra.pk, "position": 1, "visit_minutes": 30})
    assert r.status_code == 201
    assert r.json()["stops"][0]["account_id"] == extra.pk
    order = [a.pk for a in reversed(outlets)] + [extra.pk]
    r = send(c, "put", f"{API}/{route.pk}/stop-order", {"account_ids": order})
    assert [s["account_id"] for s in r.json()["stops"]] == order
    r = send(c, "patch", f"{API}/{route.pk}/stops/{extra.pk}", {"window_start": "10:00", "window_end": "11:00"})
    assert r.json()["stops"][-1]["window_start"] == "10:00:00"
    r = c.delete(f"{API}/{route.pk}/stops/{extra.pk}")
    assert r.status_code == 200
    assert extra.pk not in stop_ids(route)
    history = c.get(f"{API}/{route.pk}/history").json()
    assert len(history) == 5
    assert history[0]["changes"]["stops"][0][-1] == extra.pk


@pytest.mark.django_db
def test_route_map_numbers_the_stops_and_lists_missing_positions(client_for, route, rep, outlets):
    type(outlets[1]).objects.filter(pk=outlets[1].pk).update(latitude=None, longitude=None)
    data = client_for(rep).get(f"{API}/{route.pk}/map").json()
    assert [p["number"] for p in data["points"]] == [1, 3, 4]
    assert data["points"][0]["lat"] == float(outlets[0].latitude)
    assert [m["account_id"] for m in data["missing"]] == [outlets[1].pk]


@pytest.mark.django_db
def test_delete(client_for, route, area_manager):
    assert client_for(area_manager).delete(f"{API}/{route.pk}").status_code == 204
    assert not Route.objects.filter(pk=route.pk).exists()


@pytest.mark.django_db
def test_standards_and_the_standard_of_an_outlet(client_for, rep, outlets, outsider):
    VisitStandardFactory(code="S-C", grade="C")
    assert [s["code"] for s in client_for(rep).get(f"{API}/standards").json()] == ["S-C"]
    r = client_for(rep).get(f"{API}/standards/for-account/{outlets[0].pk}")
    assert r.json()["code"] == "S-C"
    assert client_for(outsider).get(f"{API}/standards/for-account/{outlets[0].pk}").status_code == 404


@pytest.mark.django_db
def test_proposal_create_accept_and_outsider(client_for, route, area_manager, rep, outsider):
    c = client_for(area_manager)
    r = send(c, "post", f"{API}/proposals", {"rep_id": rep.pk, "working_days": [1, 2], "time_limit_seconds": 1})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending"
    assert body["totals_current"]["visits"] == 4
    assert body["totals_proposed"]["visits"] == 4
    assert "outlets" not in body["params"]
    pid = body["id"]
    assert client_for(outsider).get(f"{API}/proposals/{pid}").status_code == 404
    assert send(client_for(outsider), "post", f"{API}/proposals/{pid}/accept", {}).status_code == 404
    assert client_for(outsider).get(f"{API}/proposals").json()["items"] == []
    assert send(client_for(rep), "post", f"{API}/proposals/{pid}/accept", {}).status_code == 404  # no view perm
    assert RouteProposal.objects.get(pk=pid).status == ProposalStatus.PENDING
    r = send(c, "post", f"{API}/proposals/{pid}/accept", {"version": 1})
    assert r.status_code == 200
    assert r.json()["status"] == "accepted"
    again = send(c, "post", f"{API}/proposals/{pid}/reject", {"reason": "晚了"})
    assert again.status_code == 409
    assert again.json()["code"] == "proposal_decided"


@pytest.mark.django_db
def test_proposal_bad_input_names_the_outlets(client_for, route, area_manager, rep, outlets):
    type(outlets[2]).objects.filter(pk=outlets[2].pk).update(latitude=None, longitude=None)
    r = send(client_for(area_manager), "post", f"{API}/proposals", {"rep_id": rep.pk, "time_limit_seconds": 1})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "outlets_without_position"
    assert body["unplaced"][0]["account_id"] == outlets[2].pk
    assert outlets[2].name in body["detail"]
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_route_list_costs_the_same_queries_for_more_routes(client_for, area_manager, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jinggeng.field.tests.factories import RouteFactory

    c = client_for(area_manager)
    unit = rep.employee.org_unit

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(API).status_code == 200
        return len(ctx.captured_queries)

    RouteFactory.create_batch(2, rep=rep, org_unit=unit)
    few = count()
    RouteFactory.create_batch(8, rep=rep, org_unit=unit)
    assert count() == few
