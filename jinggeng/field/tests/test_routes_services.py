"""Routes (七定): create, update, stops, delete — permissions, scope, validation, audit, coverage."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.customers.models import AccountStatus, AccountType
from jinggeng.customers.tests.factories import AccountFactory
from jinggeng.field.models import OutletCoverage, Route, RouteStop, VisitCycle
from jinggeng.field.services import routes as services
from jinggeng.field.tests.factories import RouteFactory, RouteStopFactory, VisitStandardFactory, shanghai_outlets


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def outlets(rep):
    return shanghai_outlets(rep, 4)


def route_data(rep, outlets, **extra):
    return {
        "code": "SH-01",
        "name": "浦东周一线",
        "rep_id": rep.pk,
        "area": "浦东",
        "cycle": VisitCycle.WEEKLY,
        "weekdays": [1],
        "start_time": "08:30",
        "end_time": "17:30",
        "stops": [a.pk for a in outlets],
        **extra,
    }


def stop_ids(route):
    return list(RouteStop.objects.filter(route=route).order_by("position").values_list("account_id", flat=True))


def test_cycle_days():
    assert services.cycle_days(VisitCycle.WEEKLY, [1]) == 7
    assert services.cycle_days(VisitCycle.BIWEEKLY, [2]) == 14
    assert services.cycle_days(VisitCycle.FOUR_WEEKLY, [3]) == 28
    assert services.cycle_days(VisitCycle.TIMES_PER_WEEK, [1, 4]) == 4
    assert services.cycle_days(VisitCycle.TIMES_PER_WEEK, [1, 2, 3, 4, 5, 6, 7]) == 1


@pytest.mark.django_db
def test_route_runs_on_its_weekday_in_the_weeks_of_its_cycle():
    route = RouteFactory(cycle=VisitCycle.BIWEEKLY, weekdays=[3], anchor_date=dt.date(2026, 11, 4))  # a Wednesday
    assert services.route_runs_on(route, dt.date(2026, 11, 4))
    assert not services.route_runs_on(route, dt.date(2026, 11, 11))
    assert services.route_runs_on(route, dt.date(2026, 11, 18))
    assert not services.route_runs_on(route, dt.date(2026, 11, 17))  # a Tuesday
    four = RouteFactory(cycle=VisitCycle.FOUR_WEEKLY, weekdays=[1], anchor_date=dt.date(2026, 11, 2))
    assert [
        d.day
        for d in (dt.date(2026, 11, 2) + dt.timedelta(weeks=w) for w in range(9))
        if services.route_runs_on(four, d)
    ] == [2, 30, 28]


@pytest.mark.django_db
def test_manager_creates_a_route_with_stops_audit_and_coverage(area_manager, rep, outlets, org):
    route = services.route_create(actor=fresh(area_manager), data=route_data(rep, outlets))
    assert route.org_unit_id == org.shanghai.pk
    assert stop_ids(route) == [a.pk for a in outlets]
    log = AuditLog.objects.get(entity="field.route", entity_id=str(route.pk))
    assert log.action == "create"
    assert log.changes["stops"] == [None, [a.pk for a in outlets]]
    coverage = OutletCoverage.objects.get(account=outlets[0])
    assert (coverage.route_id, coverage.rep_id, coverage.cycle_days) == (route.pk, rep.pk, 7)
    assert coverage.due_on.isoweekday() == 1
    assert OutletCoverage.objects.count() == 4


@pytest.mark.django_db
def test_rep_may_not_design_routes(rep, outlets):
    with pytest.raises(PermissionDenied):
        services.route_create(actor=fresh(rep), data=route_data(rep, outlets))
    assert Route.objects.count() == 0
    assert not AuditLog.objects.filter(entity="field.route").exists()


@pytest.mark.django_db
def test_bad_input_names_every_field_and_saves_nothing(area_manager, rep, outlets, outsider):
    far = AccountFactory(owner=outsider, division_id="110105", city_code="110100")
    closed = AccountFactory(owner=rep, status=AccountStatus.CLOSED)
    data = route_data(
        rep,
        outlets,
        code="",
        cycle="monthly",
        weekdays=[0, 8],
        end_time="07:00",
        start_latitude="91",
        stops=[outlets[0].pk, far.pk, closed.pk, outlets[0].pk, "x"],
    )
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=fresh(area_manager), data=data)
    errors = exc.value.field_errors
    assert {"code", "cycle", "weekdays", "end_time", "start_latitude"} <= set(errors)
    assert errors["stops[1].account_id"] == ["客户不存在"]
    assert "已关闭" in errors["stops[2].account_id"][0]
    assert "重复" in errors["stops[3].account_id"][0]
    assert "stops[4].account_id" in errors
    assert Route.objects.count() == 0
    assert OutletCoverage.objects.count() == 0


@pytest.mark.django_db
def test_weekly_route_takes_one_weekday_and_times_per_week_two_or_more(area_manager, rep, outlets):
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=fresh(area_manager), data=route_data(rep, outlets, weekdays=[1, 4]))
    assert "每周多次" in exc.value.field_errors["weekdays"][0]
    with pytest.raises(ValidationFailed):
        services.route_create(
            actor=fresh(area_manager), data=route_data(rep, outlets, cycle=VisitCycle.TIMES_PER_WEEK, weekdays=[2])
        )
    route = services.route_create(
        actor=fresh(area_manager), data=route_data(rep, outlets, cycle=VisitCycle.TIMES_PER_WEEK, weekdays=[4, 1])
    )
    assert route.weekdays == [1, 4]
    assert OutletCoverage.objects.get(account=outlets[0]).cycle_days == 4


@pytest.mark.django_db
def test_outlet_the_rep_cannot_see_is_refused(area_manager, rep, teammate):
    theirs = shanghai_outlets(teammate, 1)
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=fresh(area_manager), data=route_data(rep, theirs))
    assert "看不到客户" in exc.value.field_errors["stops[0].account_id"][0]


@pytest.mark.django_db
def test_outsider_cannot_create_for_a_rep_outside_their_scope(outsider, rep, outlets):
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=fresh(outsider), data=route_data(rep, outlets, stops=[]))
    assert exc.value.field_errors["rep_id"] == ["业务员不存在"]
    assert Route.objects.count() == 0


@pytest.fixture
def route(area_manager, rep, outlets):
    return services.route_create(actor=fresh(area_manager), data=route_data(rep, outlets))


@pytest.mark.django_db
def test_update_with_version_and_audit(area_manager, route):
    updated = services.route_update(
        actor=fresh(area_manager),
        route_id=route.pk,
        data={"name": "浦东周二线", "weekdays": [2]},
        expected_version=1,
    )
    assert (updated.name, updated.weekdays, updated.version) == ("浦东周二线", [2], 2)
    log = AuditLog.objects.filter(entity="field.route", action="update").get()
    assert log.changes["name"] == ["浦东周一线", "浦东周二线"]
    with pytest.raises(Conflict):
        services.route_update(actor=fresh(area_manager), route_id=route.pk, data={"name": "x"}, expected_version=1)
    route.refresh_from_db()
    assert route.name == "浦东周二线"


@pytest.mark.django_db
def test_stops_add_remove_reorder_keep_coverage(area_manager, rep, route, outlets):
    manager = fresh(area_manager)
    extra = shanghai_outlets(rep, 1, lat=31.3)[0]
    services.route_stop_add(
        actor=manager, route_id=route.pk, data={"account_id": extra.pk, "visit_minutes": 25}, position=2
    )
    assert stop_ids(route) == [outlets[0].pk, extra.pk, *[a.pk for a in outlets[1:]]]
    assert RouteStop.objects.get(route=route, account=extra).visit_minutes == 25
    assert OutletCoverage.objects.filter(account=extra).exists()
    with pytest.raises(ValidationFailed):
        services.route_stop_add(actor=manager, route_id=route.pk, data={"account_id": extra.pk})
    services.route_stop_move(actor=manager, route_id=route.pk, account_id=extra.pk, offset=-1)
    assert stop_ids(route)[0] == extra.pk
    services.route_stop_remove(actor=manager, route_id=route.pk, account_id=extra.pk)
    assert extra.pk not in stop_ids(route)
    assert not OutletCoverage.objects.filter(account=extra).exists()
    order = list(reversed(stop_ids(route)))
    services.route_stops_reorder(actor=manager, route_id=route.pk, account_ids=order)
    assert stop_ids(route) == order
    with pytest.raises(ValidationFailed):
        services.route_stops_reorder(actor=manager, route_id=route.pk, account_ids=order[:-1])
    route.refresh_from_db()
    assert route.version == 5
    stops_logs = AuditLog.objects.filter(entity="field.route", action="update")
    assert stops_logs.count() == 4
    assert all("stops" in log.changes for log in stops_logs)


@pytest.mark.django_db
def test_stop_time_window_must_be_ordered(area_manager, route, outlets):
    with pytest.raises(ValidationFailed) as exc:
        services.route_stop_update(
            actor=fresh(area_manager),
            route_id=route.pk,
            account_id=outlets[0].pk,
            data={"window_start": "14:00", "window_end": "10:00"},
        )
    assert "stop[0].window_end" in exc.value.field_errors
    services.route_stop_update(
        actor=fresh(area_manager),
        route_id=route.pk,
        account_id=outlets[0].pk,
        data={"window_start": "10:00", "window_end": "14:00"},
    )
    stop = RouteStop.objects.get(route=route, account=outlets[0])
    assert (stop.window_start, stop.window_end) == (dt.time(10), dt.time(14))


@pytest.mark.django_db
def test_outsider_touches_nothing(outsider, route, outlets):
    before = AuditLog.objects.count()
    actor = fresh(outsider)
    for call in (
        lambda: services.route_update(actor=actor, route_id=route.pk, data={"name": "x"}),
        lambda: services.route_stop_remove(actor=actor, route_id=route.pk, account_id=outlets[0].pk),
        lambda: services.route_stops_reorder(actor=actor, route_id=route.pk, account_ids=[]),
        lambda: services.route_delete(actor=actor, route_id=route.pk),
    ):
        with pytest.raises(NotFound):
            call()
    route.refresh_from_db()
    assert (route.name, route.version, stop_ids(route)) == ("浦东周一线", 1, [a.pk for a in outlets])
    assert AuditLog.objects.count() == before


@pytest.mark.django_db
def test_rep_sees_their_route_but_may_not_change_it(rep, route):
    with pytest.raises(PermissionDenied):
        services.route_update(actor=fresh(rep), route_id=route.pk, data={"name": "x"})
    route.refresh_from_db()
    assert route.name == "浦东周一线"


@pytest.mark.django_db
def test_delete_removes_coverage_of_outlets_on_no_other_route(area_manager, rep, route, outlets):
    other = services.route_create(
        actor=fresh(area_manager), data=route_data(rep, outlets[:1], code="SH-02", weekdays=[4])
    )
    assert OutletCoverage.objects.get(account=outlets[0]).cycle_days == 4  # on two weekly routes
    services.route_delete(actor=fresh(area_manager), route_id=route.pk)
    assert not Route.objects.filter(pk=route.pk).exists()
    assert list(OutletCoverage.objects.values_list("account_id", flat=True)) == [outlets[0].pk]
    row = OutletCoverage.objects.get(account=outlets[0])
    assert (row.route_id, row.cycle_days) == (other.pk, 7)
    assert AuditLog.objects.filter(entity="field.route", entity_id=str(route.pk), action="delete").exists()


@pytest.mark.django_db
def test_coverage_keeps_the_last_visit_and_moves_the_due_day(area_manager, route, outlets):
    OutletCoverage.objects.filter(account=outlets[0]).update(last_visited_on=dt.date(2026, 11, 2))
    services.route_update(
        actor=fresh(area_manager), route_id=route.pk, data={"cycle": VisitCycle.BIWEEKLY, "anchor_date": "2026-11-02"}
    )
    row = OutletCoverage.objects.get(account=outlets[0])
    assert (row.cycle_days, row.due_on) == (14, dt.date(2026, 11, 16))


@pytest.mark.django_db
def test_standard_for_account_picks_the_most_specific(rep):
    general = VisitStandardFactory(code="S-ALL")
    outlet_any = VisitStandardFactory(code="S-OUT", account_type=AccountType.OUTLET)
    outlet_a = VisitStandardFactory(code="S-OUT-A", account_type=AccountType.OUTLET, grade="A")
    VisitStandardFactory(code="S-OFF", account_type=AccountType.OUTLET, grade="A", active=False)
    a = AccountFactory(owner=rep, account_type=AccountType.OUTLET, grade="A")
    b = AccountFactory(owner=rep, account_type=AccountType.OUTLET, grade="B")
    w = AccountFactory(owner=rep, account_type=AccountType.WHOLESALER, grade="A")
    assert services.standard_for_account(a) == outlet_a
    assert services.standard_for_account(b) == outlet_any
    assert services.standard_for_account(w) == general


@pytest.mark.django_db
def test_route_standard_wins_over_the_outlets(rep):
    route_std = VisitStandardFactory(code="S-ROUTE")
    VisitStandardFactory(code="S-ALL")
    stop = RouteStopFactory(route=RouteFactory(rep=rep, standard=route_std), account=AccountFactory(owner=rep))
    assert services.stop_standard(stop.route, stop.account) == route_std


@pytest.mark.django_db
def test_deactivating_a_route_drops_its_coverage_and_reactivating_brings_it_back(area_manager, route, outlets):
    services.route_update(actor=fresh(area_manager), route_id=route.pk, data={"active": False})
    assert OutletCoverage.objects.count() == 0
    services.route_update(actor=fresh(area_manager), route_id=route.pk, data={"active": True})
    assert OutletCoverage.objects.count() == 4


@pytest.mark.django_db
def test_giving_the_route_to_a_rep_who_cannot_see_its_outlets_is_refused(area_manager, route, teammate):
    with pytest.raises(ValidationFailed) as exc:
        services.route_update(actor=fresh(area_manager), route_id=route.pk, data={"rep_id": teammate.pk})
    assert all("看不到客户" in m for msgs in exc.value.field_errors.values() for m in msgs)
    route.refresh_from_db()
    assert route.rep.username == "rep"


@pytest.mark.django_db
def test_reassigning_moves_the_org_unit_and_coverage_to_the_new_rep(area_manager, route, outlets, teammate):
    type(outlets[0]).objects.filter(pk__in=[a.pk for a in outlets]).update(owner=teammate)
    services.route_update(actor=fresh(area_manager), route_id=route.pk, data={"rep_id": teammate.pk})
    route.refresh_from_db()
    assert (route.rep_id, route.org_unit_id) == (teammate.pk, teammate.employee.org_unit_id)
    assert set(OutletCoverage.objects.values_list("rep_id", flat=True)) == {teammate.pk}


@pytest.mark.django_db
def test_org_unit_outside_the_managers_scope_is_refused(area_manager, rep, outlets, org):
    with pytest.raises(ValidationFailed) as exc:
        services.route_create(actor=fresh(area_manager), data=route_data(rep, outlets, org_unit_id=org.beijing.pk))
    assert "org_unit_id" in exc.value.field_errors
    assert Route.objects.count() == 0


@pytest.mark.django_db
def test_edit_with_the_same_rep_keeps_the_routes_own_org_unit(general_manager, rep, outlets, org):
    gm = fresh(general_manager)
    route = services.route_create(actor=gm, data=route_data(rep, outlets, org_unit_id=org.east.pk))
    assert route.org_unit_id == org.east.pk
    services.route_update(actor=gm, route_id=route.pk, data={"name": "改名", "rep_id": rep.pk})
    route.refresh_from_db()
    assert (route.name, route.org_unit_id) == ("改名", org.east.pk)
