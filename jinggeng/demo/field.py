"""The demo company's field execution (深度分销的终端执行): visit standards, 七定 routes for every
rep, outlet coverage, weeks of visits up to yesterday with check-in/out positions, steps, photos,
stock counts with a coherent 进销存, competitor notes, suggested order lines, flags, daily reports
and supervisor audits (稽查), and today's planned visits.

It reads the company the account builder wrote (reps, supervisors, outlets, SKUs) from the
database, so it runs both at the end of `demo_build` and on its own on a company built earlier
(`jinggeng demo --scale large --only field`). Everything comes from one ``random.Random`` seeded
from the demo seed, reps and outlets in id order: the same company, seed and day give the same
field data.

Routes (七定): each rep's route outlets (active outlets, wholesalers and key accounts the rep
owns) are split by angle around their centre into six weekday sectors (Monday‥Saturday) of
equal workload; within a sector they are ordered by nearest neighbour from the centre. Grade A/B
outlets, wholesalers and key accounts are visited weekly (one route per weekday), grade C
outlets every two weeks (two alternating routes per weekday, anchored one week apart).

Planted problems (``PlantedSpec``), each on its own rep-day, which the flag rules
(`jinggeng.field.rules`) and the audits must find: check-in far from the outlet, a photo reused
from another visit, impossible travel from the previous visit, a very short visit, check-in
before working hours, poor position accuracy, missed visits carried over to the next working day
(done there), lapsed outlets (missed and carried over every day up to today, so they are overdue
in the coverage list), stock counts higher than possible (sold < 0) and late daily reports. Every
other visit lies well within every threshold. Flags are decided by the real rules (run wherever
a figure comes near a threshold), so ``VisitFlag`` rows are exactly what the product would raise.

Small scale details 60 % of the outlets (steps, stock counts, suggested lines, competitor notes;
all of their visits) to keep the build at a couple of seconds; the other outlets' visits have
positions, times, flags, photos and audits. Large scale (10,000,000 visits) samples the detail
further to keep the database sensible: steps, stock counts, suggested order lines and competitor
notes only for a fixed 2 % of the outlets (all of their visits, so their 进销存 chains stay
whole), photos for a small set of visits (a few hundred files) plus the planted reuses, and no
audit record per visit (routes, standards, reports and audits keep theirs). See ``FieldSpec``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Brand, Sku
from jinggeng.core.errors import Conflict
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.customers.models import Account, AccountStatus, AccountType
from jinggeng.demo.progress import Reporter
from jinggeng.demo.writer import BulkWriter
from jinggeng.field import rules
from jinggeng.field.models import (
    AuditFinding,
    AuditReason,
    AuditStatus,
    CompetitorNote,
    DailyReport,
    OutletCoverage,
    PhotoKind,
    ReportStatus,
    Route,
    RouteStop,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitAudit,
    VisitCycle,
    VisitFlag,
    VisitFlagCode,
    VisitKind,
    VisitPhoto,
    VisitStandard,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.field.suggest import Observation, suggest
from jinggeng.org.models import Employee, EmployeeStatus, RoleCode

User = get_user_model()

REASON = "demo"
WORKDAYS = (1, 2, 3, 4, 5, 6)  # Monday‥Saturday
WEEKDAY_NAMES = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}
ROUTE_TYPES = (AccountType.OUTLET, AccountType.WHOLESALER, AccountType.KEY_ACCOUNT)
S = VisitStepKind

# --------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class PlantedSpec:
    """How many of each planted problem the demo writes (each on its own rep-day)."""

    far_check_in: int
    reused_photo: int
    impossible_travel: int
    short_visit: int
    outside_hours: int
    poor_accuracy: int
    missed: int  # missed once, carried over and done the next working day
    lapsed: int  # outlets missed and carried over every working day up to today
    stock_mismatch: int  # visits with one stock count above last + received (sold < 0)
    late_reports: int


@dataclass(frozen=True)
class FieldSpec:
    weeks: int  # history length; 0: as many days as ``target_visits`` needs
    target_visits: int
    detail_share: float  # share of route outlets with steps, stock counts, suggestions, notes
    photo_share: float  # share of completed visits with a (unique) photo
    random_audit_share: float
    audit_visits: bool  # one audit record per visit
    planted: PlantedSpec
    chunk: int = 100_000


FIELD_SCALES: dict[str, FieldSpec] = {
    "small": FieldSpec(
        weeks=4,
        target_visits=0,
        detail_share=0.6,
        photo_share=0.05,
        random_audit_share=0.02,
        audit_visits=True,
        planted=PlantedSpec(
            far_check_in=8,
            reused_photo=6,
            impossible_travel=6,
            short_visit=8,
            outside_hours=4,
            poor_accuracy=4,
            missed=10,
            lapsed=3,
            stock_mismatch=5,
            late_reports=12,
        ),
    ),
    "medium": FieldSpec(
        weeks=6,
        target_visits=0,
        detail_share=0.2,
        photo_share=0.002,
        random_audit_share=0.005,
        audit_visits=True,
        planted=PlantedSpec(
            far_check_in=100,
            reused_photo=30,
            impossible_travel=60,
            short_visit=100,
            outside_hours=40,
            poor_accuracy=40,
            missed=200,
            lapsed=300,
            stock_mismatch=40,
            late_reports=300,
        ),
    ),
    "large": FieldSpec(
        weeks=0,
        target_visits=10_000_000,
        detail_share=0.02,
        photo_share=0.00002,
        random_audit_share=0.0005,
        audit_visits=False,
        planted=PlantedSpec(
            far_check_in=2000,
            reused_photo=100,
            impossible_travel=1000,
            short_visit=2000,
            outside_hours=500,
            poor_accuracy=500,
            missed=3000,
            lapsed=10_000,
            stock_mismatch=100,
            late_reports=5000,
        ),
        chunk=200_000,
    ),
}

#: Rep-day plants: (kind, spare candidates per planted case). A candidate rep-day that does
#: not qualify (too few visits, no photo to reuse, no earlier stock count…) is skipped.
REP_DAY_PLANTS: tuple[tuple[str, int], ...] = (
    ("far_check_in", 3),
    ("reused_photo", 3),
    ("impossible_travel", 4),
    ("short_visit", 3),
    ("outside_hours", 3),
    ("poor_accuracy", 3),
    ("missed", 4),
    ("stock_mismatch", 12),
)

#: The planted problem each flag code stands for (the flags the rules must raise).
FLAG_OF_PLANT = {
    "far_check_in": VisitFlagCode.FAR_CHECK_IN,
    "reused_photo": VisitFlagCode.REUSED_PHOTO,
    "impossible_travel": VisitFlagCode.IMPOSSIBLE_TRAVEL,
    "short_visit": VisitFlagCode.SHORT_VISIT,
    "outside_hours": VisitFlagCode.OUTSIDE_HOURS,
    "poor_accuracy": VisitFlagCode.POOR_ACCURACY,
}
#: Audit finding recorded for a risk audit of each planted problem.
FINDING_OF_PLANT = {
    "far_check_in": AuditFinding.NOT_VISITED,
    "reused_photo": AuditFinding.FAKE_PHOTO,
    "impossible_travel": AuditFinding.NOT_VISITED,
    "stock_mismatch": AuditFinding.STOCK_MISMATCH,
    "short_visit": AuditFinding.CONFIRMED,
    "outside_hours": AuditFinding.CONFIRMED,
    "poor_accuracy": AuditFinding.CONFIRMED,
}

# code, name, account type, grade, required steps, optional steps, minutes, minimum minutes
STANDARDS: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...], int, int], ...] = (
    (
        "STD-KA",
        "KA卖场拜访标准",
        AccountType.KEY_ACCOUNT,
        "",
        (S.CARD, S.POSM, S.SHELF, S.STOCK, S.COMPETITOR, S.ORDER, S.FAREWELL),
        (),
        30,
        10,
    ),
    (
        "STD-WHOLESALE",
        "批发商拜访标准",
        AccountType.WHOLESALER,
        "",
        (S.CARD, S.STOCK, S.COMPETITOR, S.ORDER, S.FAREWELL),
        (S.SHELF,),
        20,
        8,
    ),
    (
        "STD-OUTLET-A",
        "A类门店拜访标准",
        AccountType.OUTLET,
        "A",
        (S.CARD, S.POSM, S.SHELF, S.STOCK, S.ORDER, S.FAREWELL),
        (S.COMPETITOR,),
        18,
        8,
    ),
    (
        "STD-OUTLET",
        "门店拜访标准（八步）",
        AccountType.OUTLET,
        "",
        (S.CARD, S.SHELF, S.STOCK, S.FAREWELL),
        (S.POSM, S.COMPETITOR, S.ORDER),
        12,
        5,
    ),
)
STEP_ORDER = {kind: i for i, kind in enumerate(VisitStepKind.values)}
#: Outlet visits a rep can make in a week (six days of about 27).
WEEK_CAPACITY = 160
#: Whose cycle is lengthened last when a rep has more outlets than visits (higher = later).
PRIORITY: dict[str, int] = {AccountType.KEY_ACCOUNT: 3, AccountType.WHOLESALER: 2, AccountType.OUTLET: 1}

DIRECTIONS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
COMPETITOR_NAMES = ("康师傅", "统一", "娃哈哈", "农夫山泉", "达利园", "旺旺", "盼盼", "今麦郎", "元气森林", "怡宝")
COMPETITOR_PRODUCTS = ("矿泉水550ml", "冰红茶500ml", "橙汁450ml", "苏打饼干", "薯片70g", "乌龙茶500ml", "可乐330ml")
PROMOTIONS = ("买二送一", "第二件半价", "满20减3", "堆头陈列", "赠品：钥匙扣", "", "", "店内海报", "冰柜陈列")
COMPETITOR_REMARKS = ("新品上架", "价格下调", "陈列位置好于我司", "店主反映动销快", "促销员驻店", "")
REPORT_COMMENTS = (
    "按线路完成拜访，门店陈列整体良好。",
    "部分门店断货，已建议补货。",
    "竞品促销力度较大，需关注。",
    "新品铺货进展顺利。",
    "个别门店老板不在，改日回访。",
    "冰柜陈列已整理，海报已更新。",
)
PLAN_TOMORROW = ("按线路拜访，跟进断货门店补货。", "重点检查新品陈列。", "回访今日未见老板的门店。")


def quotas_planted(spec: FieldSpec) -> dict[str, int]:
    p = spec.planted
    return {name: getattr(p, name) for name in p.__dataclass_fields__}


def field_exists() -> bool:
    return Route.objects.exists() or Visit.objects.exists()


@dataclass
class FieldResult:
    counts: dict[str, int]
    planted: dict[str, int]
    seconds: float


def field_build(
    *,
    scale: str,
    seed: int = 42,
    reporter: Reporter | None = None,
    writer: BulkWriter | None = None,
    today: dt.date | None = None,
) -> FieldResult:
    """Add the field data to the demo company in the database. Standalone (no ``writer`` given)
    it runs in its own transaction and refuses when routes or visits exist already."""
    if scale not in FIELD_SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    if not Account.objects.exists() or not User.objects.filter(username="admin").exists():
        raise Conflict(_("请先建立演示公司（jinggeng demo）再添加终端拜访数据"), code="demo_missing")
    if field_exists():
        raise Conflict(_("数据库中已有线路或拜访数据"), code="field_exists")
    started = time.monotonic()
    builder = FieldBuilder(
        FIELD_SCALES[scale], seed=seed, reporter=reporter or Reporter(), writer=writer or BulkWriter(), today=today
    )
    if writer is None:
        with transaction.atomic():
            if builder.writer.postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            builder.build()
            builder.writer.sync_sequences()
    else:
        builder.build()
    return FieldResult(counts=builder.counts(), planted=dict(builder.planted), seconds=time.monotonic() - started)


# --------------------------------------------------------------------------- the company as read


@dataclass
class StandardInfo:
    id: int
    code: str
    account_type: str
    grade: str
    channel_type_id: int | None
    required: tuple[str, ...]
    optional: tuple[str, ...]
    visit_minutes: int
    min_minutes: int


@dataclass
class SkuInfo:
    id: int
    per_case: int
    price: Decimal


@dataclass
class SkuState:
    sku: SkuInfo
    rate: float  # pieces sold per day
    retail: Decimal
    stock: int = -1  # -1: never counted
    pending: int = 0  # pieces ordered at the last visit, delivered before the next
    history: list[Observation] = field(default_factory=list)


@dataclass
class Outlet:
    id: int
    lat: float
    lng: float
    account_type: str
    grade: str
    channel_type_id: int | None
    rep: int
    unit: int
    since: dt.date  # the day the account was opened (local): no visits before it
    cycle_days: int = 7
    standard: StandardInfo | None = None
    route_id: int = 0
    order_key: int = 0
    detail: bool = False
    skus: list[SkuState] = field(default_factory=list)
    last_visited: dt.date | None = None


@dataclass
class RepInfo:
    user_id: int
    name: str
    unit: int
    supervisor: int
    # weekday → (weekly outlets, [biweekly outlets of the even week, of the odd week])
    # weekday → [(period in weeks, week offset, outlets)]: weekly (1, 0), every two weeks (2, 0|1),
    # every four weeks (4, 0‥3); the outlets run in the weeks where week index % period == offset
    days: dict[int, list[tuple[int, int, list[Outlet]]]] = field(default_factory=dict)


@dataclass
class Done:
    """A performed visit during the day's simulation."""

    vid: int
    outlet: Outlet
    lat: float
    lng: float
    out_at: dt.datetime


