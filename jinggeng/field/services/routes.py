"""Writes of the field app: routes (七定), outlet coverage, the optimiser's proposals and the daily
visit plan.

- Routes: `route_create`, `route_update`, `route_delete`, and their stops: `route_stop_add`,
  `route_stop_update`, `route_stop_remove`, `route_stops_reorder`. Each checks the permission and
  the scope (the route's rep and org unit; every outlet in the actor's and the rep's customer
  scope), validates everything before saving, bumps ``version`` and writes the audit record
  (stop changes are recorded on the route as ``stops: [old account ids, new account ids]``).
  Every change keeps `OutletCoverage` in step: one row per outlet on an active route, its cycle
  from the routes it is on (weekly 7, every two weeks 14, every four weeks 28, N times a week
  7/N rounded up).
- Visit standards: `standard_for_account` picks the most specific active standard.
- Optimiser: `route_proposal_create` builds one rep's week from their route outlets and solves it
  with `jinggeng.routing`; `route_proposal_accept` rewrites the routes (one per weekday and
  cycle), `route_proposal_reject` records why not.
- Daily plan: `visits_plan_day` creates the planned visits due on a day (idempotent) and carries
  missed ones over.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.core.audit import audit_create, audit_delete, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.core.scope import Scope
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account, AccountStatus
from jinggeng.field.models import (
    OutletCoverage,
    ProposalStatus,
    Route,
    RouteProposal,
    RouteStop,
    Visit,
    VisitCycle,
    VisitKind,
    VisitStandard,
    VisitStatus,
)
from jinggeng.field.selectors import routes as selectors
from jinggeng.org.scope import visible_unit_ids
from jinggeng.routing.problem import Location, Stop, WeekPlan, WeekProblem
from jinggeng.routing.schedule import day_route, week_matrix
from jinggeng.routing.solver import solve_week

ROUTE_FIELDS = (
    "code",
    "name",
    "rep",
    "org_unit",
    "area",
    "cycle",
    "weekdays",
    "anchor_date",
    "start_time",
    "end_time",
    "standard",
    "start_latitude",
    "start_longitude",
    "active",
    "notes",
)
CYCLE_WEEKS = {
    VisitCycle.WEEKLY: 1,
    VisitCycle.BIWEEKLY: 2,
    VisitCycle.FOUR_WEEKLY: 4,
    VisitCycle.TIMES_PER_WEEK: 1,
}
#: Visit minutes when neither the stop nor a visit standard says (by the outlet's grade).
DEFAULT_VISIT_MINUTES = {"A": 30, "B": 20, "C": 15}
#: Weeks of a two- or four-weekly route are counted from this Monday when it has no anchor.
EPOCH_MONDAY = dt.date(2024, 1, 1)
#: A missed visit is carried over while its planned day is at most this many days back.
CARRY_MAX_DAYS = 6
#: Outlets brought in step with their routes per query batch.
COVERAGE_BATCH = 2000
#: Seconds the optimiser may take inside a web request, by default and at most.
OPTIMISE_SECONDS = 5.0
OPTIMISE_SECONDS_MAX = 30.0
#: Working day of the optimiser when the routes do not say (the routing library's default).
DEFAULT_DAY_START = dt.time(8, 30)
DEFAULT_DAY_END = dt.time(17, 30)

WEEKDAY_NAMES = {
    1: gettext_lazy("周一"),
    2: gettext_lazy("周二"),
    3: gettext_lazy("周三"),
    4: gettext_lazy("周四"),
    5: gettext_lazy("周五"),
    6: gettext_lazy("周六"),
    7: gettext_lazy("周日"),
}


# --------------------------------------------------------------------------- small parsers


def _require(actor: Any, *perms: str) -> None:
    for perm in perms:
        if not actor.has_perm(perm):
            raise PermissionDenied(_("您没有执行此操作的权限"), extra={"permission": perm})


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _fail(errors: dict[str, list[str]], message: str) -> None:
    if errors:
        raise ValidationFailed(message, errors=errors)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any, name: str, errors: dict[str, list[str]], *, minimum: int, maximum: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        _add(errors, name, _("请输入整数"))
        return None
    if not minimum <= number <= maximum:
        _add(errors, name, _("应在 %(min)d 到 %(max)d 之间") % {"min": minimum, "max": maximum})
        return None
    return number


def _date(value: Any, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        _add(errors, name, _("请输入有效的日期（YYYY-MM-DD）"))
        return None


def _time(value: Any, name: str, errors: dict[str, list[str]]) -> dt.time | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value).strip()).replace(second=0, microsecond=0)
    except ValueError:
        _add(errors, name, _("请输入有效的时间（HH:MM）"))
        return None


def _coordinate(value: Any, name: str, errors: dict[str, list[str]], *, limit: int) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        _add(errors, name, _("请输入有效的数字"))
        return None
    if not -limit <= number <= limit:
        _add(errors, name, _("应在 %(min)d 到 %(max)d 之间") % {"min": -limit, "max": limit})
        return None
    return number.quantize(Decimal("0.000001"))


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def _person(user: Any) -> str:
    try:
        return str(user.employee.name)
    except Exception:
        return str(getattr(user, "username", ""))


def _check_version(instance: models.Model, expected: int | None) -> None:
    current = int(getattr(instance, "version", 0))
    if expected is not None and int(expected) != current:
        raise Conflict(_("记录已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": current})


def weekday_label(iso: int) -> str:
    return str(WEEKDAY_NAMES.get(iso, iso))


# --------------------------------------------------------------------------- cycles


def cycle_days(cycle: str, weekdays: Sequence[int]) -> int:
    """Days between two visits of an outlet on a route of this cycle."""
    if cycle == VisitCycle.TIMES_PER_WEEK:
        return max(1, math.ceil(7 / max(1, len(weekdays))))
    return 7 * CYCLE_WEEKS.get(VisitCycle(cycle), 1)


def visits_per_four_weeks(cycle: str, weekdays: Sequence[int]) -> int:
    """Visits in 28 days of an outlet on a route of this cycle (it runs on each weekday listed,
    in the weeks of its cycle)."""
    return (4 // CYCLE_WEEKS.get(VisitCycle(cycle), 1)) * max(1, len(weekdays))


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def route_runs_on(route: Route, day: dt.date) -> bool:
    """Whether an active route is visited on ``day``: its weekday, in a week of its cycle
    (weeks counted from the Monday of ``anchor_date``)."""
    if not route.active or day.isoweekday() not in (route.weekdays or []):
        return False
    weeks = CYCLE_WEEKS.get(VisitCycle(route.cycle), 1)
    if weeks == 1:
        return True
    anchor = _monday(route.anchor_date or EPOCH_MONDAY)
    return ((_monday(day) - anchor).days // 7) % weeks == 0


def route_next_run(route: Route, day: dt.date) -> dt.date | None:
    """The first day on or after ``day`` when the route runs (None: it never does)."""
    for offset in range(28):
        candidate = day + dt.timedelta(days=offset)
        if route_runs_on(route, candidate):
            return candidate
    return None


# --------------------------------------------------------------------------- visit standards


def _standard_matches(standard: VisitStandard, account: Account) -> int | None:
    """How specific ``standard`` is for ``account`` (fields set), or None if it does not fit."""
    score = 0
    if standard.account_type:
        if standard.account_type != account.account_type:
            return None
        score += 1
    if standard.grade:
        if standard.grade != account.grade:
            return None
        score += 1
    if standard.channel_type_id is not None:
        if standard.channel_type_id != account.channel_type_id:
            return None
        score += 1
    return score


def standard_for_account(account: Account, *, standards: Iterable[VisitStandard] | None = None) -> VisitStandard | None:
    """The visit standard of an outlet: among the active standards that fit its type, grade
    and channel type (a blank field fits all), the most specific; ties go to the lowest code.
    ``standards`` may be given to choose for many outlets with one query."""
    pool = list(standards) if standards is not None else list(VisitStandard.objects.filter(active=True))
    best: tuple[int, str, VisitStandard] | None = None
    for standard in pool:
        if not standard.active:
            continue
        score = _standard_matches(standard, account)
        if score is None:
            continue
        if best is None or (-score, standard.code) < (-best[0], best[1]):
            best = (score, standard.code, standard)
    return best[2] if best else None


def stop_standard(route: Route, account: Account, *, standards: Iterable[VisitStandard] | None = None) -> Any:
    """The standard a visit of ``account`` on ``route`` follows: the route's, else by outlet."""
    if route.standard_id is not None:
        return route.standard
    return standard_for_account(account, standards=standards)


