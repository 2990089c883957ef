"""Optimise a rep's week ("优化线路"): the proposal beside the current routes, accept rewrites the
routes with history and coverage, reject keeps them; bad input names the outlets and saves
nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.field.models import OutletCoverage, ProposalStatus, Route, RouteProposal, RouteStop, VisitCycle
from jinggeng.field.services import routes as services
from jinggeng.field.tests.factories import shanghai_outlets

FAST = {"time_limit_seconds": 1, "working_days": [1, 2, 3]}


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def week(area_manager, rep):
    """Two weekly routes of the rep (Monday, Wednesday), outlets interleaved badly, and one
    outlet visited twice a week on a third route."""
    outlets = shanghai_outlets(rep, 12)
    manager = fresh(area_manager)
    monday = services.route_create(
        actor=manager,
        data={
            "code": "R-MON",
            "name": "周一线",
            "rep_id": rep.pk,
            "weekdays": [1],
            "start_latitude": "31.22",
            "start_longitude": "121.47",
            "stops": [a.pk for a in outlets[0::2]],
        },
    )
    wednesday = services.route_create(
        actor=manager,
        data={
            "code": "R-WED",
            "name": "周三线",
            "rep_id": rep.pk,
            "weekdays": [3],
            "stops": [a.pk for a in outlets[1::2]],
        },
    )
    return {"outlets": outlets, "routes": [monday, wednesday]}


def placed(days):
    return sorted(a for d in days for a in d["account_ids"])


@pytest.mark.django_db
def test_proposal_holds_every_outlet_once_with_before_and_after(area_manager, rep, week):
    proposal = services.route_proposal_create(actor=fresh(area_manager), rep_id=rep.pk, data=FAST)
    ids = sorted(a.pk for a in week["outlets"])
    assert proposal.status == ProposalStatus.PENDING
    assert placed(proposal.proposed) == ids
    assert [d["weekday"] for d in proposal.proposed] == [1, 2, 3]
    assert placed(proposal.current) == ids
    assert [d["weekday"] for d in proposal.current] == [1, 2, 3]
    assert proposal.current[1]["account_ids"] == []  # nothing on Tuesday today
    for day in proposal.proposed + proposal.current:
        assert set(day) >= {"km", "travel_minutes", "visit_minutes", "arrivals"}
        assert day["visit_minutes"] == 15 * len(day["account_ids"])  # grade C default
    assert proposal.params["depot"] == "route_start"
    assert proposal.params["routes"] == {str(r.pk): 1 for r in week["routes"]}
    assert proposal.unplaced == []
    assert AuditLog.objects.filter(entity="field.routeproposal", entity_id=str(proposal.pk), action="create").exists()


@pytest.mark.django_db
def test_accept_rewrites_the_routes_with_history_and_coverage(area_manager, rep, week):
    manager = fresh(area_manager)
    proposal = services.route_proposal_create(actor=manager, rep_id=rep.pk, data=FAST)
    services.route_proposal_accept(actor=manager, proposal_id=proposal.pk, expected_version=1)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by_id, proposal.version) == (ProposalStatus.ACCEPTED, area_manager.pk, 2)
    active = {r.weekdays[0]: r for r in Route.objects.filter(rep=rep, active=True)}
    by_day = {d["weekday"]: d["account_ids"] for d in proposal.proposed if d["account_ids"]}
    assert set(active) == set(by_day)
    for weekday, ids in by_day.items():
        route = active[weekday]
        assert route.cycle == VisitCycle.WEEKLY
        assert (
            list(RouteStop.objects.filter(route=route).order_by("position").values_list("account_id", flat=True)) == ids
        )
    # The Monday and Wednesday routes are reused (same day and cycle), keeping their codes.
    assert active[1].code == "R-MON"
    assert active[3].code == "R-WED"
    assert RouteStop.objects.filter(route__rep=rep, route__active=True).count() == 12
    logs = AuditLog.objects.filter(entity="field.route", entity_id=str(active[1].pk), action="update")
    assert logs.get().reason == f"采纳线路优化方案 #{proposal.pk}"
    for weekday, ids in by_day.items():
        assert set(OutletCoverage.objects.filter(account_id__in=ids).values_list("route_id", flat=True)) == {
            active[weekday].pk
        }


@pytest.mark.django_db
def test_accept_is_refused_when_the_routes_changed_meanwhile(area_manager, rep, week):
    manager = fresh(area_manager)
    proposal = services.route_proposal_create(actor=manager, rep_id=rep.pk, data=FAST)
    services.route_update(actor=manager, route_id=week["routes"][0].pk, data={"name": "改过了"})
    stops_before = list(RouteStop.objects.order_by("id").values_list("route_id", "account_id", "position"))
    with pytest.raises(Conflict) as exc:
        services.route_proposal_accept(actor=manager, proposal_id=proposal.pk)
    assert exc.value.code == "proposal_outdated"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert list(RouteStop.objects.order_by("id").values_list("route_id", "account_id", "position")) == stops_before


@pytest.mark.django_db
def test_reject_needs_a_reason_and_keeps_the_routes(area_manager, rep, week):
    manager = fresh(area_manager)
    proposal = services.route_proposal_create(actor=manager, rep_id=rep.pk, data=FAST)
    with pytest.raises(ValidationFailed):
        services.route_proposal_reject(actor=manager, proposal_id=proposal.pk, reason="  ")
    services.route_proposal_reject(actor=manager, proposal_id=proposal.pk, reason="周三有例会")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.reason) == (ProposalStatus.REJECTED, "周三有例会")
    assert Route.objects.filter(rep=rep, active=True).count() == 2
    with pytest.raises(Conflict):
        services.route_proposal_accept(actor=manager, proposal_id=proposal.pk)


@pytest.mark.django_db
def test_rep_and_outsider_cannot_optimise_or_decide(rep, outsider, area_manager, week):
    proposal = services.route_proposal_create(actor=fresh(area_manager), rep_id=rep.pk, data=FAST)
    logs = AuditLog.objects.count()
    with pytest.raises(PermissionDenied):
        services.route_proposal_create(actor=fresh(rep), rep_id=rep.pk, data=FAST)
    with pytest.raises(NotFound):
        services.route_proposal_create(actor=fresh(outsider), rep_id=rep.pk, data=FAST)
    with pytest.raises(NotFound):
        services.route_proposal_accept(actor=fresh(outsider), proposal_id=proposal.pk)
    with pytest.raises(NotFound):
        services.route_proposal_reject(actor=fresh(outsider), proposal_id=proposal.pk, reason="x")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert RouteProposal.objects.count() == 1
    assert AuditLog.objects.count() == logs


@pytest.mark.django_db
def test_no_outlets_is_a_clear_error(area_manager, rep):
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(actor=fresh(area_manager), rep_id=rep.pk, data=FAST)
    assert exc.value.code == "no_outlets"
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_outlets_without_position_are_named(area_manager, rep, week):
    lost = week["outlets"][3]
    type(lost).objects.filter(pk=lost.pk).update(latitude=None, longitude=None)
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(actor=fresh(area_manager), rep_id=rep.pk, data=FAST)
    assert exc.value.code == "outlets_without_position"
    assert lost.name in exc.value.message
    assert exc.value.extra["unplaced"] == [
        {"account_id": lost.pk, "name": lost.name, "code": "no_position", "reason": "没有坐标"}
    ]
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_unreachable_time_window_names_the_outlet_and_saves_nothing(area_manager, rep, week):
    early = week["outlets"][4]
    services.route_stop_update(
        actor=fresh(area_manager),
        route_id=week["routes"][0].pk,
        account_id=early.pk,
        data={"window_start": "06:00", "window_end": "07:00"},
    )
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(actor=fresh(area_manager), rep_id=rep.pk, data=FAST)
    assert exc.value.code == "outlets_unplaced"
    (entry,) = exc.value.extra["unplaced"]
    assert (entry["account_id"], entry["code"]) == (early.pk, "window_unreachable")
    assert early.name in exc.value.field_errors["outlets"][0]
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_day_too_short_for_one_visit(area_manager, rep, week):
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(
            actor=fresh(area_manager), rep_id=rep.pk, data={**FAST, "day_start": "08:00", "day_end": "08:10"}
        )
    assert exc.value.code == "outlets_unplaced"
    assert {e["code"] for e in exc.value.extra["unplaced"]} == {"day_too_short"}
    assert len(exc.value.extra["unplaced"]) == 12
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_bad_parameters(area_manager, rep, week):
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(
            actor=fresh(area_manager),
            rep_id=rep.pk,
            data={"working_days": [0, 9], "day_start": "18:00", "day_end": "08:00", "time_limit_seconds": 999},
        )
    assert {"working_days", "day_end", "time_limit_seconds"} <= set(exc.value.field_errors)


@pytest.mark.django_db
def test_times_per_week_outlet_lands_on_two_days_and_two_routes(area_manager, rep, week):
    manager = fresh(area_manager)
    twice = shanghai_outlets(rep, 1, lat=31.25)[0]
    services.route_create(
        actor=manager,
        data={
            "code": "R-2X",
            "name": "两次",
            "rep_id": rep.pk,
            "cycle": VisitCycle.TIMES_PER_WEEK,
            "weekdays": [1, 3],
            "stops": [twice.pk],
        },
    )
    proposal = services.route_proposal_create(actor=manager, rep_id=rep.pk, data=FAST)
    days = [d["weekday"] for d in proposal.proposed if twice.pk in d["account_ids"]]
    assert len(days) == 2
    services.route_proposal_accept(actor=manager, proposal_id=proposal.pk)
    assert RouteStop.objects.filter(account=twice, route__active=True).count() == 2
    assert OutletCoverage.objects.get(account=twice).cycle_days == 4
    # The third route had no place in the new week: it is kept, inactive and empty.
    leftover = Route.objects.filter(rep=rep, active=False)
    assert all(not r.stops.exists() for r in leftover)
    assert Route.objects.filter(rep=rep, active=True).count() + leftover.count() >= 3


@pytest.mark.django_db
def test_week_problem_uses_standard_minutes_and_first_outlet_without_a_start(area_manager, rep):
    from jinggeng.field.tests.factories import VisitStandardFactory

    VisitStandardFactory(code="S-C", grade="C", visit_minutes=25)
    outlets = shanghai_outlets(rep, 3)
    services.route_create(
        actor=fresh(area_manager),
        data={"code": "R-X", "name": "x", "rep_id": rep.pk, "weekdays": [2], "stops": [a.pk for a in outlets]},
    )
    _rep, _routes, problem, _outlets, params = services.week_problem_for_rep(
        actor=fresh(area_manager), rep_id=rep.pk, data={"working_days": "1,2"}
    )
    assert [s.service_minutes for s in problem.stops] == [25.0, 25.0, 25.0]
    assert params["depot"] == "first_outlet"
    assert (problem.depot_start.lat, problem.depot_start.lng) == (
        float(outlets[0].latitude),
        float(outlets[0].longitude),
    )
    assert problem.working_days == (0, 1)
    assert (problem.day_start_minute, problem.day_end_minute) == (8 * 60 + 30, 17 * 60 + 30)
    assert dt.time.fromisoformat(params["day_start"]) == dt.time(8, 30)


@pytest.mark.django_db
def test_a_week_too_full_says_by_how_much(area_manager, rep, week):
    with pytest.raises(ValidationFailed) as exc:
        services.route_proposal_create(
            actor=fresh(area_manager),
            rep_id=rep.pk,
            data={"time_limit_seconds": 1, "working_days": [1], "day_start": "08:30", "day_end": "10:00"},
        )
    assert exc.value.code == "outlets_unplaced"
    assert {e["code"] for e in exc.value.extra["unplaced"]} == {"no_room_in_week"}
    assert "180 分钟" in exc.value.message and "1 天 × 90 分钟" in exc.value.message
    assert RouteProposal.objects.count() == 0


@pytest.mark.django_db
def test_two_weekly_outlets_keep_their_cycle_on_a_route_of_their_own(area_manager, rep, week):
    manager = fresh(area_manager)
    rare = shanghai_outlets(rep, 2, lat=31.26)
    services.route_create(
        actor=manager,
        data={
            "code": "R-2W",
            "name": "双周",
            "rep_id": rep.pk,
            "cycle": VisitCycle.BIWEEKLY,
            "weekdays": [5],
            "anchor_date": "2026-11-02",
            "stops": [a.pk for a in rare],
        },
    )
    proposal = services.route_proposal_create(actor=manager, rep_id=rep.pk, data=FAST)
    services.route_proposal_accept(actor=manager, proposal_id=proposal.pk)
    for account in rare:
        (stop,) = RouteStop.objects.filter(account=account, route__active=True).select_related("route")
        assert stop.route.cycle == VisitCycle.BIWEEKLY
        assert stop.route.anchor_date == dt.date(2026, 11, 2)
        assert OutletCoverage.objects.get(account=account).cycle_days == 14
    weekly = RouteStop.objects.filter(account__in=week["outlets"], route__active=True)
    assert {s.route.cycle for s in weekly} == {VisitCycle.WEEKLY}