def _d6(value: float) -> float:
    return round(value, 6)


class FieldBuilder:
    COUNTED = {
        "visit_standards": "field.visitstandard",
        "routes": "field.route",
        "route_stops": "field.routestop",
        "coverage": "field.outletcoverage",
        "visits": "field.visit",
        "visit_flags": "field.visitflag",
        "visit_steps": "field.visitstep",
        "visit_photos": "field.visitphoto",
        "stock_counts": "field.stockcount",
        "suggested_lines": "field.suggestedorderline",
        "competitor_notes": "field.competitornote",
        "daily_reports": "field.dailyreport",
        "visit_audits": "field.visitaudit",
    }

    def __init__(
        self, spec: FieldSpec, *, seed: int, reporter: Reporter, writer: BulkWriter, today: dt.date | None = None
    ) -> None:
        self.spec = spec
        self.rng = random.Random(f"field-{seed}")
        self.report = reporter
        self.writer = writer
        self.now = timezone.now()
        self.today = today or timezone.localdate()
        self.tz = timezone.get_current_timezone()
        self.audit_rows: list[tuple[Any, ...]] = []
        self.audited = 0
        self.planted: dict[str, int] = defaultdict(int)
        self.photo_files = 0
        self.lead_days = int(settings.FIELD_ORDER_LEAD_DAYS)
        start_h, _s, start_m = str(settings.FIELD_WORK_START).partition(":")
        end_h, _s, end_m = str(settings.FIELD_WORK_END).partition(":")
        self.guard = {  # margins inside the flag rules' thresholds, see `_rep_day`
            "distance": 0.75 * float(settings.FIELD_CHECKIN_MAX_DISTANCE_M),
            "accuracy": 0.9 * float(settings.FIELD_MAX_ACCURACY_M),
            "start": int(start_h) * 3600 + int(start_m or 0) * 60 + 60,
            "end": int(end_h) * 3600 + int(end_m or 0) * 60 - 60,
            "hop": 0.5 * float(settings.FIELD_CHECKIN_MAX_DISTANCE_M),
            "speed": 0.5 * float(settings.FIELD_MAX_SPEED_KMH) / 3.6,  # metres per second
        }
        self.safety_days = int(settings.FIELD_SAFETY_DAYS)
        self._reset_rows()

    def counts(self) -> dict[str, int]:
        written = self.writer.written
        result = {name: written.get(label, 0) for name, label in self.COUNTED.items()}
        result["photo_files"] = self.photo_files
        result["field_audit_records"] = self.audited
        return result

    def _reset_rows(self) -> None:
        self.visit_rows: list[tuple[Any, ...]] = []
        self.flag_rows: list[tuple[Any, ...]] = []
        self.step_rows: list[tuple[Any, ...]] = []
        self.photo_rows: list[tuple[Any, ...]] = []
        self.stock_rows: list[tuple[Any, ...]] = []
        self.line_rows: list[tuple[Any, ...]] = []
        self.note_rows: list[tuple[Any, ...]] = []
        self.report_rows: list[tuple[Any, ...]] = []
        self.audit_visit_rows: list[tuple[Any, ...]] = []

    # -- helpers ----------------------------------------------------------------------------

    def audit(self, entity: str, entity_id: int, repr_: str, changes: dict[str, Any], *, at: Any = None) -> None:
        self.audit_rows.append(
            (
                self.writer.next_id(AuditLog),
                at or self.now,
                self.admin_id,
                AuditAction.CREATE,
                entity,
                str(entity_id),
                repr_[:255],
                {k: [None, v] for k, v in changes.items() if v not in (None, "")},
                REASON,
            )
        )
        self.audited += 1
        if len(self.audit_rows) >= 50_000:
            self.flush_audit()

    def flush_audit(self) -> None:
        self.writer.write(
            AuditLog,
            ["id", "at", "actor_id", "action", "entity", "entity_id", "entity_repr", "changes", "reason"],
            self.audit_rows,
        )
        self.audit_rows = []

    def local(self, day: dt.date, seconds: float) -> dt.datetime:
        """``seconds`` after local midnight of ``day``."""
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz) + dt.timedelta(seconds=seconds)

    def near(self, lat: float, lng: float, low_m: float, high_m: float) -> tuple[float, float]:
        """A point ``low_m``‥``high_m`` metres from (lat, lng) in a random direction."""
        rng = self.rng
        r = rng.uniform(low_m, high_m)
        a = rng.random() * 2 * math.pi
        return (
            _d6(lat + r * math.cos(a) / 111_320.0),
            _d6(lng + r * math.sin(a) / (111_320.0 * math.cos(math.radians(lat)))),
        )

    def next_workday(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while day.isoweekday() not in WORKDAYS:
            day += dt.timedelta(days=1)
        return day

    # -- entry point ------------------------------------------------------------------------

    def build(self) -> None:
        replica = self._fk_triggers_off()
        self._load()
        self._build_standards()
        self._build_routes()
        self._build_visits()
        self._build_coverage()
        self.flush_audit()
        if replica:
            self._fk_triggers_on()

    def _fk_triggers_off(self) -> bool:
        """At large scale on PostgreSQL (as a superuser), skip the per-row foreign key triggers
        for this transaction: tens of millions of deferred checks would queue in memory and run
        one by one at commit. The rows reference only ids read from the database or allocated
        here; `_fk_triggers_on` checks them in bulk afterwards."""
        if not (self.writer.postgres and self.spec.target_visits):
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if not row or not row[0]:
                return False
            cursor.execute("SET LOCAL session_replication_role = replica")
        return True

    def _fk_triggers_on(self) -> None:
        """Back to normal triggers, and the references the skipped triggers would have checked."""
        checks = (
            ("field_visit", "account_id", "customers_account"),
            ("field_visit", "rep_id", "auth_user"),
            ("field_visit", "route_id", "field_route"),
            ("field_visit", "carried_from_id", "field_visit"),
            ("field_visitflag", "visit_id", "field_visit"),
            ("field_visitstep", "visit_id", "field_visit"),
            ("field_stockcount", "visit_id", "field_visit"),
            ("field_suggestedorderline", "visit_id", "field_visit"),
            ("field_visitaudit", "visit_id", "field_visit"),
            ("field_routestop", "account_id", "customers_account"),
        )
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")
            for table, column, target in checks:
                cursor.execute(
                    f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
                    f"(SELECT 1 FROM {target} x WHERE x.id = t.{column})"
                )
                row = cursor.fetchone()
                if row and row[0]:
                    raise Conflict(f"{row[0]} rows of {table}.{column} point nowhere", code="demo_integrity")

    # -- load -------------------------------------------------------------------------------

    def _load(self) -> None:
        self.report.note(_("正在读取演示公司…"))
        self.admin_id = User.objects.filter(username="admin").values_list("pk", flat=True).first()
        employees = list(
            Employee.objects.filter(status=EmployeeStatus.ACTIVE)
            .order_by("id")
            .values_list("id", "user_id", "org_unit_id", "manager_id", "role__code", "name")
        )
        user_of = {pk: user for pk, user, *_rest in employees}
        supervisors: dict[int, list[int]] = defaultdict(list)
        for _pk, user, unit, _m, role, _n in employees:
            if role == RoleCode.SUPERVISOR:
                supervisors[unit].append(user)
        self.reps: dict[int, RepInfo] = {}
        for _pk, user, unit, manager, role, name in employees:
            if role != RoleCode.REP:
                continue
            sups = supervisors.get(unit) or ([user_of[manager]] if manager in user_of else [])
            if not sups:
                continue
            self.reps[user] = RepInfo(user, name, unit, sups[user % len(sups)])
        skus = [
            SkuInfo(pk, per_pack * packs, price)
            for pk, per_pack, packs, price in Sku.objects.filter(
                status="active", product__status="active", product__brand__is_own=True
            )
            .order_by("id")
            .values_list("id", "pieces_per_pack", "packs_per_case", "base_price")
        ]
        if not skus or not self.reps:
            raise Conflict(_("演示公司缺少产品或业务员"), code="demo_incomplete")
        self.skus = skus
        self.competitor_brands = list(
            Brand.objects.filter(is_own=False, active=True).order_by("id").values_list("id", "name")
        )
        self.outlets: dict[int, list[Outlet]] = defaultdict(list)
        rows = (
            Account.objects.filter(
                account_type__in=ROUTE_TYPES,
                status=AccountStatus.ACTIVE,
                merged_into__isnull=True,
                owner_id__in=list(self.reps),
                latitude__isnull=False,
                longitude__isnull=False,
            )
            .order_by("id")
            .values_list(
                "id", "latitude", "longitude", "account_type", "grade", "channel_type_id", "owner_id", "created_at"
            )
        )
        tz = self.tz
        for aid, lat, lng, kind, grade, channel, owner, created in rows.iterator(chunk_size=50_000):
            rep = self.reps[owner]
            self.outlets[owner].append(
                Outlet(
                    aid,
                    float(lat or 0),
                    float(lng or 0),
                    kind,
                    grade or "C",
                    channel,
                    owner,
                    rep.unit,
                    created.astimezone(tz).date(),
                )
            )
        # A company built before the demo back-dated its accounts has them all opened on the build
        # day: then the opening day says nothing, and the outlets are visited from the start.
        outlets = [o for group in self.outlets.values() for o in group]
        if sum(o.since >= self.today - dt.timedelta(days=1) for o in outlets) * 2 > len(outlets):
            for o in outlets:
                o.since = dt.date.min

    # -- standards ---------------------------------------------------------------------------

    def _build_standards(self) -> None:
        w = self.writer
        existing = {s.code: s for s in VisitStandard.objects.all()}
        rows = []
        for code, name, account_type, grade, required, optional, minutes, minimum in STANDARDS:
            if code in existing:
                continue
            sid = w.next_id(VisitStandard)
            rows.append(
                (
                    sid,
                    self.now,
                    self.now,
                    1,
                    code,
                    name,
                    account_type,
                    grade,
                    None,
                    list(required),
                    list(optional),
                    minutes,
                    minimum,
                    True,
                )
            )
            self.audit(
                "field.visitstandard",
                sid,
                name,
                {"code": code, "name": name, "account_type": account_type, "grade": grade, "required_steps": required},
            )
        w.write(
            VisitStandard,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "code",
                "name",
                "account_type",
                "grade",
                "channel_type_id",
                "required_steps",
                "optional_steps",
                "visit_minutes",
                "min_minutes",
                "active",
            ],
            rows,
        )
        self.standards = [
            StandardInfo(
                s.pk,
                s.code,
                s.account_type,
                s.grade,
                s.channel_type_id,
                tuple(s.required_steps),
                tuple(s.optional_steps),
                s.visit_minutes,
                s.min_minutes,
            )
            for s in VisitStandard.objects.filter(active=True).order_by("code")
        ]
        self._standard_cache: dict[tuple[str, str, int | None], StandardInfo | None] = {}

    def standard_for(self, outlet: Outlet) -> StandardInfo | None:
        """The most specific active standard matching the outlet (blank = any)."""
        key = (outlet.account_type, outlet.grade, outlet.channel_type_id)
        if key not in self._standard_cache:
            best, best_score = None, -1
            for s in self.standards:
                if s.account_type and s.account_type != outlet.account_type:
                    continue
                if s.grade and s.grade != outlet.grade:
                    continue
                if s.channel_type_id and s.channel_type_id != outlet.channel_type_id:
                    continue
                score = bool(s.account_type) + bool(s.grade) + bool(s.channel_type_id)
                if score > best_score:
                    best, best_score = s, score
            self._standard_cache[key] = best
        return self._standard_cache[key]

    # -- routes (七定) ------------------------------------------------------------------------

    def _build_routes(self) -> None:
        w = self.writer
        rng = self.rng
        history_start = self.today - dt.timedelta(days=7 * max(self.spec.weeks, 1))
        self.anchor = history_start - dt.timedelta(days=history_start.weekday() + 7)
        route_rows: list[tuple[Any, ...]] = []
        stop_rows: list[tuple[Any, ...]] = []
        self.report.start(_("线路"), len(self.reps))
        for rep_id, rep in self.reps.items():
            outlets = self.outlets.get(rep_id, [])
            if not outlets:
                continue
            for o in outlets:
                is_weekly = o.account_type != AccountType.OUTLET or o.grade in ("A", "B")
                o.cycle_days = 7 if is_weekly else 14
                o.standard = self.standard_for(o)
                o.detail = rng.random() < self.spec.detail_share
            # A rep visits at most WEEK_CAPACITY outlets a week: beyond it, the least important
            # outlets (grade C first, key accounts last) get a longer cycle (up to four weeks).
            load = sum(7 / o.cycle_days for o in outlets)
            by_priority = sorted(
                outlets, key=lambda o: (PRIORITY.get(o.account_type, 0), -ord(o.grade[:1] or "C"), o.id)
            )
            for _pass in range(2):
                for o in by_priority:
                    if load <= WEEK_CAPACITY:
                        break
                    if o.cycle_days < 28:
                        load -= 7 / o.cycle_days - 7 / (2 * o.cycle_days)
                        o.cycle_days *= 2
            clat = sum(o.lat for o in outlets) / len(outlets)
            clng = sum(o.lng for o in outlets) / len(outlets)
            coslat = math.cos(math.radians(clat))
            by_angle = sorted(outlets, key=lambda o: (math.atan2(o.lat - clat, (o.lng - clng) * coslat), o.id))
            total = sum(7 / o.cycle_days for o in by_angle)
            sectors: list[list[Outlet]] = [[] for _d in WORKDAYS]
            acc = 0.0
            for o in by_angle:
                load = 7 / o.cycle_days
                sectors[min(len(WORKDAYS) - 1, int((acc + load / 2) * len(WORKDAYS) / total))].append(o)
                acc += load
            order_key = 0
            for weekday, sector in zip(WORKDAYS, sectors, strict=True):
                if not sector:
                    continue
                ordered = nearest_neighbour(sector, clat, clng, coslat)
                for o in ordered:
                    order_key += 1
                    o.order_key = order_key
                mlat = sum(o.lat for o in sector) / len(sector)
                mlng = sum(o.lng for o in sector) / len(sector)
                angle = math.degrees(math.atan2(mlat - clat, (mlng - clng) * coslat))
                direction = DIRECTIONS[round(angle / 45) % 8]
                weekly = [o for o in ordered if o.cycle_days == 7]
                biweekly = [o for o in ordered if o.cycle_days == 14]
                four = [o for o in ordered if o.cycle_days == 28]
                groups: list[tuple[str, str, list[Outlet], dt.date, str]] = [
                    ("", VisitCycle.WEEKLY, weekly, self.anchor, ""),
                    ("A", VisitCycle.BIWEEKLY, biweekly[0::2], self.anchor, "单周"),
                    ("B", VisitCycle.BIWEEKLY, biweekly[1::2], self.anchor + dt.timedelta(days=7), "双周"),
                    *(
                        (
                            f"F{k + 1}",
                            VisitCycle.FOUR_WEEKLY,
                            four[k::4],
                            self.anchor + dt.timedelta(days=7 * k),
                            f"四周第{k + 1}周",
                        )
                        for k in range(4)
                    ),
                ]
                rep.days[weekday] = [
                    (1, 0, weekly),
                    (2, 0, biweekly[0::2]),
                    (2, 1, biweekly[1::2]),
                    *((4, k, four[k::4]) for k in range(4)),
                ]
                for suffix, cycle, members, anchor, label in groups:
                    if not members:
                        continue
                    rid = w.next_id(Route)
                    code = f"XL{rep_id:06d}-{weekday}{suffix}"
                    name = f"{rep.name} 周{WEEKDAY_NAMES[weekday]}{label}线"
                    area = f"城{direction}片区"
                    route_rows.append(
                        (
                            rid,
                            self.now,
                            self.now,
                            1,
                            code,
                            name,
                            rep_id,
                            rep.unit,
                            area,
                            cycle,
                            [weekday],
                            anchor,
                            "08:30:00",  # TimeField: bulk_insert passes values through as given
                            "18:00:00",
                            None,
                            Decimal(f"{clat:.6f}"),
                            Decimal(f"{clng:.6f}"),
                            True,
                            "",
                        )
                    )
                    self.audit(
                        "field.route",
                        rid,
                        f"{code} {name}",
                        {"code": code, "name": name, "rep": rep_id, "cycle": cycle, "weekdays": [weekday]},
                    )
                    for position, o in enumerate(members, start=1):
                        o.route_id = rid
                        stop_rows.append((w.next_id(RouteStop), rid, o.id, position, None, None, None))
            if len(stop_rows) >= 50_000:
                self._flush_routes(route_rows, stop_rows)
                route_rows, stop_rows = [], []
            self.report.advance(1)
        self._flush_routes(route_rows, stop_rows)
        self.report.finish()

    def _flush_routes(self, route_rows: list[tuple[Any, ...]], stop_rows: list[tuple[Any, ...]]) -> None:
        w = self.writer
        w.write(
            Route,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "code",
                "name",
                "rep_id",
                "org_unit_id",
                "area",
                "cycle",
                "weekdays",
                "anchor_date",
                "start_time",
                "end_time",
                "standard_id",
                "start_latitude",
                "start_longitude",
                "active",
                "notes",
            ],
            route_rows,
        )
        w.write(
            RouteStop,
            ["id", "route_id", "account_id", "position", "visit_minutes", "window_start", "window_end"],
            stop_rows,
        )
        self.flush_audit()

    def stops_on(self, rep: RepInfo, day: dt.date) -> list[Outlet]:
        """The rep's route outlets due on ``day``, in the day's order."""
        found = rep.days.get(day.isoweekday())
        if not found:
            return []
        week = (day - self.anchor).days // 7
        due = [o for period, offset, members in found if week % period == offset for o in members if o.since <= day]
        return sorted(due, key=lambda o: o.order_key)

    # -- visits -------------------------------------------------------------------------------

    def _history_days(self) -> list[dt.date]:
        yesterday = self.today - dt.timedelta(days=1)
        if self.spec.weeks:
            first = self.today - dt.timedelta(days=7 * self.spec.weeks)
        else:
            # As many days back as the target number of visits needs.
            per_weekday: dict[tuple[int, int], int] = defaultdict(int)
            for rep in self.reps.values():
                for weekday, groups in rep.days.items():
                    for week in range(4):
                        per_weekday[(weekday, week)] += sum(
                            len(members) for period, offset, members in groups if week % period == offset
                        )
            total, first = 0, yesterday
            day = yesterday
            while total < self.spec.target_visits and day > yesterday - dt.timedelta(days=3660):
                if day.isoweekday() in WORKDAYS:
                    total += per_weekday[(day.isoweekday(), ((day - self.anchor).days // 7) % 4)]
                    first = day
                day -= dt.timedelta(days=1)
            if first - dt.timedelta(days=7) < self.anchor:
                self.anchor = first - dt.timedelta(days=first.weekday() + 28)
                self._reanchor()
        days = []
        day = first
        while day <= yesterday:
            if day.isoweekday() in WORKDAYS:
                days.append(day)
            day += dt.timedelta(days=1)
        return days

    def _reanchor(self) -> None:
        """Routes were written with the provisional anchor: move their anchors (large scale)."""
        Route.objects.filter(cycle=VisitCycle.WEEKLY).update(anchor_date=self.anchor)
        Route.objects.filter(cycle=VisitCycle.BIWEEKLY, code__endswith="A").update(anchor_date=self.anchor)
        Route.objects.filter(cycle=VisitCycle.BIWEEKLY, code__endswith="B").update(
            anchor_date=self.anchor + dt.timedelta(days=7)
        )
        for k in range(4):
            Route.objects.filter(cycle=VisitCycle.FOUR_WEEKLY, code__endswith=f"F{k + 1}").update(
                anchor_date=self.anchor + dt.timedelta(days=7 * k)
            )

    def _choose_plants(self, days: list[dt.date]) -> None:
        """Candidate rep-days per planted kind (disjoint), lapsed outlets and late reports."""
        rng = self.rng
        rep_ids = [r for r in self.reps if self.reps[r].days]
        grid = [(r, i) for i in range(len(days)) for r in rep_ids]
        wanted = sum(getattr(self.spec.planted, kind) * spare for kind, spare in REP_DAY_PLANTS)
        chosen = rng.sample(grid, min(len(grid), wanted))
        self.candidates: dict[tuple[int, dt.date], str] = {}
        at = 0
        for kind, spare in REP_DAY_PLANTS:
            n = getattr(self.spec.planted, kind) * spare
            for rep_id, i in chosen[at : at + n]:
                self.candidates[(rep_id, days[i])] = kind
            at += n
        self.quota = {kind: getattr(self.spec.planted, kind) for kind, _s in REP_DAY_PLANTS}
        # Lapsed outlets: weekly outlets whose route day fell within the last six days.
        recent = {d.isoweekday(): d for d in days[-6:]} if days else {}
        pool = [
            (o, recent[wd])
            for rep in self.reps.values()
            for wd, groups in sorted(rep.days.items())
            if wd in recent
            for o in groups[0][2]  # the weekly outlets, visited the week before
            if o.since <= recent[wd] - dt.timedelta(days=7)
        ]
        pool.sort(key=lambda p: p[0].id)
        self.lapsed: dict[int, dt.date] = {
            o.id: d for o, d in rng.sample(pool, min(len(pool), self.spec.planted.lapsed))
        }
        late_pool = [(r, d) for r in rep_ids for d in days[:-1]]
        self.late_reports = set(rng.sample(late_pool, min(len(late_pool), self.spec.planted.late_reports)))

    def _build_visits(self) -> None:
        days = self._history_days()
        self._choose_plants(days)
        self.seen_photos: dict[str, int] = {}  # sha256 → photo id
        self.carry: dict[tuple[int, dt.date], list[tuple[Outlet, int, dt.date, bool]]] = defaultdict(list)
        self.previous: dict[int, rules.PreviousVisit] = {}
        self.photo_meta: dict[int, tuple[str, int]] = {}
        self.photo_seq = 0
        expected = sum(len(self.stops_on(rep, d)) for d in days[-1:] for rep in self.reps.values()) * len(days)
        self.report.start(_("拜访"), max(expected, 1))
        for day in days:
            for rep in self.reps.values():
                if rep.days or self.carry.get((rep.user_id, day)):
                    self._rep_day(rep, day)
            if len(self.visit_rows) >= self.spec.chunk:
                self._flush_visits()
        left = {k: v for k, v in self.quota.items() if v}
        if left:
            raise Conflict(f"could not plant {left}", code="demo_plants")
        # Today: the planned visits of every rep, and the visits carried over to today.
        today = self.today
        plan_day = today if today.isoweekday() in WORKDAYS else self.next_workday(today)
        for rep in self.reps.values():
            self._plan_today(rep, plan_day, today)
        self._flush_visits()
        self.report.finish()

    def _plan_today(self, rep: RepInfo, day: dt.date, today: dt.date) -> None:
        carried = self.carry.pop((rep.user_id, today), []) + (
            self.carry.pop((rep.user_id, day), []) if day != today else []
        )
        stops = self.stops_on(rep, day) if day == today else []
        for position, o in enumerate(stops, start=1):
            self._visit_row(o, day, day, VisitStatus.PLANNED, position=position)
        for o, from_id, planned, _lapsed in carried:
            self._visit_row(o, day, planned, VisitStatus.PLANNED, carried_from=from_id)

    def _visit_row(
        self,
        o: Outlet,
        day: dt.date,
        planned: dt.date,
        status: str,
        *,
        position: int | None = None,
        carried_from: int | None = None,
    ) -> int:
        vid = self.writer.next_id(Visit)
        created = min(self.local(planned, 6 * 3600), self.now)
        self.visit_rows.append(
            (
                vid,
                created,
                created,
                1,
                o.id,
                o.rep,
                o.unit,
                o.route_id or None,
                VisitKind.PLANNED,
                status,
                day,
                planned,
                position,
                None,
                carried_from,
                o.standard.id if o.standard else None,
                *([None] * 12),
                0,
                None,
                "",
                None,
            )
        )
        if self.spec.audit_visits:
            self.audit("field.visit", vid, f"{day} {o.id}", {"account": o.id, "rep": o.rep, "status": status})
        return vid

    def _carry(self, o: Outlet, vid: int, planned_on: dt.date, missed_on: dt.date, *, lapsed: bool) -> None:
        """The missed visit ``vid`` is carried over to the rep's next working day."""
        self.carry[(o.rep, self.next_workday(missed_on))].append((o, vid, planned_on, lapsed))

    def _rep_day(self, rep: RepInfo, day: dt.date) -> None:
        rng = self.rng
        key = (rep.user_id, day)
        plant = self.candidates.get(key)
        if plant is not None and self.quota.get(plant, 0) <= 0:
            plant = None
        yesterday = self.today - dt.timedelta(days=1)
        self.fig: dict[str, Any] = {"stockouts": 0, "stockout_outlets": set(), "notes": 0}
        self.previous.pop(rep.user_id, None)  # travel is measured within a day, as the services do
        # (outlet, planned position, carried from, planned date)
        planned: list[tuple[Outlet, int | None, int | None, dt.date]] = []
        missed = 0
        for number, o in enumerate(self.stops_on(rep, day), start=1):
            if self.lapsed.get(o.id) == day:
                vid = self._visit_row(o, day, day, VisitStatus.MISSED, position=number)
                self._carry(o, vid, day, day, lapsed=True)
                missed += 1
                self.planted["lapsed_missed_rows"] += 1
                continue
            planned.append((o, number, None, day))
        for o, from_id, planned_on, lapsed in self.carry.pop(key, []):
            if lapsed:
                vid = self._visit_row(o, day, planned_on, VisitStatus.MISSED, carried_from=from_id)
                self._carry(o, vid, planned_on, day, lapsed=True)
                missed += 1
                self.planted["lapsed_missed_rows"] += 1
            else:
                planned.append((o, None, from_id, planned_on))
        if plant == "missed":
            regular = [i for i, p in enumerate(planned) if p[1] is not None]
            if regular and self.next_workday(day) <= yesterday:
                o, position, _c, planned_on = planned.pop(rng.choice(regular))
                vid = self._visit_row(o, day, planned_on, VisitStatus.MISSED, position=position)
                self._carry(o, vid, planned_on, day, lapsed=False)
                missed += 1
                self.quota["missed"] -= 1
                self.planted["missed"] += 1
            plant = None
        if not planned:
            if missed:
                self._daily_report(rep, day, planned=missed, done=0, missed=missed, flagged=0, flags=0, last_out=None)
            return
        # The order actually walked: the plan, with an adjacent pair swapped now and then.
        visits = list(planned)
        if len(visits) > 3 and rng.random() < 0.1:
            i = rng.randrange(len(visits) - 1)
            visits[i], visits[i + 1] = visits[i + 1], visits[i]
        n = len(visits)
        special: dict[int, str] = {}
        if plant in ("far_check_in", "short_visit", "poor_accuracy"):
            special[rng.randrange(n)] = plant
        elif plant == "outside_hours":
            special[0] = plant
        elif plant == "reused_photo" and n >= 2:
            special[rng.randrange(1, n)] = plant
        reuse = "reused_photo" in special.values()

        # Positions: check-in and check-out a few metres from the outlet (the planted far
        # check-in: 450‥2500 m away, and the check-out beside it).
        pos: list[tuple[float, float, float, float, float, float]] = []
        for i, (o, *_rest) in enumerate(visits):
            kind = special.get(i)
            if kind == "far_check_in":
                lat, lng = self.near(o.lat, o.lng, 450, 2500)
                olat, olng = self.near(lat, lng, 3, 30)
            else:
                lat, lng = self.near(o.lat, o.lng, 3, 60)
                olat, olng = self.near(o.lat, o.lng, 3, 60)
            acc = rng.uniform(150, 600) if kind == "poor_accuracy" else rng.uniform(5, 40)
            pos.append((lat, lng, acc, olat, olng, rng.uniform(5, 40)))
        hops = [0.0] + [rules.distance_m(pos[i - 1][0], pos[i - 1][1], pos[i][0], pos[i][1]) for i in range(1, n)]
        impossible_at = -1
        if plant == "impossible_travel" and n >= 2:
            best = max(range(1, n), key=lambda i: hops[i])
            if hops[best] >= 700:
                impossible_at = best
                special[best] = plant

        # Times: travel gaps from the distances (≤ 16 km/h on the map), visit lengths from the
        # standard, all inside the working day; the planted cases break exactly one of these.
        early = special.get(0) == "outside_hours"
        start = (
            rng.uniform(7 * 3600 + 10 * 60, 7 * 3600 + 40 * 60)
            if early
            else rng.uniform(8 * 3600 + 15 * 60, 8 * 3600 + 50 * 60)
        )
        gaps: list[float] = []
        gap_floors: list[float] = []
        lengths: list[float] = []
        floors: list[float] = []
        for i, (o, *_rest) in enumerate(visits):
            travel = 0.0 if i == 0 else 90 + hops[i] * 1.35 / (22 / 3.6) + rng.uniform(0, 240)
            if i == impossible_at:
                travel = hops[i] / (rng.uniform(150, 300) / 3.6)
            minimum, typical = (o.standard.min_minutes, o.standard.visit_minutes) if o.standard else (5, 15)
            if special.get(i) == "short_visit":
                length = rng.uniform(40, max(60, minimum * 60 - 50))
                floors.append(length)
            else:
                length = rng.uniform((minimum + 2) * 60, (max(typical, minimum + 2) + 6) * 60)
                floors.append((minimum + 1) * 60)
            gaps.append(travel)
            gap_floors.append(travel if i in (0, impossible_at) else 30 + hops[i] / (40 / 3.6))
            lengths.append(length)
        if early and n >= 2:  # only the first visit is before working hours: the next waits
            floors[0] = lengths[0]
            gaps[1] = gap_floors[1] = max(gaps[1], 8 * 3600 + 5 * 60 - start - lengths[0])
        end_limit = 18 * 3600 + 40 * 60
        over = start + sum(gaps) + sum(lengths) - end_limit
        if over > 0 and not early:  # a long day starts early
            start_before, start = start, 8 * 3600 + 5 * 60
            over -= start_before - start
        if over > 0:  # shorten visits and travel (never below their floors) to end the day in time
            spare = sum(a - b for a, b in zip(lengths, floors, strict=True)) + sum(
                a - b for a, b in zip(gaps, gap_floors, strict=True)
            )
            if spare > 0:
                cut = min(1.0, over / spare)
                lengths = [a - (a - b) * cut for a, b in zip(lengths, floors, strict=True)]
                gaps = [a - (a - b) * cut for a, b in zip(gaps, gap_floors, strict=True)]

        reuse_source: tuple[int, str, int] | None = None
        t = start
        flagged = flag_total = 0
        last_out = None
        mismatch = plant == "stock_mismatch"
        midnight = self.local(day, 0)
        g = self.guard
        for i, (o, position, carried_from, planned_on) in enumerate(visits):
            t += gaps[i]
            t_in = t
            check_in = midnight + dt.timedelta(seconds=t)
            t += lengths[i]
            check_out = midnight + dt.timedelta(seconds=t)
            last_out = check_out
            lat, lng, acc, olat, olng, oacc = pos[i]
            vid = self.writer.next_id(Visit)
            distance = rules.distance_m(lat, lng, o.lat, o.lng)
            min_minutes = o.standard.min_minutes if o.standard else None
            flags: dict[str, dict[str, Any]] = {}
            # The real rules decide every flag; they run where any figure comes near a threshold
            # (a cheap, conservative pre-check: the other visits are far inside every limit).
            if (
                distance > g["distance"]
                or acc > g["accuracy"]
                or oacc > g["accuracy"]
                or t_in < g["start"]
                or t > g["end"]
                or lengths[i] < (min_minutes or 0) * 60 + 30
                or (i and hops[i] > g["hop"] and hops[i] / max(gaps[i], 1.0) > g["speed"])
            ):
                hits = rules.check_in_flags(
                    lat=lat,
                    lng=lng,
                    accuracy_m=acc,
                    at=check_in,
                    outlet_lat=o.lat,
                    outlet_lng=o.lng,
                    previous=self.previous.get(rep.user_id),
                ) + rules.check_out_flags(
                    check_in_at=check_in, check_out_at=check_out, accuracy_m=oacc, min_minutes=min_minutes
                )
                for hit in hits:
                    flags.setdefault(hit.code, hit.detail)
            self.previous[rep.user_id] = rules.PreviousVisit(vid, lat, lng, check_out)
            # Photos: a unique one now and then; the planted reuse copies the day's first one.
            want_photo = rng.random() < self.spec.photo_share or (reuse and i == 0)
            if want_photo:
                pid, sha = self._photo(vid, day, check_in, check_out)
                if reuse and i == 0:
                    reuse_source = (pid, sha, vid)
            if special.get(i) == "reused_photo":
                assert reuse_source is not None
                src_pid, sha, src_vid = reuse_source
                pid = self._photo_copy(vid, day, src_pid, sha, check_in, check_out)
                flags[VisitFlagCode.REUSED_PHOTO.value] = {
                    "photo_id": pid,
                    "reused_from": src_pid,
                    "other_visit_id": src_vid,
                }
            for code, detail in flags.items():
                self.flag_rows.append((self.writer.next_id(VisitFlag), vid, code, detail, check_out))
            if flags:
                flagged += 1
                flag_total += len(flags)
            self.visit_rows.append(
                (
                    vid,
                    self.local(planned_on, 6 * 3600),
                    check_out + dt.timedelta(seconds=20),
                    3,
                    o.id,
                    rep.user_id,
                    o.unit,
                    o.route_id or None,
                    VisitKind.PLANNED,
                    VisitStatus.COMPLETED,
                    day,
                    planned_on,
                    position,
                    i + 1,
                    carried_from,
                    o.standard.id if o.standard else None,
                    check_in + dt.timedelta(seconds=rng.uniform(1, 20)),
                    check_in,
                    lat,
                    lng,
                    round(acc, 1),
                    round(distance, 1),
                    check_out + dt.timedelta(seconds=rng.uniform(1, 20)),
                    check_out,
                    olat,
                    olng,
                    round(oacc, 1),
                    int((check_out - check_in).total_seconds()),
                    len(flags),
                    None,
                    "",
                    None,
                )
            )
            if self.spec.audit_visits:
                self.audit(
                    "field.visit",
                    vid,
                    f"{day} {o.id}",
                    {"account": o.id, "rep": rep.user_id, "status": VisitStatus.COMPLETED},
                    at=check_out,
                )
            kind = special.get(i)
            if o.detail and self._detail(vid, o, rep, day, check_in, check_out, mismatch=mismatch):
                mismatch = False
                kind = "stock_mismatch"
                self.quota["stock_mismatch"] -= 1
                self.planted["stock_mismatch"] += 1
            o.last_visited = day
            self._audit_visit(vid, rep, day, kind, len(flags))
        for kind in set(special.values()):
            self.quota[kind] -= 1
            self.planted[kind] += 1
        self.report.advance(n)
        self._daily_report(
            rep,
            day,
            planned=n + missed,
            done=n,
            missed=missed,
            flagged=flagged,
            flags=flag_total,
            last_out=last_out,
        )

    # -- what a visit records -----------------------------------------------------------------

    def _detail(
        self,
        vid: int,
        o: Outlet,
        rep: RepInfo,
        day: dt.date,
        check_in: dt.datetime,
        check_out: dt.datetime,
        *,
        mismatch: bool,
    ) -> bool:
        """Steps, stock counts (进销存), suggested order lines and competitor notes of a visit.
        Returns True when the planted stock mismatch was written here."""
        rng = self.rng
        std = o.standard
        required = std.required if std else (S.CARD, S.STOCK, S.FAREWELL)
        optional = std.optional if std else ()
        steps = set(required) | {k for k in optional if rng.random() < (0.3 if k == S.COMPETITOR else 0.6)}
        if not o.skus:
            rate_range = {"A": (2.0, 6.0), "B": (1.0, 3.5), "C": (0.3, 1.8)}.get(o.grade, (0.5, 2.0))
            if o.account_type != AccountType.OUTLET:
                rate_range = (rate_range[0] * 3, rate_range[1] * 4)
            for sku in rng.sample(self.skus, min(len(self.skus), rng.randint(2, 5))):
                retail = (sku.price * Decimal(str(round(rng.uniform(1.15, 1.4), 2)))).quantize(
                    Decimal("0.1"), rounding=ROUND_HALF_UP
                )
                o.skus.append(SkuState(sku, rng.uniform(*rate_range), retail))
        planted = False
        ordered = S.ORDER in steps and S.STOCK in steps
        if S.STOCK not in steps:
            steps.discard(S.ORDER)
        else:
            lines = 0
            for st in o.skus:
                received = st.pending
                st.pending = 0
                if st.stock < 0:
                    current, received = max(0, round(st.rate * rng.uniform(4, 12))), 0
                else:
                    days = (day - st.history[-1].day).days
                    available = st.stock + received
                    current = available - min(available, round(st.rate * days * rng.uniform(0.5, 1.5)))
                    if mismatch and not planted:
                        current = available + rng.randint(3, 12)
                        planted = True
                st.stock = current
                st.history.append(Observation(day=day, stock=current, received=received))
                del st.history[:-4]
                if current == 0:
                    self.fig["stockouts"] += 1
                    self.fig["stockout_outlets"].add(o.id)
                self.stock_rows.append(
                    (
                        self.writer.next_id(StockCount),
                        vid,
                        o.id,
                        st.sku.id,
                        day,
                        current,
                        received,
                        rng.randint(1, 4),
                        st.retail,
                    )
                )
                s = suggest(
                    st.history,
                    days_to_next_visit=o.cycle_days,
                    lead_days=self.lead_days,
                    safety_days=self.safety_days,
                    unit_pieces=st.sku.per_case,
                )
                accepted = None
                if ordered:
                    accepted = s.quantity if rng.random() < 0.85 else max(0, s.quantity - 1)
                    st.pending = accepted * st.sku.per_case
                    lines += 1
                self.line_rows.append(
                    (
                        self.writer.next_id(SuggestedOrderLine),
                        vid,
                        st.sku.id,
                        current,
                        s.rate_decimal,
                        o.cycle_days,
                        self.lead_days,
                        s.safety_stock,
                        s.need_pieces,
                        "case",
                        s.quantity,
                        accepted,
                        {k: v for k, v in s.inputs().items() if k != "intervals"},
                    )
                )
        notes = 0
        if S.COMPETITOR in steps:
            for _i in range(rng.choice((1, 1, 2))):
                if self.competitor_brands and rng.random() < 0.4:
                    brand_id, brand_name = rng.choice(self.competitor_brands)
                else:
                    brand_id, brand_name = None, rng.choice(COMPETITOR_NAMES)
                self.note_rows.append(
                    (
                        self.writer.next_id(CompetitorNote),
                        vid,
                        o.id,
                        rep.user_id,
                        o.unit,
                        day,
                        brand_id,
                        brand_name,
                        f"{brand_name}{rng.choice(COMPETITOR_PRODUCTS)}",
                        Decimal(rng.randrange(3, 25)) / 2,
                        rng.choice(PROMOTIONS),
                        rng.choice(COMPETITOR_REMARKS),
                        check_out,
                    )
                )
                notes += 1
            self.fig["notes"] += notes
        kinds = sorted(steps, key=STEP_ORDER.__getitem__)
        span = (check_out - check_in) / (len(kinds) + 1)
        for j, kind in enumerate(kinds, start=1):
            data: dict[str, Any] = {}
            if kind == S.POSM:
                data = {"posters": rng.random() < 0.8, "posm_ok": rng.random() < 0.85}
            elif kind == S.SHELF:
                data = {"tidy": True, "facings": sum(1 for _s in o.skus) * 2}
            elif kind == S.STOCK:
                data = {"skus": len(o.skus)}
            elif kind == S.COMPETITOR:
                data = {"notes": notes}
            elif kind == S.ORDER:
                data = {"lines": len(o.skus)}
            self.step_rows.append((self.writer.next_id(VisitStep), vid, kind, check_in + span * j, data, ""))
        return planted

    def _image(self, rng: random.Random) -> bytes:
        """A small shelf picture: three shelves of coloured packs (a few KB as JPEG)."""
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (96, 72), (rng.randrange(200, 256), rng.randrange(200, 256), rng.randrange(200, 256)))
        draw = ImageDraw.Draw(img)
        for shelf in range(3):
            y = 4 + shelf * 23
            draw.rectangle((0, y + 18, 95, y + 20), fill=(120, 90, 60))
            x = 2
            while x < 92:
                w = rng.randrange(5, 12)
                colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
                draw.rectangle((x, y + rng.randrange(0, 7), min(95, x + w - 1), y + 17), fill=colour)
                x += w + 1
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=80)
        return buffer.getvalue()

    def _photo(self, vid: int, day: dt.date, check_in: dt.datetime, check_out: dt.datetime) -> tuple[int, str]:
        """A new photo with content no other photo has, written through the default storage."""
        while True:
            self.photo_seq += 1
            content = self._image(random.Random(f"{self.rng.random()}-{self.photo_seq}"))
            sha = hashlib.sha256(content).hexdigest()
            if sha not in self.seen_photos:
                break
        name = f"visits/{day:%Y/%m}/{sha[:32]}.jpg"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(content))
        self.photo_files += 1
        pid = self.writer.next_id(VisitPhoto)
        self.seen_photos[sha] = pid
        self.photo_meta[pid] = (name, len(content))
        kind = self.rng.choices((PhotoKind.SHELF, PhotoKind.STOREFRONT, PhotoKind.POSM), (7, 2, 1))[0]
        self._photo_row(pid, vid, kind, name, sha, len(content), check_in, check_out, None)
        return pid, sha

    def _photo_copy(
        self, vid: int, day: dt.date, src_pid: int, sha: str, check_in: dt.datetime, check_out: dt.datetime
    ) -> int:
        name, size = self.photo_meta[src_pid]
        pid = self.writer.next_id(VisitPhoto)
        self._photo_row(pid, vid, PhotoKind.SHELF, name, sha, size, check_in, check_out, src_pid)
        return pid

    def _photo_row(
        self,
        pid: int,
        vid: int,
        kind: str,
        name: str,
        sha: str,
        size: int,
        check_in: dt.datetime,
        check_out: dt.datetime,
        reused_from: int | None,
    ) -> None:
        taken = check_in + (check_out - check_in) * self.rng.uniform(0.2, 0.8)
        uploaded = taken + dt.timedelta(seconds=self.rng.uniform(3, 60))
        self.photo_rows.append(
            (pid, vid, kind, name, sha, size, 96, 72, "image/jpeg", taken, uploaded, reused_from, None)
        )

    # -- audits and daily reports ---------------------------------------------------------------

    def _audit_visit(self, vid: int, rep: RepInfo, day: dt.date, plant: str | None, flags: int) -> None:
        rng = self.rng
        if plant is not None or flags:
            reason, finding = AuditReason.RISK, FINDING_OF_PLANT.get(plant or "", AuditFinding.CONFIRMED)
            done = True
        elif rng.random() < self.spec.random_audit_share:
            reason, finding = AuditReason.RANDOM, AuditFinding.CONFIRMED
            done = day <= self.today - dt.timedelta(days=3)
        else:
            return
        aid = self.writer.next_id(VisitAudit)
        created = self.local(day, 20 * 3600 + rng.uniform(0, 3000))
        done_at = min(self.local(day + dt.timedelta(days=1), rng.uniform(9.5 * 3600, 17 * 3600)), self.now)
        done_at = max(done_at, created)
        notes = (
            {
                AuditFinding.NOT_VISITED: "电话回访店主，当日未见业务员到店。",
                AuditFinding.FAKE_PHOTO: "照片与其他门店拜访照片相同。",
                AuditFinding.STOCK_MISMATCH: "复盘库存与上报不符。",
            }.get(finding, "复核属实。")
            if done
            else ""
        )
        self.audit_visit_rows.append(
            (
                aid,
                created,
                done_at if done else created,
                2 if done else 1,
                vid,
                rep.user_id,
                rep.unit,
                rep.supervisor,
                reason,
                float(flags) + (1.0 if plant == "stock_mismatch" else 0.0),
                AuditStatus.DONE if done else AuditStatus.ASSIGNED,
                finding if done else "",
                notes,
                done_at if done else None,
            )
        )
        self.audit(
            "field.visitaudit",
            aid,
            f"{vid} {reason}",
            {"visit": vid, "supervisor": rep.supervisor, "reason": reason},
            at=created,
        )

    def _daily_report(
        self,
        rep: RepInfo,
        day: dt.date,
        *,
        planned: int,
        done: int,
        missed: int,
        flagged: int,
        flags: int,
        last_out: dt.datetime | None,
    ) -> None:
        rng = self.rng
        rid = self.writer.next_id(DailyReport)
        hour, _sep, minute = str(settings.FIELD_REPORT_DEADLINE).partition(":")
        deadline = self.local(day, int(hour) * 3600 + int(minute or 0) * 60)
        if (rep.user_id, day) in self.late_reports:
            submitted = self.local(day + dt.timedelta(days=1), rng.uniform(8 * 3600, 9.5 * 3600))
        else:
            earliest = max(self.local(day, 18.5 * 3600), (last_out or deadline) + dt.timedelta(minutes=10))
            submitted = min(earliest + dt.timedelta(minutes=rng.uniform(0, 80)), deadline - dt.timedelta(minutes=5))
        submitted = min(submitted, self.now)
        late = submitted > deadline
        if late:
            self.planted["late_reports"] += 1
        figures = {
            "visits_planned": planned,
            "visits_done": done,
            "planned_done": done,
            "ad_hoc_done": 0,
            "visits_missed": missed,
            "flagged_visits": flagged,
            "flags": flags,
            "orders": 0,
            "order_amount": "0.00",
            "stockouts": self.fig["stockouts"],
            "stockout_outlets": len(self.fig["stockout_outlets"]),
            "competitor_notes": self.fig["notes"],
            "new_outlets": 0,
            "audit_problems": 0,
        }
        self.report_rows.append(
            (
                rid,
                submitted,
                submitted,
                1,
                rep.user_id,
                rep.unit,
                day,
                ReportStatus.SUBMITTED,
                figures,
                rng.choice(REPORT_COMMENTS),
                rng.choice(PLAN_TOMORROW),
                deadline,
                submitted,
                late,
            )
        )
        self.audit(
            "field.dailyreport", rid, f"{rep.name} {day}", {"rep": rep.user_id, "day": day.isoformat()}, at=submitted
        )

    # -- writing ------------------------------------------------------------------------------

    def _flush_visits(self) -> None:
        w = self.writer
        w.write(Visit, VISIT_COLUMNS, self.visit_rows)
        w.write(VisitFlag, ["id", "visit_id", "code", "detail", "created_at"], self.flag_rows)
        w.write(VisitStep, ["id", "visit_id", "kind", "done_at", "data", "notes"], self.step_rows)
        w.write(
            VisitPhoto,
            [
                "id",
                "visit_id",
                "kind",
                "file",
                "sha256",
                "size",
                "width",
                "height",
                "content_type",
                "taken_at",
                "uploaded_at",
                "reused_from_id",
                "client_key",
            ],
            self.photo_rows,
        )
        w.write(
            StockCount,
            ["id", "visit_id", "account_id", "sku_id", "counted_on", "stock", "received", "facings", "price_seen"],
            self.stock_rows,
        )
        w.write(
            SuggestedOrderLine,
            [
                "id",
                "visit_id",
                "sku_id",
                "stock",
                "daily_rate",
                "days_to_next_visit",
                "lead_time_days",
                "safety_stock",
                "suggested_pieces",
                "unit",
                "suggested_qty",
                "accepted_qty",
                "inputs",
            ],
            self.line_rows,
        )
        w.write(
            CompetitorNote,
            [
                "id",
                "visit_id",
                "account_id",
                "rep_id",
                "org_unit_id",
                "seen_on",
                "brand_id",
                "brand_name",
                "product",
                "price",
                "promotion",
                "notes",
                "created_at",
            ],
            self.note_rows,
        )
        w.write(
            DailyReport,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "rep_id",
                "org_unit_id",
                "day",
                "status",
                "figures",
                "comments",
                "plan_tomorrow",
                "deadline_at",
                "submitted_at",
                "late",
            ],
            self.report_rows,
        )
        w.write(
            VisitAudit,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "visit_id",
                "rep_id",
                "org_unit_id",
                "supervisor_id",
                "reason",
                "risk_score",
                "status",
                "finding",
                "notes",
                "done_at",
            ],
            self.audit_visit_rows,
        )
        self.flush_audit()
        self._reset_rows()

    def _build_coverage(self) -> None:
        rows = []
        for outlets in self.outlets.values():
            for o in outlets:
                if not o.route_id:
                    continue
                due = o.last_visited + dt.timedelta(days=o.cycle_days) if o.last_visited else self.today
                rows.append((o.id, o.route_id, o.rep, o.unit, o.cycle_days, o.last_visited, due))
                if len(rows) >= 100_000:
                    self._write_coverage(rows)
                    rows = []
        self._write_coverage(rows)

    def _write_coverage(self, rows: list[tuple[Any, ...]]) -> None:
        self.writer.write(
            OutletCoverage,
            ["account_id", "route_id", "rep_id", "org_unit_id", "cycle_days", "last_visited_on", "due_on"],
            rows,
        )