def stop_visit_minutes(stop: RouteStop, route: Route, standard: VisitStandard | None) -> int:
    if stop.visit_minutes:
        return int(stop.visit_minutes)
    if standard is not None:
        return int(standard.visit_minutes)
    return DEFAULT_VISIT_MINUTES.get(stop.account.grade, 15)


# --------------------------------------------------------------------------- coverage


def coverage_sync(account_ids: Iterable[int], *, today: dt.date | None = None) -> None:
    """Bring `OutletCoverage` in step with the active routes of these outlets: a row per outlet
    on an active route (cycle from all its routes, the most frequent route as its route), none
    for an outlet on no active route. The last visit is kept; the due day is the last visit plus
    the cycle, or, for an outlet never visited, the route's next day. Works in batches, so a
    whole company's outlets can be brought in step at once."""
    ids = sorted({int(i) for i in account_ids})
    today = today or timezone.localdate()
    for start in range(0, len(ids), COVERAGE_BATCH):
        _coverage_sync_batch(ids[start : start + COVERAGE_BATCH], today)


def _coverage_sync_batch(ids: list[int], today: dt.date) -> None:
    by_account: dict[int, list[Route]] = defaultdict(list)
    for stop in RouteStop.objects.filter(account_id__in=ids, route__active=True).select_related("route"):
        by_account[stop.account_id].append(stop.route)
    existing = {c.account_id: c for c in OutletCoverage.objects.filter(account_id__in=ids)}
    gone = [i for i in ids if i not in by_account and i in existing]
    if gone:
        OutletCoverage.objects.filter(account_id__in=gone).delete()
    new: list[OutletCoverage] = []
    changed: list[OutletCoverage] = []
    next_run: dict[int, dt.date | None] = {}
    for account_id, routes in by_account.items():
        per_four_weeks = sum(visits_per_four_weeks(r.cycle, r.weekdays or []) for r in routes)
        days = max(1, math.ceil(28 / max(1, per_four_weeks)))
        primary = min(routes, key=lambda r: (cycle_days(r.cycle, r.weekdays or []), r.pk))
        row = existing.get(account_id)
        if row is None:
            if primary.pk not in next_run:
                next_run[primary.pk] = route_next_run(primary, today)
            new.append(
                OutletCoverage(
                    account_id=account_id,
                    route=primary,
                    rep_id=primary.rep_id,
                    org_unit_id=primary.org_unit_id,
                    cycle_days=days,
                    due_on=next_run[primary.pk] or today + dt.timedelta(days=days),
                )
            )
            continue
        due_on = row.last_visited_on + dt.timedelta(days=days) if row.last_visited_on is not None else row.due_on
        state = (primary.pk, primary.rep_id, primary.org_unit_id, days, due_on)
        if (row.route_id, row.rep_id, row.org_unit_id, row.cycle_days, row.due_on) != state:
            row.route_id, row.rep_id, row.org_unit_id, row.cycle_days, row.due_on = state
            changed.append(row)
    OutletCoverage.objects.bulk_create(new, batch_size=1000)
    OutletCoverage.objects.bulk_update(changed, ["route", "rep", "org_unit", "cycle_days", "due_on"], batch_size=1000)


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class CleanStop:
    account: Account
    visit_minutes: int | None = None
    window_start: dt.time | None = None
    window_end: dt.time | None = None


def _account_visible(scope: Scope, account: Account) -> bool:
    return bool(
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    )


def _stops_clean(
    actor: Any, rep: Any, rows: Any, errors: dict[str, list[str]], *, prefix: str = "stops"
) -> list[CleanStop]:
    """Stops in the given order: each an account in the actor's and the rep's customer scope,
    open (not closed, not merged), once; optional visit minutes and a time window."""
    if rows is None:
        return []
    if not isinstance(rows, list | tuple):
        _add(errors, prefix, _("应为客户列表"))
        return []
    parsed: list[tuple[int, dict[str, Any]]] = []
    for i, row in enumerate(rows):
        data = row if isinstance(row, Mapping) else {"account_id": row}
        pk = _int(data.get("account_id"), f"{prefix}[{i}].account_id", errors, minimum=1, maximum=2**62)
        if pk is None:
            if f"{prefix}[{i}].account_id" not in errors:
                _add(errors, f"{prefix}[{i}].account_id", _("请选择客户"))
            continue
        parsed.append((i, {**data, "account_id": pk}))
    accounts = Account.objects.in_bulk([d["account_id"] for _i, d in parsed])
    actor_scope = account_scope(actor)
    rep_scope = account_scope(rep) if rep is not None else None
    seen: set[int] = set()
    clean: list[CleanStop] = []
    for i, data in parsed:
        name = f"{prefix}[{i}]"
        account = accounts.get(data["account_id"])
        if account is None or not _account_visible(actor_scope, account):
            _add(errors, f"{name}.account_id", _("客户不存在"))
            continue
        if account.status == AccountStatus.CLOSED or account.merged_into_id is not None:
            _add(errors, f"{name}.account_id", _("客户 %(name)s 已关闭或已合并，不能排入线路") % {"name": account.name})
            continue
        if rep_scope is not None and not _account_visible(rep_scope, account):
            _add(
                errors,
                f"{name}.account_id",
                _("业务员 %(rep)s 看不到客户 %(name)s（不在其客户范围内），请先把客户分配给该业务员")
                % {"rep": _person(rep), "name": account.name},
            )
            continue
        if account.pk in seen:
            _add(errors, f"{name}.account_id", _("客户 %(name)s 在线路上重复") % {"name": account.name})
            continue
        seen.add(account.pk)
        minutes = _int(data.get("visit_minutes"), f"{name}.visit_minutes", errors, minimum=1, maximum=480)
        start = _time(data.get("window_start"), f"{name}.window_start", errors)
        end = _time(data.get("window_end"), f"{name}.window_end", errors)
        if start and end and end <= start:
            _add(errors, f"{name}.window_end", _("可拜访结束时间必须晚于开始时间"))
        clean.append(CleanStop(account=account, visit_minutes=minutes, window_start=start, window_end=end))
    return clean


