"""The demo company's sales process and order to cash: leads, opportunities with stage history
and lines, activities, price lists, contracts, approval rules, sales orders in every state with
lines and transitions, payment receipts with allocations, and so receivables of every age.

It reads the company the account builder wrote (reps, managers, accounts, SKUs) from the
database, so it runs both at the end of `demo_build` and on its own on a company built earlier
(`jinggeng demo --scale large --only sales`). Everything comes from one ``random.Random`` seeded
from the demo seed and the accounts in id order: the same company and seed give the same sales
data. State mixes are exact quotas (see ``*_SHARES``), shuffled, so each state has a known count.
Rows are streamed in chunks through `BulkWriter` (COPY on PostgreSQL), with one audit record per
business record (not per line, stage change or transition: those are history themselves).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Sku
from jinggeng.core.errors import Conflict
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.customers.models import Account, AccountType
from jinggeng.demo import data
from jinggeng.demo.progress import Reporter
from jinggeng.demo.writer import BulkWriter
from jinggeng.orders.models import (
    ApprovalRule,
    Contract,
    ContractStatus,
    OrderLine,
    OrderStatus,
    OrderTransition,
    PaymentAllocation,
    PaymentMethod,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit, RoleCode
from jinggeng.pipeline.models import (
    Activity,
    ActivityKind,
    AssignmentRule,
    Lead,
    LeadAssignment,
    LeadSource,
    LeadStatus,
    LossReason,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    StageChange,
)

User = get_user_model()

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
REASON = "demo"


@dataclass(frozen=True)
class SalesSpec:
    leads: int
    opportunities: int
    orders: int
    activities: int
    lines_per_order: int = 5  # exactly: line counts come in pairs 5 ± d
    chunk: int = 50_000


SALES_SCALES: dict[str, SalesSpec] = {
    "small": SalesSpec(leads=240, opportunities=480, orders=900, activities=1200),
    "medium": SalesSpec(leads=10_000, opportunities=60_000, orders=50_000, activities=40_000),
    "large": SalesSpec(leads=200_000, opportunities=2_000_000, orders=1_000_000, activities=500_000),
}

# Exact shares (per cent) of each state; the remainder goes to the first entry.
ORDER_SHARES: tuple[tuple[str, int], ...] = (
    (OrderStatus.COMPLETED, 64),
    (OrderStatus.DRAFT, 5),
    (OrderStatus.SUBMITTED, 6),
    (OrderStatus.APPROVED, 8),
    (OrderStatus.SHIPPED, 11),
    (OrderStatus.CANCELLED, 6),
)
LEAD_STATUS_SHARES: tuple[tuple[str, int], ...] = (
    (LeadStatus.WORKING, 25),
    (LeadStatus.NEW, 20),
    (LeadStatus.QUALIFIED, 15),
    (LeadStatus.CONVERTED, 25),
    (LeadStatus.DISQUALIFIED, 15),
)
LEAD_SOURCE_SHARES: tuple[tuple[str, int], ...] = (
    (LeadSource.CAMPAIGN, 25),
    (LeadSource.REFERRAL, 20),
    (LeadSource.TRADE_SHOW, 15),
    (LeadSource.PHONE, 15),
    (LeadSource.WEB, 20),
    (LeadSource.OTHER, 5),
)
# Share of opportunities per stage order (1‥4 open, 5 won, 6 lost), in every pipeline.
STAGE_SHARES: tuple[tuple[int, int], ...] = ((1, 18), (2, 15), (3, 12), (4, 10), (5, 25), (6, 20))
PIPELINE_SHARES: tuple[tuple[str, int], ...] = (("key_account", 70), ("distributor_recruitment", 30))
ACTIVITY_SHARES: tuple[tuple[str, int], ...] = (
    (ActivityKind.CALL, 30),
    (ActivityKind.MEETING, 25),
    (ActivityKind.NOTE, 15),
    (ActivityKind.EMAIL, 10),
    (ActivityKind.TASK, 20),
)
ORDER_ACCOUNT_TYPES = (AccountType.DISTRIBUTOR, AccountType.WHOLESALER, AccountType.KEY_ACCOUNT, AccountType.ENTERPRISE)
TERMS_DAYS: dict[str, int] = {
    AccountType.DISTRIBUTOR: 30,
    AccountType.WHOLESALER: 15,
    AccountType.KEY_ACCOUNT: 60,
    AccountType.ENTERPRISE: 30,
}
# How many days before today an order in each state was placed.
ORDER_AGE: dict[str, tuple[int, int]] = {
    OrderStatus.DRAFT: (0, 7),
    OrderStatus.SUBMITTED: (0, 10),
    OrderStatus.APPROVED: (1, 20),
    OrderStatus.SHIPPED: (3, 45),
    OrderStatus.COMPLETED: (10, 540),
    OrderStatus.CANCELLED: (1, 365),
}
LARGE_ORDER = Decimal("50000")
HIGH_DISCOUNT = Decimal("10")

KEY_TOPICS = (
    "新品进场",
    "年度陈列协议",
    "端午礼盒团购",
    "中秋礼盒团购",
    "冰柜投放",
    "夏季饮料促销",
    "年度供货协议",
    "春节年货专柜",
    "堆头陈列",
    "员工福利团购",
)
RECRUIT_TOPICS = ("经销商招募", "区域代理合作", "二批升级经销", "乡镇渠道拓展", "新品独家代理")
NEXT_STEPS = (
    "约采购经理面谈",
    "发送报价单",
    "安排样品试吃",
    "确认陈列位置",
    "提交合同初稿",
    "等待客户总部审批",
    "安排实地考察",
    "核对资质材料",
    "商定首批进货量",
)
COMPETITORS = ("康师傅", "统一", "娃哈哈", "农夫山泉", "达利园", "旺旺", "盼盼", "今麦郎", "元气森林")
LOST_NOTES = ("对方选择了竞品的年度合作", "预算被总部削减", "报价高于对方心理价位", "项目暂停", "联系人离职")
INTERESTS = (
    "想代理我司饮料系列",
    "咨询休闲零食批发价",
    "门店想上架新品",
    "公司年节福利采购",
    "学校小卖部进货",
    "社区团购合作",
    "希望做乡镇分销",
)
LEAD_COMPANY_SUFFIXES = ("商贸有限公司", "食品商行", "便利店", "超市", "贸易有限公司", "副食批发部", "科技有限公司")
DISQUALIFY_NOTES = ("电话空号", "无采购需求", "重复线索", "不在经营范围")
CALL_SUBJECTS = ("电话回访", "确认订单需求", "催收货款", "新品介绍", "约拜访时间")
MEETING_SUBJECTS = ("门店拜访", "采购面谈", "年度合作洽谈", "陈列检查", "经销商季度会议")
NOTE_SUBJECTS = ("客户反馈", "竞品动态", "库存情况", "陈列照片说明")
EMAIL_SUBJECTS = ("发送报价单", "合同条款确认", "促销方案", "对账单")
TASK_SUBJECTS = ("准备报价方案", "提交合同审批", "跟进回款", "更新客户资料", "安排样品寄送", "确认到货时间")
METHOD_WEIGHTS = (
    (PaymentMethod.BANK_TRANSFER, 60),
    (PaymentMethod.ACCEPTANCE, 12),
    (PaymentMethod.ONLINE, 12),
    (PaymentMethod.CASH, 8),
    (PaymentMethod.CHEQUE, 5),
    (PaymentMethod.OTHER, 3),
)
DISCOUNTS = (Decimal("0"), Decimal("0"), Decimal("0"), Decimal("2"), Decimal("3"), Decimal("5"), Decimal("8"))

# Price lists: (code, name, account type, grade, division, factor of the SKU base price, priority)
PRICE_LISTS: tuple[tuple[str, str, str, str, str, Decimal], ...] = (
    ("PL-BASE", "全国统一价格表", "", "", "", Decimal("1")),
    ("PL-DIST", "经销商供货价", AccountType.DISTRIBUTOR, "", "", Decimal("0.80")),
    ("PL-WHOLE", "批发商供货价", AccountType.WHOLESALER, "", "", Decimal("0.88")),
    ("PL-KA", "重点客户（KA）供货价", AccountType.KEY_ACCOUNT, "", "", Decimal("0.92")),
    ("PL-ENT", "企事业团购价", AccountType.ENTERPRISE, "", "", Decimal("0.95")),
    ("PL-DIST-A", "A级经销商供货价", AccountType.DISTRIBUTOR, "A", "", Decimal("0.78")),
    ("PL-GD-DIST", "广东省经销商区域价", AccountType.DISTRIBUTOR, "", "440000", Decimal("0.79")),
    ("PL-SH-KA", "上海市KA区域价", AccountType.KEY_ACCOUNT, "", "310000", Decimal("0.90")),
)


def quotas(total: int, shares: Sequence[tuple[Any, int]]) -> dict[Any, int]:
    """Exact counts per key: ``total × share / 100`` rounded down, the rest to the first key."""
    counts = {key: total * share // 100 for key, share in shares}
    counts[shares[0][0]] += total - sum(counts.values())
    return counts


def expected_counts(scale: str) -> dict[str, dict[Any, int]]:
    """The counts per state the demo writes at ``scale`` (the tests compare against these)."""
    spec = SALES_SCALES[scale]
    return {
        "orders": quotas(spec.orders, ORDER_SHARES),
        "leads": quotas(spec.leads, LEAD_STATUS_SHARES),
        "lead_sources": quotas(spec.leads, LEAD_SOURCE_SHARES),
        "activities": quotas(spec.activities, ACTIVITY_SHARES),
    }


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def shuffled(rng: random.Random, counts: dict[Any, int]) -> list[Any]:
    items = [key for key, n in counts.items() for _i in range(n)]
    rng.shuffle(items)
    return items


@dataclass
class SkuInfo:
    id: int
    code: str
    base_price: Decimal
    per_pack: int
    per_case: int


@dataclass
class AccountInfo:
    id: int
    name: str
    account_type: str
    grade: str
    division: str
    owner_id: int
    unit_id: int
    credit_limit: Decimal


@dataclass
class StageInfo:
    id: int
    order: int
    probability: int
    is_won: bool
    is_lost: bool


@dataclass
class PipelineInfo:
    id: int
    code: str
    stale_days: int
    stages: list[StageInfo]


@dataclass
class SalesResult:
    counts: dict[str, int]
    seconds: float


@dataclass
class _Chunk:
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    transitions: list[tuple[Any, ...]] = field(default_factory=list)
    receipts: list[tuple[Any, ...]] = field(default_factory=list)
    allocations: list[tuple[Any, ...]] = field(default_factory=list)


def sales_exists() -> bool:
    return SalesOrder.objects.exists() or Opportunity.objects.exists() or Lead.objects.exists()


def sales_build(
    *,
    scale: str,
    seed: int = 42,
    reporter: Reporter | None = None,
    writer: BulkWriter | None = None,
) -> SalesResult:
    """Add the sales data to the demo company in the database. Standalone (no ``writer`` given)
    it runs in its own transaction and refuses when sales data exist already."""
    if scale not in SALES_SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    if not Account.objects.exists() or not User.objects.filter(username="admin").exists():
        raise Conflict(_("请先建立演示公司（jinggeng demo）再添加销售数据"), code="demo_missing")
    if sales_exists():
        raise Conflict(_("数据库中已有销售数据（线索、商机或订单）"), code="sales_exist")
    started = time.monotonic()
    builder = SalesBuilder(
        SALES_SCALES[scale], seed=seed, reporter=reporter or Reporter(), writer=writer or BulkWriter()
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
    return SalesResult(counts=builder.counts(), seconds=time.monotonic() - started)


class SalesBuilder:
    COUNTED = {
        "price_lists": "orders.pricelist",
        "contracts": "orders.contract",
        "leads": "pipeline.lead",
        "opportunities": "pipeline.opportunity",
        "opportunity_lines": "pipeline.opportunityline",
        "stage_changes": "pipeline.stagechange",
        "activities": "pipeline.activity",
        "orders": "orders.salesorder",
        "order_lines": "orders.orderline",
        "order_transitions": "orders.ordertransition",
        "payments": "orders.paymentreceipt",
        "allocations": "orders.paymentallocation",
    }

    def __init__(self, spec: SalesSpec, *, seed: int, reporter: Reporter, writer: BulkWriter) -> None:
        self.spec = spec
        self.rng = random.Random(f"sales-{seed}")
        # Draws whose range or number depends on the wall clock (the hour of the run) come from
        # their own generator, so the main stream, and with it every amount and date, is the
        # same whatever time of day the demo is built.
        self.clock_rng = random.Random(f"sales-clock-{seed}")
        self.report = reporter
        self.writer = writer
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.tz = timezone.get_current_timezone()
        self.audit_rows: list[tuple[Any, ...]] = []
        self.audited = 0

    def counts(self) -> dict[str, int]:
        written = self.writer.written
        result = {name: written.get(label, 0) for name, label in self.COUNTED.items()}
        result["sales_audit_records"] = self.audited
        return result

    # -- helpers ----------------------------------------------------------------------------

    def audit(self, entity: str, entity_id: int, repr_: str, changes: dict[str, Any]) -> None:
        self.audit_rows.append(
            (
                self.writer.next_id(AuditLog),
                self.now,
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

    def at(self, day: dt.date, minutes: int | None = None) -> dt.datetime:
        """A time during working hours on ``day`` (never after now)."""
        if minutes is None:
            minutes = self.rng.randrange(8 * 60 + 30, 18 * 60)
        moment = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return min(moment, self.now - dt.timedelta(minutes=1))

    def later(self, start: dt.datetime, low_hours: float, high_hours: float) -> dt.datetime:
        """A time ``low``‥``high`` hours after ``start``, but before now."""
        moment = start + dt.timedelta(hours=self.rng.uniform(low_hours, high_hours))
        if moment >= self.now:
            moment = start + (self.now - start) * self.clock_rng.uniform(0.3, 0.9)
        return moment

    def chain(self, user_id: int) -> list[int]:
        """The managers above ``user_id``, direct manager first (as `manager_chain`)."""
        found = self._chains.get(user_id)
        if found is None:
            found = []
            current = self.manager_of.get(user_id)
            while current is not None and current not in found and len(found) < 20:
                found.append(current)
                current = self.manager_of.get(current)
            self._chains[user_id] = found
        return found

    def soon(self) -> dt.datetime:
        """A working-hours time within the next day (today if the day is not over, else tomorrow)."""
        local = timezone.localtime(self.now)
        if local.hour < 16:
            day, first = self.today, max(9, local.hour + 1)
        else:
            day, first = self.today + dt.timedelta(days=1), 9
        return dt.datetime.combine(
            day, dt.time(self.clock_rng.randrange(first, 18), self.clock_rng.choice((0, 30))), tzinfo=self.tz
        )

    def person_name(self) -> str:
        rng = self.rng
        return rng.choice(data.SURNAMES) + "".join(rng.choice(data.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))

    def mobile(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(1_000_000_000):09d}"

    # -- entry point ------------------------------------------------------------------------

    def build(self) -> None:
        self._load()
        self._build_price_lists()
        self._build_approval_rules()
        self._build_contracts()
        self._build_opportunities()
        self._build_leads()
        self._build_activities()
        self._build_orders()
        self.flush_audit()

    # -- the company as built ---------------------------------------------------------------

    def _load(self) -> None:
        self.report.note(_("正在读取演示公司…"))
        self.admin_id = User.objects.filter(username="admin").values_list("pk", flat=True).first()
        employees = list(
            Employee.objects.filter(status=EmployeeStatus.ACTIVE)
            .order_by("id")
            .values_list("id", "user_id", "org_unit_id", "manager_id", "role__code", "name")
        )
        user_of = {pk: user for pk, user, *_rest in employees}
        self.manager_of: dict[int, int] = {user: user_of[m] for _pk, user, _u, m, *_r in employees if m in user_of}
        self.role_of: dict[int, str] = {user: role for _pk, user, _u, _m, role, _n in employees}
        self.name_of: dict[int, str] = {user: name for _pk, user, _u, _m, _r, name in employees}
        self._chains: dict[int, list[int]] = {}
        self.reps_by_unit: dict[int, list[int]] = defaultdict(list)
        for _pk, user, unit, _m, role, _n in employees:
            if role == RoleCode.REP:
                self.reps_by_unit[unit].append(user)
        self.rep_units = sorted(self.reps_by_unit)
        self.unit_city: dict[int, str] = {}
        cities = {c.slug: c.name for c in data.CITIES}
        for pk, code, _parent_id in OrgUnit.objects.values_list("id", "code", "parent_id"):
            parts = code.split("-")
            if len(parts) >= 2 and parts[1].lower() in cities:
                self.unit_city[pk] = cities[parts[1].lower()]
        self.skus = [
            SkuInfo(pk, code, price, per_pack, per_pack * packs)
            for pk, code, price, per_pack, packs in Sku.objects.order_by("id").values_list(
                "id", "code", "base_price", "pieces_per_pack", "packs_per_case"
            )
        ]
        if not self.skus or not self.rep_units:
            raise Conflict(_("演示公司缺少产品或业务员"), code="demo_incomplete")
        # Every account for opportunities; the trade accounts (not outlets) place orders.
        self.accounts: list[AccountInfo] = []
        self.trade: list[AccountInfo] = []
        self.recruit: list[AccountInfo] = []
        self.divisions_by_unit: dict[int, list[str]] = defaultdict(list)
        rows = (
            Account.objects.filter(merged_into__isnull=True, owner__isnull=False)
            .order_by("id")
            .values_list(
                "id", "name", "account_type", "grade", "division_id", "owner_id", "org_unit_id", "credit_limit"
            )
        )
        for row in rows.iterator(chunk_size=20_000):
            info = AccountInfo(*row[:4], row[4] or "", *row[5:])
            self.accounts.append(info)
            if info.account_type in ORDER_ACCOUNT_TYPES:
                self.trade.append(info)
            if info.account_type in (AccountType.WHOLESALER, AccountType.DISTRIBUTOR):
                self.recruit.append(info)
            divisions = self.divisions_by_unit[info.unit_id]
            if info.division and len(divisions) < 40:
                divisions.append(info.division)
        self.pipelines: dict[str, PipelineInfo] = {}
        for pipeline in Pipeline.objects.filter(active=True).prefetch_related("stages").order_by("id"):
            self.pipelines[pipeline.code] = PipelineInfo(
                pipeline.pk,
                pipeline.code,
                pipeline.stale_days,
                [StageInfo(s.pk, s.order, s.probability, s.is_won, s.is_lost) for s in pipeline.stages.all()],
            )
        self.loss_reasons = list(LossReason.objects.filter(active=True).order_by("id").values_list("id", flat=True))
        missing = {code for code, _s in PIPELINE_SHARES} - set(self.pipelines)
        if missing or not self.loss_reasons:
            raise Conflict(_("缺少默认销售流程或丢单原因（请先运行 migrate）"), code="pipelines_missing")

    # -- price lists, approval rules, contracts --------------------------------------------

    def _build_price_lists(self) -> None:
        w = self.writer
        year = self.today.year
        self.price_lists: list[tuple[int, str, str, str, str, Decimal, int]] = []
        list_rows, item_rows = [], []
        from jinggeng.orders.pricing import list_specificity

        specs: list[tuple[Any, ...]] = [(*spec, dt.date(year, 1, 1), None, True) for spec in PRICE_LISTS]
        specs.append(
            (
                "PL-OLD",
                f"{year - 1}年全国价格表（已失效）",
                "",
                "",
                "",
                Decimal("0.97"),
                dt.date(year - 1, 1, 1),
                dt.date(year - 1, 12, 31),
                True,
            )
        )
        for code, name, account_type, grade, division, factor, valid_from, valid_to, active in specs:
            pk = w.next_id(PriceList)
            specificity = list_specificity(account_type=account_type, grade=grade, division=division)
            list_rows.append(
                (
                    pk,
                    self.now,
                    self.now,
                    1,
                    code,
                    name,
                    valid_from,
                    valid_to,
                    account_type,
                    grade,
                    division,
                    specificity,
                    0,
                    active,
                    "",
                )
            )
            self.audit("orders.pricelist", pk, f"{code} {name}", {"code": code, "name": name})
            for sku in self.skus:
                item_rows.append(
                    (
                        w.next_id(PriceListItem),
                        self.now,
                        self.now,
                        1,
                        pk,
                        sku.id,
                        money(sku.base_price * factor),
                        Decimal("0"),
                    )
                )
            if valid_to is None:
                self.price_lists.append((pk, code, account_type, grade, division, factor, specificity))
        columns = ["id", "created_at", "updated_at", "version", "code", "name", "valid_from", "valid_to"]
        columns += ["account_type", "grade", "division", "specificity", "priority", "active", "notes"]
        w.write(PriceList, columns, list_rows)
        w.write(
            PriceListItem,
            ["id", "created_at", "updated_at", "version", "price_list_id", "sku_id", "price", "min_quantity"],
            item_rows,
        )
        self.price_lists.sort(key=lambda p: -p[6])
        self._price_cache: dict[tuple[str, str, str], tuple[int, Decimal, str]] = {}

    def price_list_for(self, account: AccountInfo) -> tuple[int, Decimal, str]:
        """(price list id, factor, reason) of the most specific list that matches (as pricing does)."""
        key = (account.account_type, account.grade, account.division[:2])
        found = self._price_cache.get(key)
        if found is None:
            for pk, code, account_type, grade, division, factor, _spec in self.price_lists:
                if account_type and account_type != account.account_type:
                    continue
                if grade and grade != account.grade:
                    continue
                if division and not account.division.startswith(division.rstrip("0")):
                    continue
                criteria = []
                if division:
                    criteria.append(f"区划 {division}")
                if grade:
                    criteria.append(f"等级 {grade}")
                if account_type:
                    criteria.append(f"类型 {account_type}")
                reason = f"价格表 {code}（{'、'.join(criteria) if criteria else '基础价格表'}）"
                found = (pk, factor, reason)
                break
            else:  # pragma: no cover - the base list matches every account
                raise Conflict("no price list", code="demo_price")
            self._price_cache[key] = found
        return found

    def _build_approval_rules(self) -> None:
        if ApprovalRule.objects.exists():
            return
        for name, amount, discount, role, level in (
            ("大额订单", LARGE_ORDER, None, RoleCode.AREA_MANAGER, None),
            ("高折扣订单", None, HIGH_DISCOUNT, "", 1),
        ):
            rule = ApprovalRule.objects.create(
                name=name, min_amount=amount, min_discount_percent=discount, approver_role=role, manager_level=level
            )
            self.audit("orders.approvalrule", rule.pk, name, {"name": name})

    def _build_contracts(self) -> None:
        rng, w = self.rng, self.writer
        year = self.today.year
        rows: list[tuple[Any, ...]] = []
        self.contract_of: dict[int, int] = {}
        seq = 0
        for account in self.trade:
            if account.account_type not in (AccountType.DISTRIBUTOR, AccountType.KEY_ACCOUNT):
                continue
            kind = "经销合同" if account.account_type == AccountType.DISTRIBUTOR else "年度供货合同"
            terms = f"回款账期 {TERMS_DAYS[account.account_type]} 天；年度返利按季度结算；合同期内不得跨区域窜货。"
            periods = [(year - 1, ContractStatus.EXPIRED), (year, ContractStatus.ACTIVE)]
            roll = rng.random()
            if roll < 0.15:
                periods.append((year + 1, ContractStatus.DRAFT))
            elif roll < 0.2:
                periods[1] = (year, ContractStatus.TERMINATED)
            for period, status in periods:
                seq += 1
                pk = w.next_id(Contract)
                code = f"HT{period}{seq:06d}"
                title = f"{period}年度{kind}"
                amount = Decimal(rng.randrange(20, 800) * 10_000)
                rows.append(
                    (
                        pk,
                        self.now,
                        self.now,
                        1,
                        account.id,
                        code,
                        title,
                        dt.date(period, 1, 1),
                        dt.date(period, 12, 31),
                        terms,
                        amount,
                        status,
                    )
                )
                self.audit("orders.contract", pk, code, {"code": code, "account": account.id, "status": status})
                if status == ContractStatus.ACTIVE:
                    self.contract_of[account.id] = pk
        w.write(
            Contract,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "account_id",
                "code",
                "title",
                "period_from",
                "period_to",
                "terms",
                "amount",
                "status",
            ],
            rows,
        )

    # -- opportunities ----------------------------------------------------------------------

    OPP_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "name",
        "account_id",
        "owner_id",
        "org_unit_id",
        "pipeline_id",
        "stage_id",
        "status",
        "amount",
        "expected_close_date",
        "next_step",
        "competitors",
        "lost_reason_id",
        "lost_note",
        "closed_at",
        "stage_entered_at",
        "last_activity_at",
        "notes",
    )

    def _build_opportunities(self) -> None:
        rng, w = self.rng, self.writer
        n = self.spec.opportunities
        plan: list[tuple[str, int]] = []
        for code, count in quotas(n, PIPELINE_SHARES).items():
            plan += [(code, order) for order, k in quotas(count, STAGE_SHARES).items() for _i in range(k)]
        rng.shuffle(plan)
        # Open opportunities per unit, for leads and activities to refer to.
        self.open_opps: dict[int, list[tuple[int, int, int, str]]] = defaultdict(list)
        self.report.start(_("商机"), n)
        opps: list[tuple[Any, ...]] = []
        lines: list[tuple[Any, ...]] = []
        changes: list[tuple[Any, ...]] = []
        for code, stage_order in plan:
            pipeline = self.pipelines[code]
            stages = pipeline.stages
            stage = stages[stage_order - 1]
            recruit = code == "distributor_recruitment" and self.recruit
            account = rng.choice(self.recruit if recruit else self.accounts)
            pk = w.next_id(Opportunity)
            short = account.name[:24]
            topic = rng.choice(RECRUIT_TOPICS if recruit else KEY_TOPICS)
            name = f"{short}·{topic}"
            status = (
                OpportunityStatus.WON
                if stage.is_won
                else OpportunityStatus.LOST
                if stage.is_lost
                else OpportunityStatus.OPEN
            )
            if status == OpportunityStatus.OPEN:
                created = self.now - dt.timedelta(days=rng.uniform(3, 200))
                end = self.now - dt.timedelta(hours=rng.uniform(1, 48))
                path = stages[:stage_order]
            else:
                created = self.now - dt.timedelta(days=rng.uniform(30, 420))
                end = min(created + dt.timedelta(days=rng.uniform(10, 150)), self.now - dt.timedelta(days=1))
                reached = stage_order - 1 if stage.is_won else rng.randint(1, 4)
                path = [*stages[:reached], stage]
            # Stage history: evenly spread moves between creation and the last move.
            span = (end - created) / max(1, len(path) - 1)
            moments = [created + span * i for i in range(len(path))]
            if len(moments) > 1:
                moments[-1] = end
            previous = None
            for s, moment in zip(path, moments, strict=True):
                changes.append((w.next_id(StageChange), pk, previous, s.id, account.owner_id, moment))
                previous = s.id
            trade = account.account_type != AccountType.OUTLET
            amount = Decimal(rng.randrange(2, 300 if trade else 40) * 1000)
            if stage_order >= 3 and not (stage.is_lost and len(path) < 4):
                amount = Decimal("0")
                for sku in rng.sample(self.skus, rng.randint(1, 3)):
                    qty = Decimal(rng.randrange(20, 1000, 10) if trade else rng.randrange(2, 60, 2))
                    price = money(sku.base_price * sku.per_case * Decimal("0.9"))
                    total = money(qty * price)
                    amount += total
                    lines.append((pk, sku.id, qty, "case", qty * sku.per_case, price, total))
            if status == OpportunityStatus.OPEN:
                close = self.today + dt.timedelta(days=rng.randint(5, 150))
                stale = rng.random() < 0.3
                idle = (
                    rng.uniform(pipeline.stale_days + 1, pipeline.stale_days + 60)
                    if stale
                    else rng.uniform(0.1, pipeline.stale_days - 1)
                )
                last = self.now - dt.timedelta(days=idle)
                last = max(last, created)
                opp_row: tuple[Any, ...] = (
                    name,
                    status,
                    amount,
                    close,
                    rng.choice(NEXT_STEPS),
                    None,
                    "",
                    None,
                    moments[-1],
                    last,
                )
                bucket = self.open_opps[account.unit_id]
                if len(bucket) < 200:
                    bucket.append((pk, account.id, account.owner_id, name))
            else:
                lost = stage.is_lost
                opp_row = (
                    name,
                    status,
                    amount,
                    timezone.localtime(end).date(),
                    "",
                    rng.choice(self.loss_reasons) if lost else None,
                    rng.choice(LOST_NOTES) if lost else "",
                    end,
                    end,
                    end,
                )
            name, status, amount, close, step, reason, note, closed, entered, last = opp_row
            competitors = "、".join(rng.sample(COMPETITORS, rng.randint(1, 2))) if rng.random() < 0.4 else ""
            opps.append(
                (
                    pk,
                    created,
                    last,
                    1,
                    name,
                    account.id,
                    account.owner_id,
                    account.unit_id,
                    pipeline.id,
                    stage.id,
                    status,
                    amount,
                    close,
                    step,
                    competitors,
                    reason,
                    note,
                    closed,
                    entered,
                    last,
                    "",
                )
            )
            self.audit(
                "pipeline.opportunity",
                pk,
                name,
                {
                    "name": name,
                    "account": account.id,
                    "pipeline": pipeline.id,
                    "stage": stage.id,
                    "amount": str(amount),
                },
            )
            if len(opps) >= self.spec.chunk:
                self._flush_opportunities(opps, lines, changes)
                opps, lines, changes = [], [], []
        self._flush_opportunities(opps, lines, changes)
        self.report.finish()

    def _flush_opportunities(
        self, opps: list[tuple[Any, ...]], lines: list[tuple[Any, ...]], changes: list[tuple[Any, ...]]
    ) -> None:
        w = self.writer
        w.write(Opportunity, self.OPP_COLUMNS, opps)
        w.write(
            OpportunityLine,
            ["id", "opportunity_id", "sku_id", "quantity", "unit", "quantity_pieces", "price", "amount"],
            [(w.next_id(OpportunityLine), *row) for row in lines],
        )
        w.write(StageChange, ["id", "opportunity_id", "from_stage_id", "to_stage_id", "by_id", "at"], changes)
        self.flush_audit()
        self.report.advance(len(opps))

    # -- leads ------------------------------------------------------------------------------

    def _build_leads(self) -> None:
        rng, w = self.rng, self.writer
        n = self.spec.leads
        statuses = shuffled(rng, quotas(n, LEAD_STATUS_SHARES))
        sources = shuffled(rng, quotas(n, LEAD_SOURCE_SHARES))
        rules = (AssignmentRule.TERRITORY, AssignmentRule.ROUND_ROBIN, AssignmentRule.MANUAL)
        leads: list[tuple[Any, ...]] = []
        assignments: list[tuple[Any, ...]] = []
        self.lead_refs: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
        for status, source in zip(statuses, sources, strict=True):
            unit = rng.choice(self.rep_units)
            owner: int | None = rng.choice(self.reps_by_unit[unit])
            if status == LeadStatus.NEW and rng.random() < 0.4:
                owner = None
            pk = w.next_id(Lead)
            city = self.unit_city.get(unit, "")
            contact = self.person_name()
            company = f"{city}{rng.choice(data.SHOP_WORDS)}{rng.choice(LEAD_COMPANY_SUFFIXES)}"
            divisions: list[str | None] = [*self.divisions_by_unit.get(unit, [])] or [None]
            created = self.now - dt.timedelta(days=rng.uniform(0.2, 120))
            account_id = opportunity_id = converted = None
            notes = ""
            if status == LeadStatus.CONVERTED:
                candidates = self.open_opps.get(unit)
                if candidates:
                    opportunity_id, account_id, _owner, _name = rng.choice(candidates)
                else:
                    account_id = rng.choice(self.accounts).id
                converted = self.later(created, 24, 24 * 20)
            elif status == LeadStatus.DISQUALIFIED:
                notes = rng.choice(DISQUALIFY_NOTES)
            updated = converted or created
            leads.append(
                (
                    pk,
                    created,
                    updated,
                    1,
                    contact,
                    company,
                    self.mobile(),
                    "",
                    source,
                    status,
                    rng.choice(INTERESTS),
                    rng.choice(divisions),
                    owner,
                    unit,
                    account_id,
                    None,
                    opportunity_id,
                    converted,
                    notes,
                )
            )
            self.audit("pipeline.lead", pk, f"{company} · {contact}", {"name": contact, "company": company})
            if owner is not None:
                assignments.append(
                    (
                        w.next_id(LeadAssignment),
                        pk,
                        None,
                        owner,
                        unit,
                        rng.choice(rules),
                        self.admin_id,
                        self.later(created, 0.1, 4),
                        "",
                    )
                )
            active = status in (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)
            if active and owner is not None and len(self.lead_refs[unit]) < 100:
                self.lead_refs[unit].append((pk, owner))
        w.write(
            Lead,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "name",
                "company",
                "phone",
                "email",
                "source",
                "status",
                "interest",
                "division_id",
                "owner_id",
                "org_unit_id",
                "account_id",
                "contact_id",
                "opportunity_id",
                "converted_at",
                "notes",
            ],
            leads,
        )
        w.write(
            LeadAssignment,
            ["id", "lead_id", "from_owner_id", "to_owner_id", "to_unit_id", "rule", "by_id", "at", "reason"],
            assignments,
        )
        self.flush_audit()

    # -- activities -------------------------------------------------------------------------

    def _build_activities(self) -> None:
        rng, w = self.rng, self.writer
        kinds = shuffled(rng, quotas(self.spec.activities, ACTIVITY_SHARES))
        subjects = {
            ActivityKind.CALL: CALL_SUBJECTS,
            ActivityKind.MEETING: MEETING_SUBJECTS,
            ActivityKind.NOTE: NOTE_SUBJECTS,
            ActivityKind.EMAIL: EMAIL_SUBJECTS,
            ActivityKind.TASK: TASK_SUBJECTS,
        }
        units_with_opps = sorted(self.open_opps)
        rows: list[tuple[Any, ...]] = []
        for kind in kinds:
            unit = rng.choice(units_with_opps) if units_with_opps and rng.random() < 0.8 else rng.choice(self.rep_units)
            account_id = lead_id = opp_id = None
            owner: int | None
            opps = self.open_opps.get(unit)
            leads = self.lead_refs.get(unit)
            if opps and (not leads or rng.random() < 0.75):
                opp_id, account_id, owner, opp_name = rng.choice(opps)
                about = opp_name
            elif leads:
                lead_id, owner = rng.choice(leads)
                about = ""
            else:
                owner = rng.choice(self.reps_by_unit[unit])
                about = ""
            subject = rng.choice(subjects[kind])
            if about:
                subject = f"{subject}：{about}"[:200]
            scheduled = kind in (ActivityKind.MEETING, ActivityKind.TASK)
            roll = rng.random()
            if scheduled and roll < 0.15:  # due soon: later today or tomorrow, in working hours
                due = self.soon()
                done = None
            elif scheduled and roll < 0.5:  # later in the coming two weeks
                day = self.today + dt.timedelta(days=rng.randint(1, 14))
                due = dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.choice((0, 30))), tzinfo=self.tz)
                done = None
            else:  # in the past: done, or (tasks) some left open and overdue
                due = self.at(self.today - dt.timedelta(days=rng.randint(0, 90)))
                done = None if kind == ActivityKind.TASK and rng.random() < 0.25 else due
            created = due - dt.timedelta(days=rng.uniform(0, 5)) if done is None else due
            created = min(created, self.now)
            pk = w.next_id(Activity)
            duration = rng.choice((15, 30, 45, 60, 90)) if kind != ActivityKind.NOTE else 0
            rows.append(
                (
                    pk,
                    created,
                    done or created,
                    1,
                    kind,
                    subject,
                    "",
                    due,
                    duration,
                    done,
                    account_id,
                    None,
                    lead_id,
                    opp_id,
                    owner,
                    unit,
                )
            )
            self.audit("pipeline.activity", pk, subject, {"kind": kind, "subject": subject, "owner": owner})
            if len(rows) >= self.spec.chunk:
                self._write_activities(rows)
                rows = []
        self._write_activities(rows)

    def _write_activities(self, rows: list[tuple[Any, ...]]) -> None:
        self.writer.write(
            Activity,
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "kind",
                "subject",
                "body",
                "due_at",
                "duration_minutes",
                "done_at",
                "account_id",
                "contact_id",
                "lead_id",
                "opportunity_id",
                "owner_id",
                "org_unit_id",
            ],
            rows,
        )
        self.flush_audit()

    # -- orders, payments, receivables ------------------------------------------------------

    ORDER_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "number",
        "account_id",
        "contract_id",
        "owner_id",
        "org_unit_id",
        "status",
        "order_date",
        "payment_terms_days",
        "due_date",
        "list_amount",
        "discount_amount",
        "total_amount",
        "allocated_amount",
        "notes",
        "approval_reasons",
        "approver_id",
        "needs_credit_approval",
        "submitted_at",
        "approved_by_id",
        "approved_at",
        "created_by_id",
        "idempotency_key",
        "request_hash",
    )
    LINE_COLUMNS = (
        "id",
        "order_id",
        "line_no",
        "sku_id",
        "unit",
        "quantity",
        "quantity_pieces",
        "list_price",
        "price_list_id",
        "price_reason",
        "discount_percent",
        "net_price",
        "line_total",
    )
    RECEIPT_COLUMNS = (
        "id",
        "created_at",
        "updated_at",
        "version",
        "number",
        "account_id",
        "owner_id",
        "org_unit_id",
        "amount",
        "received_on",
        "method",
        "reference",
        "notes",
        "allocated_amount",
        "created_by_id",
        "idempotency_key",
        "request_hash",
    )

    def _build_orders(self) -> None:
        rng = self.rng
        n = self.spec.orders
        if not self.trade:
            return
        states = shuffled(rng, quotas(n, ORDER_SHARES))
        self.methods = [m for m, _w in METHOD_WEIGHTS]
        self.method_weights = [wt for _m, wt in METHOD_WEIGHTS]
        self.report.start(_("订单"), n)
        chunk = _Chunk()
        pending: dict[int, list[tuple[int, Decimal, dt.date, AccountInfo]]] = defaultdict(list)
        delta = 0
        for index, state in enumerate(states):
            # Line counts in pairs (5 + d, 5 − d): exactly lines_per_order lines per order on average.
            if index % 2 == 0:
                delta = rng.randint(-(self.spec.lines_per_order - 1), self.spec.lines_per_order - 1)
                count = self.spec.lines_per_order + delta
            else:
                count = self.spec.lines_per_order - delta
            if index == n - 1 and n % 2:
                count = self.spec.lines_per_order
            self._order(chunk, pending, state, count)
            if len(chunk.orders) >= self.spec.chunk:
                self._payments(chunk, pending)
                self._flush_orders(chunk)
                chunk, pending = _Chunk(), defaultdict(list)
        self._payments(chunk, pending)
        self._advance_receipts(chunk)
        self._flush_orders(chunk)
        self.report.finish()

    def _order(
        self,
        chunk: _Chunk,
        pending: dict[int, list[tuple[int, Decimal, dt.date, AccountInfo]]],
        state: str,
        count: int,
    ) -> None:
        rng, w = self.rng, self.writer
        account = rng.choice(self.trade)
        pk = w.next_id(SalesOrder)
        low, high = ORDER_AGE[state]
        if state == OrderStatus.COMPLETED and rng.random() < 0.6:
            high = 120  # most completed orders are recent: receivables in every ageing bucket
        order_date = self.today - dt.timedelta(days=rng.randint(low, high))
        terms = TERMS_DAYS.get(account.account_type, 30)
        due = order_date + dt.timedelta(days=terms)
        number = f"SO{order_date:%Y%m%d}{pk:07d}"
        price_list, factor, reason = self.price_list_for(account)
        big = account.account_type in (AccountType.DISTRIBUTOR, AccountType.KEY_ACCOUNT)
        needs_approval = state == OrderStatus.SUBMITTED
        list_amount = total = Decimal("0")
        max_discount = Decimal("0")
        for line_no, sku in enumerate(rng.sample(self.skus, count), start=1):
            if big or rng.random() < 0.6:
                unit, per = "case", sku.per_case
                quantity = rng.randint(10, 300) if big else rng.randint(2, 40)
            else:
                unit, per = "pack", sku.per_pack
                quantity = rng.randint(5, 80)
            pieces = Decimal(quantity * per)
            list_price = money(sku.base_price * factor)
            discount = rng.choice(DISCOUNTS)
            if needs_approval and line_no == 1:
                discount = Decimal("12")  # a submitted order waits for approval: a high discount
            net = money(list_price * (HUNDRED - discount) / HUNDRED)
            line_total = money(net * pieces)
            list_amount += money(list_price * pieces)
            total += line_total
            max_discount = max(max_discount, discount)
            chunk.lines.append(
                (
                    w.next_id(OrderLine),
                    pk,
                    line_no,
                    sku.id,
                    unit,
                    Decimal(quantity),
                    pieces,
                    list_price,
                    price_list,
                    reason,
                    discount,
                    net,
                    line_total,
                )
            )
        # Approval reasons as the services word them, routed up the owner's manager chain: the
        # large-order rule to the first area manager (else the top), the discount rule to the
        # direct manager; the most senior of them approves.
        reasons = []
        chain = self.chain(account.owner_id)
        rank = -1
        if total > LARGE_ORDER:
            index = next(
                (i for i, u in enumerate(chain) if self.role_of.get(u) == RoleCode.AREA_MANAGER), len(chain) - 1
            )
            who = self.name_of.get(chain[index], "") if index >= 0 else "（无上级，需有审批权限者）"
            reasons.append(f"金额 {total} 超过 {LARGE_ORDER}（规则“大额订单”，由 {who} 审批）")
            rank = max(rank, index)
        if max_discount > HIGH_DISCOUNT:
            index = 0 if chain else -1
            who = self.name_of.get(chain[0], "") if chain else "（无上级，需有审批权限者）"
            reasons.append(f"折扣 {max_discount.normalize()}% 超过 {HIGH_DISCOUNT}%（规则“高折扣订单”，由 {who} 审批）")
            rank = max(rank, index)
        approver = chain[rank] if reasons and rank >= 0 else None
        created = self.at(order_date)
        owner = account.owner_id
        transitions: list[tuple[str, str, int | None, dt.datetime, str]] = [("", OrderStatus.DRAFT, owner, created, "")]
        submitted_at = approved_at = approved_by = None
        paths: dict[str, list[str]] = {
            OrderStatus.DRAFT: [],
            OrderStatus.SUBMITTED: [OrderStatus.SUBMITTED],
            OrderStatus.APPROVED: [OrderStatus.SUBMITTED, OrderStatus.APPROVED],
            OrderStatus.SHIPPED: [OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.SHIPPED],
            OrderStatus.COMPLETED: [
                OrderStatus.SUBMITTED,
                OrderStatus.APPROVED,
                OrderStatus.SHIPPED,
                OrderStatus.COMPLETED,
            ],
            OrderStatus.CANCELLED: [
                *rng.choice(([], [OrderStatus.SUBMITTED], [OrderStatus.SUBMITTED, OrderStatus.APPROVED])),
                OrderStatus.CANCELLED,
            ],
        }
        moment = created
        previous: str = OrderStatus.DRAFT
        for step in paths[state]:
            note = ""
            by: int | None = owner
            if step == OrderStatus.SUBMITTED:
                moment = self.later(moment, 0.2, 6)
                submitted_at = moment
            elif step == OrderStatus.APPROVED:
                if reasons:
                    moment = self.later(moment, 1, 30)
                    by = approver or self.admin_id
                    approved_by = by
                else:
                    note = "无需审批"
                approved_at = moment
            elif step == OrderStatus.SHIPPED:
                moment = self.later(moment, 12, 72)
                by = self.admin_id
            elif step == OrderStatus.COMPLETED:
                moment = self.later(moment, 48, 24 * 7)
                by = self.admin_id
            else:  # cancelled
                moment = self.later(moment, 2, 72)
                note = rng.choice(("客户取消订单", "重复下单", "库存不足，客户改订其他规格"))
            transitions.append((previous, step, by, moment, note))
            previous = step
        for from_status, to_status, by, at, note in transitions:
            chunk.transitions.append((w.next_id(OrderTransition), pk, from_status, to_status, by, at, note))
        keep_reasons = state != OrderStatus.DRAFT and not (state == OrderStatus.CANCELLED and not submitted_at)
        contract = self.contract_of.get(account.id) if rng.random() < 0.7 else None
        chunk.orders.append(
            (
                pk,
                created,
                moment,
                len(transitions),
                number,
                account.id,
                contract,
                owner,
                account.unit_id,
                state,
                order_date,
                terms,
                due,
                list_amount,
                list_amount - total,
                total,
                Decimal("0"),
                "",
                reasons if keep_reasons else [],
                approver if keep_reasons and reasons else None,
                False,
                submitted_at,
                approved_by,
                approved_at,
                owner,
                "",
                "",
            )
        )
        self.audit(
            "orders.salesorder",
            pk,
            number,
            {"number": number, "account": account.id, "status": state, "total_amount": str(total), "lines": count},
        )
        # What the customer has paid of it (allocated from receipts in `_payments`).
        paid = Decimal("0")
        roll = rng.random()
        if state in (OrderStatus.APPROVED, OrderStatus.SHIPPED):
            if roll < 0.15:
                paid = money(total * Decimal(rng.randint(20, 60)) / HUNDRED)
        elif state == OrderStatus.COMPLETED:
            recent = (self.today - due).days <= 120
            full, part = (0.60, 0.75) if recent else (0.85, 0.90)
            if roll < full:
                paid = total
            elif roll < part:
                paid = money(total * Decimal(rng.randint(10, 90)) / HUNDRED)
        if paid > 0:
            pending[account.id].append((pk, paid, order_date, account))

    def _payments(self, chunk: _Chunk, pending: dict[int, list[tuple[int, Decimal, dt.date, AccountInfo]]]) -> None:
        """Receipts per account covering 1‥3 of its paid orders, some with money left unallocated."""
        rng, w = self.rng, self.writer
        allocated: dict[int, Decimal] = {}
        for account_id in sorted(pending):
            items = sorted(pending[account_id], key=lambda item: (item[2], item[0]))
            i = 0
            while i < len(items):
                group = items[i : i + rng.randint(1, 3)]
                i += len(group)
                account = group[0][3]
                terms = TERMS_DAYS.get(account.account_type, 30)
                latest = max(item[2] for item in group)
                received = min(self.today, latest + dt.timedelta(days=rng.randint(0, terms + 10)))
                allocations = sum((item[1] for item in group), Decimal("0"))
                extra = money(allocations * Decimal(rng.randint(5, 30)) / HUNDRED) if rng.random() < 0.08 else 0
                pk = w.next_id(PaymentReceipt)
                created = self.at(received)
                self._receipt(chunk, pk, created, account, allocations + extra, received, allocations)
                for order_id, amount, _day, _account in group:
                    chunk.allocations.append(
                        (w.next_id(PaymentAllocation), pk, order_id, amount, account.owner_id, created)
                    )
                    allocated[order_id] = allocated.get(order_id, Decimal("0")) + amount
        if allocated:
            position = self.ORDER_COLUMNS.index("allocated_amount")
            chunk.orders = [
                (*row[:position], allocated[row[0]], *row[position + 1 :]) if row[0] in allocated else row
                for row in chunk.orders
            ]

    def _advance_receipts(self, chunk: _Chunk) -> None:
        """Advance payments not yet allocated to any order (预收款)."""
        rng, w = self.rng, self.writer
        for account in rng.sample(self.trade, max(2, len(self.trade) // 30)):
            received = self.today - dt.timedelta(days=rng.randint(0, 30))
            amount = Decimal(rng.randrange(5, 200) * 1000)
            self._receipt(chunk, w.next_id(PaymentReceipt), self.at(received), account, amount, received, Decimal(0))

    def _receipt(
        self,
        chunk: _Chunk,
        pk: int,
        created: dt.datetime,
        account: AccountInfo,
        amount: Decimal,
        received: dt.date,
        allocated: Decimal,
    ) -> None:
        rng = self.rng
        method = rng.choices(self.methods, self.method_weights)[0]
        reference = f"{rng.randrange(10**11, 10**12)}" if method != PaymentMethod.CASH else ""
        number = f"PR{received:%Y%m%d}{pk:07d}"
        notes = "预收货款" if not allocated else ""
        chunk.receipts.append(
            (
                pk,
                created,
                created,
                1,
                number,
                account.id,
                account.owner_id,
                account.unit_id,
                amount,
                received,
                method,
                reference,
                notes,
                allocated,
                account.owner_id,
                "",
                "",
            )
        )
        self.audit(
            "orders.paymentreceipt", pk, number, {"number": number, "account": account.id, "amount": str(amount)}
        )

    def _flush_orders(self, chunk: _Chunk) -> None:
        w = self.writer
        w.write(SalesOrder, self.ORDER_COLUMNS, chunk.orders)
        w.write(OrderLine, self.LINE_COLUMNS, chunk.lines)
        w.write(
            OrderTransition, ["id", "order_id", "from_status", "to_status", "by_id", "at", "note"], chunk.transitions
        )
        w.write(PaymentReceipt, self.RECEIPT_COLUMNS, chunk.receipts)
        w.write(
            PaymentAllocation,
            ["id", "receipt_id", "order_id", "amount", "created_by_id", "created_at"],
            chunk.allocations,
        )
        for pk, receipt, order, amount, _by, _at in chunk.allocations:
            self.audit(
                "orders.paymentallocation",
                pk,
                f"{receipt} → {order}",
                {"receipt": receipt, "order": order, "amount": str(amount)},
            )
        self.flush_audit()
        self.report.advance(len(chunk.orders))


__all__ = ["SALES_SCALES", "SalesResult", "expected_counts", "quotas", "sales_build", "sales_exists"]
