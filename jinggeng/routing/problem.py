"""The route optimiser's own vocabulary: a week problem in, a week plan out.

Nothing here knows about PyVRP; the solver translates these into its model and back. All the
types are frozen dataclasses so a problem can be hashed, logged and reused as is.

Times are minutes after midnight; weekdays are ISO-like integers 0 = Monday … 6 = Sunday.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from jinggeng.core.errors import ValidationFailed

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Location:
    """A point on the earth in WGS-84 degrees."""

    lat: float
    lng: float


@dataclass(frozen=True)
class Stop:
    """An outlet to visit ``visits_per_week`` times, each visit lasting ``service_minutes``.

    ``time_window`` bounds the start of a visit (minutes after midnight, both ends included);
    ``allowed_weekdays`` restricts the days it may be visited (None: any working day).
    """

    id: str
    location: Location
    service_minutes: float
    visits_per_week: int = 1
    time_window: tuple[int, int] | None = None
    allowed_weekdays: frozenset[int] | None = None


@dataclass(frozen=True)
class WeekProblem:
    """One rep's week: the outlets, where the day starts and ends, and the working hours."""

    stops: tuple[Stop, ...]
    depot_start: Location
    depot_end: Location
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    day_start_minute: int = 8 * 60 + 30
    day_end_minute: int = 17 * 60 + 30
    speed_kmh: float = 25.0
    road_factor: float = 1.3
    balance_tolerance: float = 0.10

    def __post_init__(self) -> None:
        # Accept lists from callers; store tuples so the problem stays hashable.
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "working_days", tuple(self.working_days))

    @property
    def day_minutes(self) -> int:
        return self.day_end_minute - self.day_start_minute


@dataclass(frozen=True)
class DayRoute:
    """One working day: the stops in visiting order and what the day costs.

    ``arrival_minutes[i]`` is when the visit of ``stop_ids[i]`` starts (after any wait for its
    time window). Workload = travel + service (waiting is not work and is reported apart).
    """

    weekday: int
    stop_ids: tuple[str, ...]
    arrival_minutes: tuple[float, ...]
    travel_km: float
    travel_minutes: float
    service_minutes: float
    wait_minutes: float
    start_minute: float
    end_minute: float

    @property
    def workload_minutes(self) -> float:
        return self.travel_minutes + self.service_minutes


@dataclass(frozen=True)
class Unplaced:
    """Visits the plan could not hold, with a stable ``code`` and a readable ``reason``.

    ``visits`` is how many of the stop's weekly visits this entry stands for: all of them when
    the stop itself cannot be placed, one when a single visit found no room in the week.
    """

    stop_id: str
    code: str
    reason: str
    visits: int = 1


@dataclass(frozen=True)
class WeekPlan:
    """The week: one DayRoute per working day (possibly empty) and what could not be placed.

    ``balance`` is the largest deviation of a day's workload from the mean, as a fraction of the
    mean (0.08 = every day within ±8%).
    """

    days: tuple[DayRoute, ...]
    unplaced: tuple[Unplaced, ...] = ()
    solver: str = ""
    feasible: bool = True

    @property
    def total_km(self) -> float:
        return sum(day.travel_km for day in self.days)

    @property
    def total_minutes(self) -> float:
        """Total workload (travel + service) over the week."""
        return sum(day.workload_minutes for day in self.days)

    @property
    def travel_minutes(self) -> float:
        return sum(day.travel_minutes for day in self.days)

    @property
    def mean_workload_minutes(self) -> float:
        return self.total_minutes / len(self.days) if self.days else 0.0

    @property
    def balance(self) -> float:
        return workload_balance([day.workload_minutes for day in self.days])

    def visits_of(self, stop_id: str) -> list[int]:
        """The weekdays on which ``stop_id`` is visited."""
        return [day.weekday for day in self.days for sid in day.stop_ids if sid == stop_id]


def workload_balance(workloads: Sequence[float]) -> float:
    """Max |w - mean| / mean; 0 for a week without work."""
    if not workloads:
        return 0.0
    mean = sum(workloads) / len(workloads)
    if mean <= 0:
        return 0.0
    return max(abs(w - mean) for w in workloads) / mean


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _location_errors(loc: Location) -> list[str]:
    errors = []
    if not _finite(loc.lat) or not -90 <= loc.lat <= 90:
        errors.append(_("纬度必须在 -90 到 90 之间，收到 %(value)s。") % {"value": loc.lat})
    if not _finite(loc.lng) or not -180 <= loc.lng <= 180:
        errors.append(_("经度必须在 -180 到 180 之间，收到 %(value)s。") % {"value": loc.lng})
    return errors


def week_problem_validate(problem: WeekProblem) -> None:
    """Refuse a malformed problem with ValidationFailed naming every bad field.

    Checks the shape of the input only; whether each stop fits in a day (time windows, travel)
    is decided per stop by the solver and reported in ``WeekPlan.unplaced``.
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not problem.stops:
        add("stops", _("没有要拜访的网点。"))
    for name, loc in (("depot_start", problem.depot_start), ("depot_end", problem.depot_end)):
        for message in _location_errors(loc):
            add(name, message)
    days = list(problem.working_days)
    if not days:
        add("working_days", _("至少需要一个工作日。"))
    elif len(set(days)) != len(days) or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        add("working_days", _("工作日必须是 0（周一）到 6（周日）之间且不重复。"))
    start, end = problem.day_start_minute, problem.day_end_minute
    if not (0 <= start < end <= MINUTES_PER_DAY):
        add("day_end_minute", _("每天的工作时间无效：开始必须早于结束，且在 0 到 1440 分钟之间。"))
    if not _finite(problem.speed_kmh) or problem.speed_kmh <= 0:
        add("speed_kmh", _("速度必须大于 0。"))
    if not _finite(problem.road_factor) or problem.road_factor < 1:
        add("road_factor", _("道路系数不能小于 1。"))
    if not _finite(problem.balance_tolerance) or not 0 < problem.balance_tolerance < 1:
        add("balance_tolerance", _("工作量均衡容差必须在 0 到 1 之间。"))

    seen: set[str] = set()
    for i, stop in enumerate(problem.stops):
        prefix = f"stops[{i}]"
        if not stop.id:
            add(f"{prefix}.id", _("网点编号不能为空。"))
        elif stop.id in seen:
            add(f"{prefix}.id", _("网点编号 %(id)s 重复。") % {"id": stop.id})
        seen.add(stop.id)
        for message in _location_errors(stop.location):
            add(f"{prefix}.location", message)
        if not _finite(stop.service_minutes) or stop.service_minutes < 0:
            add(f"{prefix}.service_minutes", _("拜访时长不能为负数。"))
        if not isinstance(stop.visits_per_week, int) or not 1 <= stop.visits_per_week <= max(len(days), 1):
            add(
                f"{prefix}.visits_per_week",
                _("每周拜访次数必须在 1 到 %(days)s（工作日数）之间。") % {"days": len(days)},
            )
        if stop.time_window is not None:
            lo, hi = stop.time_window
            if not (0 <= lo <= hi <= MINUTES_PER_DAY):
                add(f"{prefix}.time_window", _("时间窗无效：开始不能晚于结束，且在 0 到 1440 分钟之间。"))
        if stop.allowed_weekdays is not None and any(not 0 <= d <= 6 for d in stop.allowed_weekdays):
            add(f"{prefix}.allowed_weekdays", _("可拜访日必须是 0（周一）到 6（周日）。"))
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(_("线路优化的输入有误：%(first)s") % {"first": first}, errors=errors)