def _route_clean(actor: Any, data: Mapping[str, Any], instance: Route | None) -> dict[str, Any]:
    """The route's own fields from ``data`` (only those given, for an update), validated."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if given("code"):
        code = _text(data.get("code"))
        if not code:
            _add(errors, "code", _("请填写线路编码"))
        elif len(code) > 40:
            _add(errors, "code", _("最多 %(n)d 个字符") % {"n": 40})
        elif Route.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            _add(errors, "code", _("编码已存在：%(code)s") % {"code": code})
        values["code"] = code
    if given("name"):
        values["name"] = _text(data.get("name"))
        if not values["name"]:
            _add(errors, "name", _("请填写线路名称"))
        elif len(values["name"]) > 100:
            _add(errors, "name", _("最多 %(n)d 个字符") % {"n": 100})
    rep = instance.rep if instance else None
    if given("rep_id"):
        rep_id = _int(data.get("rep_id"), "rep_id", errors, minimum=1, maximum=2**62)
        if instance is not None and rep_id == instance.rep_id:
            pass  # unchanged: the rep stays even if the actor could not choose them now
        elif rep_id is None:
            rep = None
            if "rep_id" not in errors:
                _add(errors, "rep_id", _("请选择业务员"))
        else:
            try:
                rep = selectors.rep_get(actor=actor, rep_id=rep_id)
            except NotFound:
                rep = None
                _add(errors, "rep_id", _("业务员不存在"))
            else:
                if not rep.is_active:
                    _add(errors, "rep_id", _("业务员 %(name)s 已停用") % {"name": _person(rep)})
        values["rep"] = rep
    rep_changed = instance is None or ("rep" in values and rep is not None and rep.pk != instance.rep_id)
    if given("org_unit_id") or rep_changed:
        unit_id = _int(data.get("org_unit_id"), "org_unit_id", errors, minimum=1, maximum=2**62)
        if unit_id is None and "org_unit_id" not in errors:
            if rep is not None and rep_changed:
                unit_id = rep.employee.org_unit_id
            elif instance is not None:
                unit_id = instance.org_unit_id
        if unit_id is not None and (instance is None or unit_id != instance.org_unit_id):
            units = visible_unit_ids(actor)
            if units is not None and unit_id not in units:
                _add(errors, "org_unit_id", _("组织不存在或不在您的范围内"))
            else:
                values["org_unit_id"] = unit_id
        elif unit_id is None and "org_unit_id" not in errors and "rep_id" not in errors:
            _add(errors, "org_unit_id", _("请选择所属组织"))
    if given("area"):
        values["area"] = _text(data.get("area"))[:100]
    cycle = instance.cycle if instance else VisitCycle.WEEKLY
    if given("cycle"):
        cycle = _text(data.get("cycle")) or VisitCycle.WEEKLY
        if cycle not in VisitCycle.values:
            _add(errors, "cycle", _("无效的拜访周期：%(v)s") % {"v": cycle})
            cycle = VisitCycle.WEEKLY
        values["cycle"] = cycle
    weekdays = list(instance.weekdays) if instance else []
    if given("weekdays"):
        raw = data.get("weekdays")
        if isinstance(raw, str):
            raw = [p for p in raw.replace("，", ",").split(",") if p.strip()]
        days: list[int] = []
        for value in raw or []:
            try:
                day = int(str(value).strip())
            except ValueError:
                day = 0
            if not 1 <= day <= 7:
                _add(errors, "weekdays", _("拜访日必须是 1（周一）到 7（周日）"))
                break
            days.append(day)
        weekdays = sorted(set(days))
        values["weekdays"] = weekdays
    if "weekdays" not in errors and ("cycle" in values or "weekdays" in values):
        if not weekdays:
            _add(errors, "weekdays", _("请选择拜访日"))
        elif cycle == VisitCycle.TIMES_PER_WEEK and len(weekdays) < 2:
            _add(errors, "weekdays", _("每周多次的线路至少要选两个拜访日"))
        elif cycle != VisitCycle.TIMES_PER_WEEK and len(weekdays) != 1:
            _add(errors, "weekdays", _("每周、每两周或每四周一次的线路只能选一个拜访日；多天请选“每周多次”"))
    if given("anchor_date"):
        values["anchor_date"] = _date(data.get("anchor_date"), "anchor_date", errors)
    anchor = values.get("anchor_date", instance.anchor_date if instance else None)
    if anchor is None and CYCLE_WEEKS.get(VisitCycle(cycle), 1) > 1 and "anchor_date" not in errors:
        values["anchor_date"] = timezone.localdate()
    for name in ("start_time", "end_time"):
        if given(name):
            values[name] = _time(data.get(name), name, errors)
    start = values.get("start_time", instance.start_time if instance else None)
    end = values.get("end_time", instance.end_time if instance else None)
    if start and end and end <= start and "end_time" not in errors:
        _add(errors, "end_time", _("结束时间必须晚于开始时间"))
    if given("standard_id"):
        standard_id = _int(data.get("standard_id"), "standard_id", errors, minimum=1, maximum=2**62)
        values["standard_id"] = None
        if standard_id is not None:
            if not VisitStandard.objects.filter(pk=standard_id, active=True).exists():
                _add(errors, "standard_id", _("拜访标准不存在或已停用"))
            else:
                values["standard_id"] = standard_id
    if given("start_latitude") or given("start_longitude"):
        lat = _coordinate(
            data.get("start_latitude", instance.start_latitude if instance else None),
            "start_latitude",
            errors,
            limit=90,
        )
        lng = _coordinate(
            data.get("start_longitude", instance.start_longitude if instance else None),
            "start_longitude",
            errors,
            limit=180,
        )
        if (lat is None) != (lng is None) and "start_latitude" not in errors and "start_longitude" not in errors:
            _add(errors, "start_latitude", _("起点的纬度和经度须同时填写"))
        values["start_latitude"], values["start_longitude"] = lat, lng
    if given("active"):
        values["active"] = _bool(data.get("active", True))
    if given("notes"):
        values["notes"] = _text(data.get("notes"))
    if given("stops"):
        values["stops"] = _stops_clean(actor, rep, data.get("stops"), errors)
    elif instance is not None and rep_changed and rep is not None:
        # A new rep must be able to see every outlet already on the route.
        current = [{"account_id": s.account_id} for s in instance.stops.order_by("position")]
        _stops_clean(actor, rep, current, errors)
    _fail(errors, _("线路资料有误"))
    return values


def _stop_ids(route: Route) -> list[int]:
    return list(route.stops.order_by("position", "id").values_list("account_id", flat=True))


def _write_stops(route: Route, stops: Sequence[CleanStop]) -> None:
    RouteStop.objects.filter(route=route).delete()
    RouteStop.objects.bulk_create(
        [
            RouteStop(
                route=route,
                account=s.account,
                position=n,
                visit_minutes=s.visit_minutes,
                window_start=s.window_start,
                window_end=s.window_end,
            )
            for n, s in enumerate(stops, start=1)
        ]
    )


def _current_stops(route: Route) -> list[CleanStop]:
    return [
        CleanStop(
            account=s.account, visit_minutes=s.visit_minutes, window_start=s.window_start, window_end=s.window_end
        )
        for s in route.stops.select_related("account").order_by("position", "id")
    ]


def _locked_route(actor: Any, route_id: int, perm: str) -> Route:
    selectors.route_get(actor=actor, route_id=route_id)  # NotFound when out of scope
    _require(actor, perm)
    return Route.objects.select_for_update(of=("self",)).select_related("rep__employee").get(pk=route_id)


def _route_state(route: Route) -> dict[str, Any]:
    """The route's fields, its outlets in order and the outlets' own minutes and windows."""
    settings_rows = [
        [a, m, ws.strftime("%H:%M") if ws else None, we.strftime("%H:%M") if we else None]
        for a, m, ws, we in route.stops.order_by("position", "id").values_list(
            "account_id", "visit_minutes", "window_start", "window_end"
        )
        if m is not None or ws is not None or we is not None
    ]
    return {**snapshot(route, ROUTE_FIELDS), "stops": _stop_ids(route), "stop_settings": settings_rows}


@transaction.atomic
def route_create(*, actor: Any, data: Mapping[str, Any]) -> Route:
    """A new route with its stops (``stops``: account ids or ``{account_id, visit_minutes,
    window_start, window_end}`` in visiting order)."""
    _require(actor, "field.add_route")
    values = _route_clean(actor, data, None)
    stops = values.pop("stops", [])
    route = Route.objects.create(**values)
    _write_stops(route, stops)
    audit_create(actor=actor, instance=route, extra={"stops": [s.account.pk for s in stops]})
    coverage_sync(s.account.pk for s in stops)
    return route


@transaction.atomic
def route_update(
    *, actor: Any, route_id: int, data: Mapping[str, Any], expected_version: int | None = None, reason: str = ""
) -> Route:
    """Change the given fields of a route (and its stops when ``stops`` is given)."""
    route = _locked_route(actor, route_id, "field.change_route")
    _check_version(route, expected_version)
    values = _route_clean(actor, data, route)
    before = _route_state(route)
    stops = values.pop("stops", None)
    for name, value in values.items():
        setattr(route, name, value)
    changed = [f.name for f in route._meta.concrete_fields if f.attname in values or f.name in values]
    route.version += 1
    route.save(update_fields=[*changed, "version", "updated_at"])
    if stops is not None:
        _write_stops(route, stops)
    after = _route_state(route)
    audit_update(actor=actor, instance=route, before=before, after=after, reason=reason)
    coverage_sync({*before["stops"], *after["stops"]})
    return route


@transaction.atomic
def route_delete(*, actor: Any, route_id: int, expected_version: int | None = None) -> None:
    """Delete a route and its stops; its past visits keep their records (without the route)."""
    route = _locked_route(actor, route_id, "field.delete_route")
    _check_version(route, expected_version)
    accounts = _stop_ids(route)
    audit_delete(actor=actor, instance=route)
    route.delete()
    coverage_sync(accounts)


def _stops_change(actor: Any, route: Route, stops: list[CleanStop], reason: str = "") -> Route:
    before = _route_state(route)
    _write_stops(route, stops)
    route.version += 1
    route.save(update_fields=["version", "updated_at"])
    after = _route_state(route)
    audit_update(actor=actor, instance=route, before=before, after=after, reason=reason)
    coverage_sync({*before["stops"], *after["stops"]})
    return route


@transaction.atomic
def route_stop_add(
    *,
    actor: Any,
    route_id: int,
    data: Mapping[str, Any],
    position: int | None = None,
    expected_version: int | None = None,
) -> Route:
    """Put an outlet on the route at ``position`` (1 = first; default: last)."""
    route = _locked_route(actor, route_id, "field.change_route")
    _check_version(route, expected_version)
    current = _current_stops(route)
    errors: dict[str, list[str]] = {}
    new = _stops_clean(actor, route.rep, [dict(data)], errors, prefix="stop")
    if new and any(s.account.pk == new[0].account.pk for s in current):
        _add(errors, "stop[0].account_id", _("客户 %(name)s 已在线路上") % {"name": new[0].account.name})
    at = _int(position, "position", errors, minimum=1, maximum=len(current) + 1)
    _fail(errors, _("线路客户有误"))
    at = at or len(current) + 1
    return _stops_change(actor, route, [*current[: at - 1], new[0], *current[at - 1 :]])


@transaction.atomic
def route_stop_update(
    *, actor: Any, route_id: int, account_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Route:
    """Change an outlet's visit minutes or time window on the route."""
    route = _locked_route(actor, route_id, "field.change_route")
    _check_version(route, expected_version)
    current = _current_stops(route)
    index = next((i for i, s in enumerate(current) if str(s.account.pk) == str(account_id).strip()), None)
    if index is None:
        raise ValidationFailed(_("客户不在这条线路上"), field="account_id")
    old = current[index]
    merged = {
        "account_id": account_id,
        "visit_minutes": data.get("visit_minutes", old.visit_minutes),
        "window_start": data.get("window_start", old.window_start),
        "window_end": data.get("window_end", old.window_end),
    }
    errors: dict[str, list[str]] = {}
    clean = _stops_clean(actor, route.rep, [merged], errors, prefix="stop")
    _fail(errors, _("线路客户有误"))
    current[index] = clean[0]
    return _stops_change(actor, route, current)