VISIT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "account_id",
    "rep_id",
    "org_unit_id",
    "route_id",
    "kind",
    "status",
    "visit_date",
    "planned_date",
    "planned_position",
    "actual_position",
    "carried_from_id",
    "standard_id",
    "check_in_at",
    "check_in_device_at",
    "check_in_latitude",
    "check_in_longitude",
    "check_in_accuracy_m",
    "check_in_distance_m",
    "check_out_at",
    "check_out_device_at",
    "check_out_latitude",
    "check_out_longitude",
    "check_out_accuracy_m",
    "duration_seconds",
    "flag_count",
    "order_id",
    "notes",
    "client_key",
)


def nearest_neighbour(outlets: Iterable[Outlet], lat: float, lng: float, coslat: float) -> list[Outlet]:
    """Outlets in nearest-neighbour order from (lat, lng) (planar distances, fine in a city)."""
    left = [(o.lng * coslat, o.lat, o) for o in outlets]
    x, y = lng * coslat, lat
    ordered: list[Outlet] = []
    while left:
        best = min(range(len(left)), key=lambda i: (left[i][0] - x) ** 2 + (left[i][1] - y) ** 2)
        x, y, o = left.pop(best)
        ordered.append(o)
    return ordered


__all__ = ["FIELD_SCALES", "FieldBuilder", "FieldResult", "field_build", "field_exists", "quotas_planted"]
