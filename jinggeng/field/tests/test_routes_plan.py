"""The daily visit plan: visits due from the routes (weekday and cycle), idempotent; missed
visits are counted and carried over to the rep's next working day."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from jinggeng.core.models import AuditLog
from jinggeng.field.models import Visit, VisitCycle, VisitKind, VisitStatus
from jinggeng.field.services.routes import visits_plan_day
from jinggeng.field.tests.factories import RouteFactory, RouteStopFactory, VisitStandardFactory, shanghai_outlets

MONDAY = dt.date(2026, 11, 16)
TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def routes(rep, org):
    outlets = shanghai_outlets(rep, 5)
    monday = RouteFactory(code="MON", rep=rep, org_unit=org.shanghai, weekdays=[1])
    tuesday = RouteFactory(code="TUE", rep=rep, org_unit=org.shanghai, weekdays=[2])
    for n, account in enumerate(outlets[:3], start=1):
        RouteStopFactory(route=monday, account=account, position=n)
    for n, account in enumerate(outlets[3:], start=1):
        RouteStopFactory(route=tuesday, account=account, position=n)
    return {"outlets": outlets, "monday": monday, "tuesday": tuesday}


def visits_on(day):
    return list(Visit.objects.filter(visit_date=day).order_by("planned_position"))


@pytest.mark.django_db
def test_plan_creates_the_days_visits_once(rep, routes, org):
    standard = VisitStandardFactory(code="S-ALL")
    result = visits_plan_day(day=MONDAY)
    assert (result.created, result.missed, result.carried) == (3, 0, 0)
    visits = visits_on(MONDAY)
    assert [v.account_id for v in visits] == [a.pk for a in routes["outlets"][:3]]
    assert [v.planned_position for v in visits] == [1, 2, 3]
    v = visits[0]
    assert (v.kind, v.status, v.rep_id, v.org_unit_id, v.route_id) == (
        VisitKind.PLANNED,
        VisitStatus.PLANNED,
        rep.pk,
        org.shanghai.pk,
        routes["monday"].pk,
    )
    assert (v.planned_date, v.standard_id) == (MONDAY, standard.pk)
    again = visits_plan_day(day=MONDAY)
    assert (again.created, again.missed, again.carried) == (0, 0, 0)
    assert Visit.objects.count() == 3
    # One audit record for the run that planned something; none for the run that changed nothing.
    (log,) = AuditLog.objects.filter(entity="field.visit", entity_id=f"plan:{MONDAY.isoformat()}")
    assert log.actor_id is None
    assert log.changes == {"planned": [None, 3], "missed": [None, 0], "carried": [None, 0], "reps": [None, "all"]}


@pytest.mark.django_db
def test_missed_visits_are_counted_and_carried_to_the_next_working_day(rep, routes):
    visits_plan_day(day=MONDAY)
    done = visits_on(MONDAY)[0]
    Visit.objects.filter(pk=done.pk).update(status=VisitStatus.COMPLETED)
    result = visits_plan_day(day=TUESDAY)
    assert (result.created, result.missed, result.carried) == (2, 2, 2)
    assert set(Visit.objects.filter(visit_date=MONDAY).values_list("status", flat=True)) == {
        VisitStatus.COMPLETED,
        VisitStatus.MISSED,
    }
    carried = list(Visit.objects.filter(visit_date=TUESDAY, carried_from__isnull=False).order_by("planned_position"))
    assert [v.account_id for v in carried] == [a.pk for a in routes["outlets"][1:3]]
    assert all(v.planned_date == MONDAY and v.status == VisitStatus.PLANNED for v in carried)
    assert [v.planned_position for v in visits_on(TUESDAY)] == [1, 2, 3, 4]  # the day's route first
    again = visits_plan_day(day=TUESDAY)
    assert (again.created, again.missed, again.carried) == (0, 0, 0)
    assert Visit.objects.filter(visit_date=TUESDAY).count() == 4


@pytest.mark.django_db
def test_no_carry_on_a_day_the_rep_does_not_work_then_on_the_next(rep, routes):
    visits_plan_day(day=TUESDAY)
    # Wednesday is not a day of the rep's routes: Tuesday's visits are missed, not carried yet.
    wednesday = visits_plan_day(day=WEDNESDAY)
    assert (wednesday.created, wednesday.missed, wednesday.carried) == (0, 2, 0)
    # The next Monday the rep works: they come back (within the carry window).
    monday = visits_plan_day(day=MONDAY + dt.timedelta(days=7))
    assert (monday.created, monday.carried) == (3, 2)


@pytest.mark.django_db
def test_an_outlet_visited_since_is_not_carried(rep, routes):
    visits_plan_day(day=MONDAY)
    missed_outlet = routes["outlets"][0]
    Visit.objects.create(
        account=missed_outlet,
        rep=rep,
        org_unit=rep.employee.org_unit,
        kind=VisitKind.AD_HOC,
        status=VisitStatus.COMPLETED,
        visit_date=MONDAY,
    )
    result = visits_plan_day(day=TUESDAY)
    assert result.carried == 3  # visited ad hoc the same day, not after: still carried
    visits_plan_day(day=WEDNESDAY)  # Tuesday's planned become missed
    # The carried visit of Monday's outlet is visited on Thursday ad hoc; it is not carried again.
    thursday = WEDNESDAY + dt.timedelta(days=1)
    Visit.objects.filter(visit_date=TUESDAY, account=missed_outlet, carried_from__isnull=False).update(
        status=VisitStatus.MISSED
    )
    Visit.objects.create(
        account=missed_outlet,
        rep=rep,
        org_unit=rep.employee.org_unit,
        kind=VisitKind.AD_HOC,
        status=VisitStatus.COMPLETED,
        visit_date=thursday,
    )
    next_monday = visits_plan_day(day=MONDAY + dt.timedelta(days=7))
    assert not Visit.objects.filter(
        visit_date=MONDAY + dt.timedelta(days=7), account=missed_outlet, carried_from__isnull=False
    ).exists()
    assert next_monday.created == 3


@pytest.mark.django_db
def test_biweekly_route_only_in_its_weeks(rep, org):
    outlet = shanghai_outlets(rep, 1)[0]
    route = RouteFactory(rep=rep, org_unit=org.shanghai, cycle=VisitCycle.BIWEEKLY, weekdays=[1], anchor_date=MONDAY)
    RouteStopFactory(route=route, account=outlet, position=1)
    assert visits_plan_day(day=MONDAY).created == 1
    assert visits_plan_day(day=MONDAY + dt.timedelta(days=7)).created == 0
    assert visits_plan_day(day=MONDAY + dt.timedelta(days=14)).created == 1


@pytest.mark.django_db
def test_plan_for_some_reps_only(rep, teammate, routes, org):
    theirs = shanghai_outlets(teammate, 1)[0]
    RouteStopFactory(route=RouteFactory(rep=teammate, org_unit=org.shanghai, weekdays=[1]), account=theirs, position=1)
    assert visits_plan_day(day=MONDAY, reps=[teammate]).created == 1
    assert visits_plan_day(day=MONDAY, reps=[rep.pk]).created == 3


@pytest.mark.django_db
def test_inactive_route_plans_nothing(rep, routes):
    routes["monday"].active = False
    routes["monday"].save()
    assert visits_plan_day(day=MONDAY).created == 0


@pytest.mark.django_db
def test_command_plans_a_day(rep, routes):
    out = StringIO()
    call_command("field_plan", "--day", MONDAY.isoformat(), stdout=out)
    assert "created=3" in out.getvalue()
    assert Visit.objects.filter(visit_date=MONDAY).count() == 3


@pytest.mark.django_db
def test_command_refuses_a_bad_day(rep, routes):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("field_plan", "--day", "2026-13-40", stdout=StringIO())
    assert Visit.objects.count() == 0


@pytest.mark.django_db
def test_task_plans_the_given_day(rep, routes):
    from jinggeng.field.tasks import field_plan_day

    result = field_plan_day.call(MONDAY.isoformat())
    assert result == {"day": MONDAY.isoformat(), "created": 3, "missed": 0, "carried": 0, "pruned_request_keys": 0}


@pytest.mark.django_db
def test_command_for_one_rep_and_unknown_reps(rep, teammate, routes, org):
    from django.core.management.base import CommandError

    theirs = shanghai_outlets(teammate, 1)[0]
    RouteStopFactory(route=RouteFactory(rep=teammate, org_unit=org.shanghai, weekdays=[1]), account=theirs, position=1)
    out = StringIO()
    call_command("field_plan", "--day", MONDAY.isoformat(), "--rep", "mate", stdout=out)
    assert "created=1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("field_plan", "--day", MONDAY.isoformat(), "--rep", "nobody", stdout=StringIO())
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_command_enqueues_the_task(rep, routes, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    out = StringIO()
    call_command("field_plan", "--day", MONDAY.isoformat(), "--enqueue", stdout=out)
    assert out.getvalue().startswith("enqueued ")
    assert Visit.objects.filter(visit_date=MONDAY).count() == 3