@transaction.atomic
def route_stop_remove(*, actor: Any, route_id: int, account_id: int, expected_version: int | None = None) -> Route:
    route = _locked_route(actor, route_id, "field.change_route")
    _check_version(route, expected_version)
    current = _current_stops(route)
    kept = [s for s in current if str(s.account.pk) != str(account_id).strip()]
    if len(kept) == len(current):
        raise ValidationFailed(_("客户不在这条线路上"), field="account_id")
    return _stops_change(actor, route, kept)


@transaction.atomic
def route_stops_reorder(
    *, actor: Any, route_id: int, account_ids: Sequence[Any], expected_version: int | None = None
) -> Route:
    """Put the route's outlets in a new order: ``account_ids`` must name each of them once."""
    route = _locked_route(actor, route_id, "field.change_route")
    _check_version(route, expected_version)
    current = {s.account.pk: s for s in _current_stops(route)}
    try:
        order = [int(a) for a in account_ids]
    except (TypeError, ValueError):
        raise ValidationFailed(_("新顺序必须是客户编号的列表"), field="account_ids") from None
    if sorted(order) != sorted(current) or len(set(order)) != len(order):
        raise ValidationFailed(_("新顺序必须恰好包含线路上的每个客户一次"), field="account_ids")
    return _stops_change(actor, route, [current[a] for a in order])


@transaction.atomic
def route_stop_move(
    *, actor: Any, route_id: int, account_id: int, offset: int, expected_version: int | None = None
) -> Route:
    """Move one outlet ``offset`` places (−1 = one earlier, +1 = one later), within the route."""
    route = selectors.route_get(actor=actor, route_id=route_id)
    order = _stop_ids(route)
    if int(account_id) not in order:
        raise ValidationFailed(_("客户不在这条线路上"), field="account_id")
    i = order.index(int(account_id))
    j = max(0, min(len(order) - 1, i + int(offset)))
    order.insert(j, order.pop(i))
    return route_stops_reorder(actor=actor, route_id=route_id, account_ids=order, expected_version=expected_version)


# --------------------------------------------------------------------------- optimiser proposals


@dataclass(frozen=True)
class _Outlet:
    """One outlet of the rep's week: where, how long, how often, and what to keep on accept."""

    account: Account
    minutes: int
    visits_per_week: int
    cycle: str
    anchor: dt.date | None
    window: tuple[dt.time, dt.time] | None
    stop_minutes: int | None

    @property
    def stop_id(self) -> str:
        return f"{self.account.name}（{self.account.code or self.account.pk}）"


def _minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _clock(minutes: float) -> str:
    whole = max(0, round(minutes))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _optimise_params(data: Mapping[str, Any], routes: Sequence[Route]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    raw_days = data.get("working_days")
    if isinstance(raw_days, str):
        raw_days = [p for p in raw_days.replace("，", ",").split(",") if p.strip()]
    if raw_days:
        days: list[int] = []
        for value in raw_days:
            try:
                day = int(str(value).strip())
            except ValueError:
                day = 0
            if not 1 <= day <= 7:
                _add(errors, "working_days", _("工作日必须是 1（周一）到 7（周日）"))
                break
            days.append(day)
        working_days = sorted(set(days))
    else:
        working_days = sorted({1, 2, 3, 4, 5} | {d for r in routes for d in (r.weekdays or [])})
    starts = [r.start_time for r in routes if r.start_time]
    ends = [r.end_time for r in routes if r.end_time]
    day_start = _time(data.get("day_start"), "day_start", errors) or (min(starts) if starts else DEFAULT_DAY_START)
    day_end = _time(data.get("day_end"), "day_end", errors) or (max(ends) if ends else DEFAULT_DAY_END)
    if day_end <= day_start and "day_end" not in errors:
        _add(errors, "day_end", _("下班时间必须晚于上班时间"))
    limit = data.get("time_limit_seconds")
    seconds = OPTIMISE_SECONDS
    if limit not in (None, ""):
        try:
            seconds = float(str(limit))
        except ValueError:
            seconds = -1
        if not (math.isfinite(seconds) and 0.5 <= seconds <= OPTIMISE_SECONDS_MAX):
            _add(
                errors,
                "time_limit_seconds",
                _("计算时间应在 %(min)s 到 %(max)s 秒之间") % {"min": 0.5, "max": int(OPTIMISE_SECONDS_MAX)},
            )
    _fail(errors, _("优化参数有误"))
    return {
        "working_days": working_days,
        "day_start": day_start.strftime("%H:%M"),
        "day_end": day_end.strftime("%H:%M"),
        "time_limit_seconds": seconds,
    }


def _rep_outlets(routes: Sequence[Route], working_days: int) -> tuple[list[_Outlet], Location | None]:
    standards = list(VisitStandard.objects.filter(active=True))
    stops = (
        RouteStop.objects.filter(route__in=routes)
        .select_related("account", "route", "route__standard")
        .order_by("route__code", "route_id", "position")
    )
    outlets: dict[int, _Outlet] = {}
    for stop in stops:
        route, account = stop.route, stop.account
        per_week = len(route.weekdays or []) if route.cycle == VisitCycle.TIMES_PER_WEEK else 1
        previous = outlets.get(account.pk)
        if previous is not None:
            # On several routes: visited on each, at the most frequent of their cycles.
            per_week = previous.visits_per_week + per_week
            outlets[account.pk] = _Outlet(
                account=account,
                minutes=previous.minutes,
                visits_per_week=min(per_week, working_days),
                cycle=VisitCycle.WEEKLY,
                anchor=None,
                window=previous.window,
                stop_minutes=previous.stop_minutes,
            )
            continue
        standard = stop_standard(route, account, standards=standards)
        window = (stop.window_start, stop.window_end) if stop.window_start and stop.window_end else None
        outlets[account.pk] = _Outlet(
            account=account,
            minutes=stop_visit_minutes(stop, route, standard),
            visits_per_week=max(1, min(per_week, working_days)),
            cycle=VisitCycle.WEEKLY if route.cycle == VisitCycle.TIMES_PER_WEEK else route.cycle,
            anchor=route.anchor_date if CYCLE_WEEKS.get(VisitCycle(route.cycle), 1) > 1 else None,
            window=window,
            stop_minutes=stop.visit_minutes,
        )
    depot = next(
        (
            Location(float(r.start_latitude), float(r.start_longitude))
            for r in routes
            if r.start_latitude is not None and r.start_longitude is not None
        ),
        None,
    )
    return list(outlets.values()), depot


def _day_summary(day: Any, iso: int, by_stop: Mapping[str, _Outlet], route_ids: Sequence[int] = ()) -> dict[str, Any]:
    return {
        "weekday": iso,
        "route_ids": list(route_ids),
        "account_ids": [by_stop[s].account.pk for s in day.stop_ids],
        "arrivals": [_clock(a) for a in day.arrival_minutes],
        "km": round(day.travel_km, 2),
        "travel_minutes": round(day.travel_minutes, 1),
        "visit_minutes": round(day.service_minutes, 1),
        "wait_minutes": round(day.wait_minutes, 1),
        "workload_minutes": round(day.travel_minutes + day.service_minutes, 1),
    }


def _unplaced_error(entries: Sequence[Mapping[str, Any]], problem: WeekProblem) -> ValidationFailed:
    """One error naming every outlet that could not be placed and why (the routing library's
    reasons name the outlet already); when the week is simply too full, say by how much."""
    messages = [str(e["reason"]) for e in entries]
    message = _("有 %(n)d 个客户无法排进一周的线路，未生成方案：%(first)s") % {"n": len(entries), "first": messages[0]}
    if any(e.get("code") == "no_room_in_week" for e in entries):
        need = sum(s.service_minutes * s.visits_per_week for s in problem.stops)
        message += _(
            "（仅拜访就需约 %(need)d 分钟，加上路上时间，超过了 %(days)d 天 × %(minutes)d 分钟的工作时间；"
            "请增加工作日、延长工作时间，或把部分客户分给其他业务员。）"
        ) % {"need": round(need), "days": len(problem.working_days), "minutes": problem.day_minutes}
    return ValidationFailed(
        message,
        code="outlets_unplaced",
        errors={"outlets": messages},
        extra={"unplaced": list(entries)},
    )


def week_problem_for_rep(
    *, actor: Any, rep_id: int, data: Mapping[str, Any] | None = None
) -> tuple[Any, list[Route], WeekProblem, list[_Outlet], dict[str, Any]]:
    """The week problem of a rep's route outlets (no writes). Refuses a rep without outlets and
    outlets without a position, naming them."""
    rep = selectors.rep_get(actor=actor, rep_id=rep_id)
    routes = selectors.rep_routes(actor=actor, rep_id=rep.pk)
    params = _optimise_params(data or {}, routes)
    outlets, depot = _rep_outlets(routes, len(params["working_days"]))
    if not outlets:
        raise ValidationFailed(
            _("业务员 %(rep)s 的线路上没有客户，无法优化") % {"rep": _person(rep)},
            code="no_outlets",
            field="rep_id",
        )
    no_position = [o for o in outlets if o.account.latitude is None or o.account.longitude is None]
    if no_position:
        entries: list[dict[str, Any]] = [
            {"account_id": o.account.pk, "name": o.account.name, "code": "no_position", "reason": _("没有坐标")}
            for o in no_position
        ]
        raise ValidationFailed(
            _("%(n)d 个客户没有坐标，无法计算距离：%(names)s。请先在客户资料中补全位置。")
            % {"n": len(entries), "names": "、".join(e["name"] for e in entries[:20])},
            code="outlets_without_position",
            errors={"outlets": [f"{e['name']}：{e['reason']}" for e in entries]},
            extra={"unplaced": entries},
        )
    if depot is None:
        first = outlets[0].account
        depot = Location(float(first.latitude), float(first.longitude))  # type: ignore[arg-type]
        params["depot"] = "first_outlet"
    else:
        params["depot"] = "route_start"
    params["depot_lat"], params["depot_lng"] = depot.lat, depot.lng
    problem = WeekProblem(
        stops=tuple(
            Stop(
                id=o.stop_id,
                location=Location(float(o.account.latitude), float(o.account.longitude)),  # type: ignore[arg-type]
                service_minutes=float(o.minutes),
                visits_per_week=o.visits_per_week,
                time_window=(_minute(o.window[0]), _minute(o.window[1])) if o.window else None,
            )
            for o in outlets
        ),
        depot_start=depot,
        depot_end=depot,
        working_days=tuple(d - 1 for d in params["working_days"]),
        day_start_minute=_minute(dt.time.fromisoformat(params["day_start"])),
        day_end_minute=_minute(dt.time.fromisoformat(params["day_end"])),
    )
    return rep, routes, problem, outlets, params


def _current_week(
    problem: WeekProblem, routes: Sequence[Route], outlets: Sequence[_Outlet], params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The week as the routes have it now, timed on the same distances as the proposal."""
    matrix = week_matrix(problem)
    index = {o.account.pk: i for i, o in enumerate(outlets)}
    by_stop = {o.stop_id: o for o in outlets}
    order_by_route = defaultdict(list)
    for stop in RouteStop.objects.filter(route__in=routes).order_by("position", "id"):
        order_by_route[stop.route_id].append(stop.account_id)
    days = sorted(set(params["working_days"]) | {d for r in routes for d in (r.weekdays or [])})
    week = []
    for iso in days:
        on_day = [r for r in routes if iso in (r.weekdays or [])]
        order: list[int] = []
        for route in on_day:
            for account_id in order_by_route[route.pk]:
                if index[account_id] not in order:
                    order.append(index[account_id])
        timed = day_route(problem, matrix, iso - 1, order)
        week.append(_day_summary(timed, iso, by_stop, [r.pk for r in on_day]))
    return week


def route_proposal_create(*, actor: Any, rep_id: int, data: Mapping[str, Any] | None = None) -> RouteProposal:
    """Optimise one rep's week ("优化线路") and keep the proposal beside the current routes.

    ``data``: ``working_days`` (ISO 1–7; default Monday–Friday plus the routes' days),
    ``day_start`` / ``day_end`` (HH:MM; default the routes' times, else 08:30–17:30) and
    ``time_limit_seconds`` (default 5, at most 30). Refuses, saving nothing, when the rep has no
    outlets, an outlet has no position, or any outlet cannot be placed (time window out of
    reach, day too short for the visit, no room in the week) — naming each and why.

    The solver runs outside any transaction (on SQLite an open write transaction would hold the
    database's write lock for the seconds it takes); only the saving is atomic.
    """
    _require(actor, "field.add_routeproposal")
    rep, routes, problem, outlets, params = week_problem_for_rep(actor=actor, rep_id=rep_id, data=data)
    by_stop = {o.stop_id: o for o in outlets}
    try:
        plan: WeekPlan = solve_week(problem, time_limit_seconds=params["time_limit_seconds"])
    except ValidationFailed as exc:
        entries = [
            {
                "account_id": by_stop[u["stop_id"]].account.pk if u.get("stop_id") in by_stop else None,
                "name": by_stop[u["stop_id"]].account.name if u.get("stop_id") in by_stop else u.get("stop_id"),
                "code": u.get("code", ""),
                "reason": u.get("reason", ""),
            }
            for u in exc.extra.get("unplaced", [])
        ]
        if entries:
            raise _unplaced_error(entries, problem) from exc
        raise
    if plan.unplaced:
        entries = []
        for u in plan.unplaced:
            outlet = by_stop.get(u.stop_id)
            entries.append(
                {
                    "account_id": outlet.account.pk if outlet else None,
                    "name": outlet.account.name if outlet else u.stop_id,
                    "code": u.code,
                    "reason": u.reason,
                }
            )
        raise _unplaced_error(entries, problem)
    current = _current_week(problem, routes, outlets, params)
    proposed = [_day_summary(day, day.weekday + 1, by_stop) for day in plan.days]
    params = {
        **params,
        "balance": round(plan.balance, 4),
        "feasible": plan.feasible,
        "routes": {str(r.pk): r.version for r in routes},
        "outlets": {
            str(o.account.pk): {
                "cycle": o.cycle,
                "anchor": o.anchor.isoformat() if o.anchor else None,
                "visit_minutes": o.stop_minutes,
                "minutes": o.minutes,
                "visits_per_week": o.visits_per_week,
                "window": [o.window[0].strftime("%H:%M"), o.window[1].strftime("%H:%M")] if o.window else None,
            }
            for o in outlets
        },
    }
    with transaction.atomic():
        proposal = RouteProposal.objects.create(
            rep=rep,
            org_unit_id=rep.employee.org_unit_id,
            status=ProposalStatus.PENDING,
            params=params,
            current=current,
            proposed=proposed,
            unplaced=[],
            created_by=actor,
        )
        audit_create(actor=actor, instance=proposal)
    return proposal


def proposal_totals(days: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return {
        "km": round(sum(d.get("km", 0) for d in days), 2),
        "travel_minutes": round(sum(d.get("travel_minutes", 0) for d in days), 1),
        "visit_minutes": round(sum(d.get("visit_minutes", 0) for d in days), 1),
        "workload_minutes": round(sum(d.get("workload_minutes", 0) for d in days), 1),
        "visits": sum(len(d.get("account_ids", [])) for d in days),
    }


def _locked_proposal(actor: Any, proposal_id: int) -> RouteProposal:
    selectors.proposal_get(actor=actor, proposal_id=proposal_id)  # NotFound when out of scope
    _require(actor, "field.change_routeproposal")
    proposal = RouteProposal.objects.select_for_update(of=("self",)).select_related("rep__employee").get(pk=proposal_id)
    if proposal.status != ProposalStatus.PENDING:
        raise Conflict(
            _("该方案已%(status)s，不能再次审批") % {"status": proposal.get_status_display()},
            code="proposal_decided",
        )
    return proposal


def _unique_code(base: str, taken: set[str]) -> str:
    code, n = base[:40], 2
    while code in taken or Route.objects.filter(code=code).exists():
        suffix = f"-{n}"
        code = base[: 40 - len(suffix)] + suffix
        n += 1
    taken.add(code)
    return code


@transaction.atomic
def route_proposal_accept(
    *, actor: Any, proposal_id: int, expected_version: int | None = None, reason: str = ""
) -> RouteProposal:
    """Rewrite the rep's routes as proposed: one route per weekday (and per two- or four-weekly
    cycle among its outlets) with the proposed order. Existing routes are reused where they fit
    (same day and cycle), others are made, and routes left without outlets are deactivated;
    each change is in the route's history, and coverage follows. Refused (nothing changed) when
    the routes changed since the proposal was made."""
    proposal = _locked_proposal(actor, proposal_id)
    _require(actor, "field.change_route", "field.add_route")
    _check_version(proposal, expected_version)
    rep = proposal.rep
    expected = {int(k): v for k, v in (proposal.params.get("routes") or {}).items()}
    routes = list(Route.objects.select_for_update().filter(pk__in=list(expected)).order_by("code", "id"))
    now_routes = {r.pk: r.version for r in selectors.rep_routes(actor=actor, rep_id=rep.pk)}
    if now_routes != expected or len(routes) != len(expected):
        raise Conflict(
            _("业务员的线路在方案生成后已被修改，请重新优化"),
            code="proposal_outdated",
            extra={"routes": {str(k): v for k, v in now_routes.items()}},
        )
    outlets = proposal.params.get("outlets") or {}
    accounts = Account.objects.in_bulk([int(a) for a in outlets])
    # Group each day's visits by cycle: a route has one cycle.
    groups: dict[tuple[int, str, str | None], list[int]] = {}
    for day in proposal.proposed:
        for account_id in day["account_ids"]:
            info = outlets.get(str(account_id)) or {}
            key = (int(day["weekday"]), info.get("cycle") or VisitCycle.WEEKLY, info.get("anchor"))
            groups.setdefault(key, []).append(int(account_id))
    missing = {int(a) for a in outlets} - {a for ids in groups.values() for a in ids}
    if missing or any(a not in accounts for ids in groups.values() for a in ids):
        raise Conflict(_("方案中的客户已变化，请重新优化"), code="proposal_outdated")

    areas = Counter(r.area for r in routes if r.area)
    standards = {r.standard_id for r in routes}
    start = next((r for r in routes if r.start_latitude is not None), None)
    day_start = dt.time.fromisoformat(proposal.params.get("day_start", "08:30"))
    day_end = dt.time.fromisoformat(proposal.params.get("day_end", "17:30"))
    why = reason.strip() or _("采纳线路优化方案 #%(id)s") % {"id": proposal.pk}
    unused = list(routes)
    taken: set[str] = set()
    touched: set[int] = set()
    employee = rep.employee
    ordered = sorted(groups.items(), key=lambda g: (g[0][0], g[0][1]))
    # Routes that already run on that day with that cycle keep their place first; the others
    # are reused for the remaining days, and new routes made only when none is left.
    assigned: dict[tuple[int, str, str | None], Route] = {}
    for key, _ids in ordered:
        weekday, cycle, anchor = key
        anchor_date = dt.date.fromisoformat(anchor) if anchor else None
        exact = next(
            (
                r
                for r in unused
                if r.weekdays == [weekday]
                and r.cycle == cycle
                and (anchor_date is None or r.anchor_date == anchor_date)
            ),
            None,
        )
        if exact is not None:
            assigned[key] = exact
            unused.remove(exact)
    for (weekday, cycle, anchor), account_ids in ordered:
        anchor_date = dt.date.fromisoformat(anchor) if anchor else None
        exact = assigned.get((weekday, cycle, anchor))
        match = exact or (unused.pop(0) if unused else None)
        stops = []
        for account_id in account_ids:
            info = outlets.get(str(account_id)) or {}
            window = info.get("window")
            stops.append(
                CleanStop(
                    account=accounts[account_id],
                    visit_minutes=info.get("visit_minutes"),
                    window_start=dt.time.fromisoformat(window[0]) if window else None,
                    window_end=dt.time.fromisoformat(window[1]) if window else None,
                )
            )
        label = weekday_label(weekday)
        if cycle != VisitCycle.WEEKLY:
            label = f"{label}（{VisitCycle(cycle).label}）"
        if match is not None:
            before = _route_state(match)
            match.cycle, match.weekdays, match.active = cycle, [weekday], True
            if anchor_date is not None:
                match.anchor_date = anchor_date
            match.start_time, match.end_time = day_start, day_end
            if exact is None:
                match.name = f"{employee.name} {label}"[:100]
            match.version += 1
            match.save(
                update_fields=[
                    "name",
                    "cycle",
                    "weekdays",
                    "active",
                    "anchor_date",
                    "start_time",
                    "end_time",
                    "version",
                    "updated_at",
                ]
            )
            _write_stops(match, stops)
            audit_update(actor=actor, instance=match, before=before, after=_route_state(match), reason=why)
            touched.add(match.pk)
        else:
            suffix = {VisitCycle.BIWEEKLY: "-2W", VisitCycle.FOUR_WEEKLY: "-4W"}.get(VisitCycle(cycle), "")
            route = Route.objects.create(
                code=_unique_code(f"{employee.code}-D{weekday}{suffix}", taken),
                name=f"{employee.name} {label}"[:100],
                rep=rep,
                org_unit_id=employee.org_unit_id,
                area=areas.most_common(1)[0][0] if areas else "",
                cycle=cycle,
                weekdays=[weekday],
                anchor_date=anchor_date or (timezone.localdate() if cycle != VisitCycle.WEEKLY else None),
                start_time=day_start,
                end_time=day_end,
                standard_id=next(iter(standards)) if len(standards) == 1 else None,
                start_latitude=start.start_latitude if start else None,
                start_longitude=start.start_longitude if start else None,
                notes=why,
            )
            _write_stops(route, stops)
            audit_create(actor=actor, instance=route, extra={"stops": account_ids})
            touched.add(route.pk)
    for route in unused:
        before = _route_state(route)
        route.active = False
        route.version += 1
        route.save(update_fields=["active", "version", "updated_at"])
        _write_stops(route, [])
        audit_update(actor=actor, instance=route, before=before, after=_route_state(route), reason=why)
    coverage_sync(int(a) for a in outlets)
    before = snapshot(proposal, ("status", "decided_by", "decided_at", "reason"))
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.reason = reason.strip()[:500]
    proposal.params = {**proposal.params, "result_routes": sorted(touched)}
    proposal.version += 1
    proposal.save(update_fields=["status", "decided_by", "decided_at", "reason", "params", "version", "updated_at"])
    audit_update(actor=actor, instance=proposal, before=before, reason=why)
    return proposal


@transaction.atomic
def route_proposal_reject(
    *, actor: Any, proposal_id: int, reason: str, expected_version: int | None = None
) -> RouteProposal:
    """Turn a proposal down, saying why; the routes stay as they are."""
    proposal = _locked_proposal(actor, proposal_id)
    _check_version(proposal, expected_version)
    text = _text(reason)
    if not text:
        raise ValidationFailed(_("请填写驳回原因"), field="reason")
    if len(text) > 500:
        raise ValidationFailed(_("最多 %(n)d 个字符") % {"n": 500}, field="reason")
    before = snapshot(proposal, ("status", "decided_by", "decided_at", "reason"))
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.reason = text
    proposal.version += 1
    proposal.save(update_fields=["status", "decided_by", "decided_at", "reason", "version", "updated_at"])
    audit_update(actor=actor, instance=proposal, before=before, reason=text)
    return proposal


# --------------------------------------------------------------------------- daily visit plan


@dataclass(frozen=True)
class PlanResult:
    """What `visits_plan_day` did: planned visits created, earlier planned visits marked missed,
    missed visits carried over to the day."""

    day: dt.date
    created: int
    missed: int
    carried: int

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "created": self.created, "missed": self.missed, "carried": self.carried}


def _plan_key(rep_id: int, account_id: int, day: dt.date) -> str:
    return f"plan:{rep_id}:{account_id}:{day.isoformat()}"


@transaction.atomic
def visits_plan_day(*, day: dt.date, reps: Iterable[Any] | None = None) -> PlanResult:
    """Plan ``day`` for every rep (or the given reps, as users or ids), idempotently:

    1. planned visits of earlier days that were never started become MISSED (counted);
    2. each active route that runs on ``day`` (weekday and cycle) gets a PLANNED visit per
       outlet, numbered in visiting order across the rep's routes of the day (an outlet the rep
       already has a visit for that day is skipped);
    3. on a working day of the rep (a weekday of their routes), each missed visit of the last
       ``CARRY_MAX_DAYS`` days not yet carried over gets a new PLANNED visit on ``day``
       (``carried_from`` the missed one, same planned day), unless the outlet was visited since,
       is visited that day anyway, or is no longer on the rep's routes.

    Running it again creates nothing more (the rows carry a unique ``client_key``).
    """
    rep_ids = None if reps is None else {int(getattr(r, "pk", r)) for r in reps}
    now = timezone.now()
    limit = min(day, timezone.localdate())

    stale = Visit.objects.filter(status=VisitStatus.PLANNED, visit_date__lt=limit)
    if rep_ids is not None:
        stale = stale.filter(rep_id__in=rep_ids)
    missed = stale.update(status=VisitStatus.MISSED, version=F("version") + 1, updated_at=now)

    routes_qs = Route.objects.filter(active=True, rep__is_active=True).select_related("standard")
    if rep_ids is not None:
        routes_qs = routes_qs.filter(rep_id__in=rep_ids)
    all_routes = list(routes_qs.order_by("rep_id", "start_time", "code", "id"))
    running = [r for r in all_routes if route_runs_on(r, day)]
    standards = list(VisitStandard.objects.filter(active=True))
    taken: set[tuple[int, int]] = set(Visit.objects.filter(visit_date=day).values_list("rep_id", "account_id"))
    stops_by_route: dict[int, list[RouteStop]] = defaultdict(list)
    for stop in (
        RouteStop.objects.filter(route_id__in=[r.pk for r in running])
        .select_related("account")
        .order_by("route_id", "position", "id")
    ):
        stops_by_route[stop.route_id].append(stop)
    position: Counter[int] = Counter()
    new: list[Visit] = []
    for route in running:
        for stop in stops_by_route[route.pk]:
            key = (route.rep_id, stop.account_id)
            position[route.rep_id] += 1
            if key in taken:
                continue
            taken.add(key)
            standard = stop_standard(route, stop.account, standards=standards)
            new.append(
                Visit(
                    account_id=stop.account_id,
                    rep_id=route.rep_id,
                    org_unit_id=route.org_unit_id,
                    route=route,
                    kind=VisitKind.PLANNED,
                    status=VisitStatus.PLANNED,
                    visit_date=day,
                    planned_date=day,
                    planned_position=position[route.rep_id],
                    standard=standard,
                    client_key=_plan_key(route.rep_id, stop.account_id, day),
                )
            )
    created = _insert(new)

    # Carry over what was missed, to the rep's next working day.
    working: dict[int, set[int]] = defaultdict(set)
    on_routes: dict[int, set[int]] = defaultdict(set)
    for route in all_routes:
        working[route.rep_id].update(route.weekdays or [])
    for rep_id, account_id in RouteStop.objects.filter(route__in=all_routes).values_list("route__rep_id", "account_id"):
        on_routes[rep_id].add(account_id)
    candidates = Visit.objects.filter(
        status=VisitStatus.MISSED,
        visit_date__lt=day,
        visit_date__gte=day - dt.timedelta(days=CARRY_MAX_DAYS),
        planned_date__gte=day - dt.timedelta(days=CARRY_MAX_DAYS),
    ).order_by("rep_id", "visit_date", "planned_position", "id")
    if rep_ids is not None:
        candidates = candidates.filter(rep_id__in=rep_ids)
    candidates_list = [v for v in candidates if day.isoweekday() in working.get(v.rep_id, set())]
    carried_already = set(
        Visit.objects.filter(carried_from_id__in=[v.pk for v in candidates_list]).values_list(
            "carried_from_id", flat=True
        )
    )
    last_done: dict[tuple[int, int], dt.date] = {}
    for rep_id, account_id, visit_date in Visit.objects.filter(
        rep_id__in={v.rep_id for v in candidates_list},
        status__in=[VisitStatus.COMPLETED, VisitStatus.IN_PROGRESS],
        visit_date__gte=day - dt.timedelta(days=CARRY_MAX_DAYS),
        visit_date__lt=day,
    ).values_list("rep_id", "account_id", "visit_date"):
        key = (rep_id, account_id)
        last_done[key] = max(visit_date, last_done.get(key, visit_date))
    carry: list[Visit] = []
    for visit in candidates_list:
        key = (visit.rep_id, visit.account_id)
        if visit.pk in carried_already or key in taken or visit.account_id not in on_routes[visit.rep_id]:
            continue
        if key in last_done and last_done[key] > visit.visit_date:
            continue
        taken.add(key)
        position[visit.rep_id] += 1
        carry.append(
            Visit(
                account_id=visit.account_id,
                rep_id=visit.rep_id,
                org_unit_id=visit.org_unit_id,
                route_id=visit.route_id,
                kind=VisitKind.PLANNED,
                status=VisitStatus.PLANNED,
                visit_date=day,
                planned_date=visit.planned_date or visit.visit_date,
                planned_position=position[visit.rep_id],
                carried_from=visit,
                standard_id=visit.standard_id,
                client_key=f"carry:{visit.pk}",
            )
        )
    carried = _insert(carry)
    if created or missed or carried:
        # A system batch: one audit record per run (who: nobody; what: the counts), rather than
        # one per planned visit, which would double the largest table.
        AuditLog.objects.create(
            actor=None,
            action=AuditAction.CREATE,
            entity="field.visit",
            entity_id=f"plan:{day.isoformat()}",
            entity_repr=(_("拜访计划 %(day)s") % {"day": day.isoformat()})[:255],
            changes={
                "planned": [None, created],
                "missed": [None, missed],
                "carried": [None, carried],
                "reps": [None, sorted(rep_ids) if rep_ids is not None else "all"],
            },
            reason=_("按线路生成当日拜访计划，未拜访的顺延"),
        )
    return PlanResult(day=day, created=created, missed=missed, carried=carried)


def _count_keys(keys: Sequence[str | None]) -> int:
    return sum(Visit.objects.filter(client_key__in=keys[i : i + 500]).count() for i in range(0, len(keys), 500))


def _insert(visits: list[Visit]) -> int:
    """Insert, skipping rows another run inserted meanwhile (same ``client_key``)."""
    if not visits:
        return 0
    keys = [v.client_key for v in visits]
    before = _count_keys(keys)
    Visit.objects.bulk_create(visits, batch_size=1000, ignore_conflicts=True)
    return _count_keys(keys) - before


def plan_day_default() -> dt.date:
    """The day the scheduled plan run plans: today (local time)."""
    return timezone.localdate()
