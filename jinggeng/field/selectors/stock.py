"""Reads of the field app: stock counts, suggested orders, competitor notes, the customer card
(客户卡) with its stock sheet (进销存), and distribution (铺货率). Every read is for an actor:
visits are scoped by their rep (`apply_scope(..., owner_field="rep")`), outlets by the
customers scope; out of scope is ``NotFound``.

The customer card is the outlet's: when the outlet is in the actor's scope, its visits and stock
counts are shown whichever rep made them (a route handed over keeps the outlet's history).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import ProductStatus, Sku
from jinggeng.core.errors import NotFound, PermissionDenied
from jinggeng.core.scope import apply_scope
from jinggeng.customers.models import Account, AccountStatus, AccountType
from jinggeng.customers.selectors import account_get, scoped_accounts
from jinggeng.field.models import (
    CompetitorNote,
    OutletCoverage,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitPhoto,
)
from jinggeng.org.models import OrgUnit
from jinggeng.org.scope import scope_for

SHEET_VISITS = 8
"""How many counting visits the stock sheet shows (newest first)."""
CARD_VISITS = 10
FORM_SKU_LIMIT = 100
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 366


def _require_view(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有查看此内容的权限"), extra={"permission": perm})


def visits_visible(actor: Any) -> QuerySet[Visit]:
    if not actor.has_perm("field.view_visit"):
        return Visit.objects.none()
    return apply_scope(Visit.objects.all(), scope_for(actor), owner_field="rep")


def stock_visit_get(*, actor: Any, visit_id: int) -> Visit:
    """A visit in the actor's scope, with its outlet (for the stock, suggestion and competitor
    pages)."""
    visit = (
        visits_visible(actor)
        .select_related("account", "rep__employee", "order", "org_unit")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise NotFound(_("拜访不存在"))
    return visit


def visit_stock_counts(*, actor: Any, visit_id: int) -> list[StockCount]:
    visit = stock_visit_get(actor=actor, visit_id=visit_id)
    return list(StockCount.objects.filter(visit=visit).select_related("sku").order_by("sku__code"))


def visit_suggested_lines(*, actor: Any, visit_id: int) -> list[SuggestedOrderLine]:
    visit = stock_visit_get(actor=actor, visit_id=visit_id)
    return list(SuggestedOrderLine.objects.filter(visit=visit).select_related("sku").order_by("sku__code"))


def visit_competitor_notes(*, actor: Any, visit_id: int) -> list[CompetitorNote]:
    visit = stock_visit_get(actor=actor, visit_id=visit_id)
    return list(CompetitorNote.objects.filter(visit=visit).select_related("brand").order_by("id"))


def competitor_brands() -> list[Any]:
    from jinggeng.catalog.models import Brand

    return list(Brand.objects.filter(is_own=False, active=True).order_by("code"))


@dataclass
class FormRow:
    """One SKU row of the stock count form, with this visit's count and the last one before."""

    sku: Sku
    current: StockCount | None = None
    last: StockCount | None = None
    values: dict[str, str] = field(default_factory=dict)
    """What the form shows (filled by the page)."""
    errors: list[str] = field(default_factory=list)


def stock_form_rows(*, actor: Any, visit: Visit) -> list[FormRow]:
    """The SKUs to count at a visit: those counted at the outlet before or at this visit, then
    the other active SKUs of the company's own brands (up to ``FORM_SKU_LIMIT`` rows)."""
    current = {c.sku_id: c for c in StockCount.objects.filter(visit=visit).select_related("sku")}
    last: dict[int, StockCount] = {}
    earlier = (
        StockCount.objects.filter(account_id=visit.account_id, counted_on__lte=visit.visit_date)
        .exclude(visit=visit)
        .filter(counted_on__gte=visit.visit_date - dt.timedelta(days=180))
        .select_related("sku")
        .order_by("counted_on", "visit_id")
    )
    for count in earlier:
        last[count.sku_id] = count
    known = {**{k: v.sku for k, v in last.items()}, **{k: v.sku for k, v in current.items()}}
    rows = [FormRow(sku=sku, current=current.get(pk), last=last.get(pk)) for pk, sku in known.items()]
    more = (
        Sku.objects.exclude(status=ProductStatus.DISCONTINUED)
        .exclude(product__status=ProductStatus.DISCONTINUED)
        .filter(product__brand__is_own=True)
        .exclude(pk__in=list(known))
        .order_by("code")[: max(0, FORM_SKU_LIMIT - len(rows))]
    )
    rows.extend(FormRow(sku=sku) for sku in more)
    rows.sort(key=lambda r: (r.current is None and r.last is None, r.sku.code))
    return rows


# --------------------------------------------------------------------------- stock sheet (进销存)


@dataclass
class SheetEntry:
    visit_id: int
    day: dt.date
    stock: int
    received: int
    sold: int | None
    """Last stock + received − stock; None for the first count shown without an earlier one."""
    facings: int | None
    price_seen: Decimal | None


@dataclass
class SheetRow:
    sku: Sku
    entries: list[SheetEntry] = field(default_factory=list)
    """Newest first."""


@dataclass
class StockSheet:
    account: Account
    days: list[dt.date]
    rows: list[SheetRow]


def stock_sheet(*, actor: Any, account: Account | int, visits: int = SHEET_VISITS) -> StockSheet:
    """The outlet's stock sheet: for each SKU, per counting visit (the last ``visits`` days with
    counts), stock counted, received, sold (computed from the count before) and price seen."""
    account_id = account.pk if isinstance(account, Account) else int(account)
    outlet = account_get(actor=actor, account_id=account_id)
    _require_view(actor, "field.view_stockcount")
    days = list(
        StockCount.objects.filter(account_id=outlet.pk)
        .order_by("-counted_on")
        .values_list("counted_on", flat=True)
        .distinct()[: visits + 1]
    )
    if not days:
        return StockSheet(account=outlet, days=[], rows=[])
    shown = days[:visits]
    counts = (
        StockCount.objects.filter(account_id=outlet.pk, counted_on__gte=days[-1])
        .select_related("sku")
        .order_by("sku__code", "counted_on", "visit_id")
    )
    by_sku: dict[int, list[StockCount]] = defaultdict(list)
    skus: dict[int, Sku] = {}
    for count in counts:
        by_sku[count.sku_id].append(count)
        skus[count.sku_id] = count.sku
    rows = []
    for sku_id, sku_counts in by_sku.items():
        entries = []
        previous: StockCount | None = None
        for count in sku_counts:
            if count.counted_on >= shown[-1]:
                sold = None if previous is None else previous.stock + count.received - count.stock
                entries.append(
                    SheetEntry(
                        visit_id=count.visit_id,
                        day=count.counted_on,
                        stock=count.stock,
                        received=count.received,
                        sold=sold,
                        facings=count.facings,
                        price_seen=count.price_seen,
                    )
                )
            previous = count
        if entries:
            rows.append(SheetRow(sku=skus[sku_id], entries=entries[::-1]))
    rows.sort(key=lambda r: r.sku.code)
    return StockSheet(account=outlet, days=shown, rows=rows)


# --------------------------------------------------------------------------- customer card (客户卡)


@dataclass
class CustomerCard:
    account: Account
    contacts: list[Any]
    coverage: OutletCoverage | None
    visits: list[Visit]
    photos: list[VisitPhoto]
    sheet: StockSheet | None
    competitor_notes: list[CompetitorNote]


def customer_card(*, actor: Any, account_id: int) -> CustomerCard:
    """Everything a rep checks before walking in: profile, contacts, coverage, the last visits
    with their flags, photos, the stock sheet and recent competitor notes."""
    outlet = account_get(actor=actor, account_id=account_id)
    can_visits = actor.has_perm("field.view_visit")
    visits: list[Visit] = []
    photos: list[VisitPhoto] = []
    if can_visits:
        visits = list(
            Visit.objects.filter(account_id=outlet.pk)
            .select_related("rep__employee", "order")
            .prefetch_related("flags")
            .order_by("-visit_date", "-id")[:CARD_VISITS]
        )
        # Photos are served by the visits part only to those who may see their visit.
        photos = list(
            VisitPhoto.objects.filter(visit__in=[v.pk for v in visits])
            .filter(visit__in=visits_visible(actor).values("pk"))
            .select_related("visit")
            .order_by("-id")[:12]
        )
    sheet = stock_sheet(actor=actor, account=outlet) if actor.has_perm("field.view_stockcount") else None
    notes: list[CompetitorNote] = []
    if actor.has_perm("field.view_competitornote"):
        notes = list(CompetitorNote.objects.filter(account_id=outlet.pk).select_related("brand")[:10])
    return CustomerCard(
        account=outlet,
        contacts=list(outlet.contacts.order_by("-is_primary", "name")),
        coverage=OutletCoverage.objects.filter(account_id=outlet.pk).first(),
        visits=visits,
        photos=photos,
        sheet=sheet,
        competitor_notes=notes,
    )


# --------------------------------------------------------------------------- distribution (铺货率)


def numeric_definition() -> str:
    return _(
        "数值铺货率 = 窗口期内最近一次盘点时该 SKU 有库存（>0）的门店数 ÷ 范围内的活跃终端门店数；"
        "窗口期内未盘点、或最近一次盘点未记录该 SKU 的门店算作无货。"
    )


def weighted_definition() -> str:
    return _(
        "加权铺货率 = 该 SKU 有货门店的权重之和 ÷ 全部活跃终端门店的权重之和；"
        "门店权重 = 窗口期内拜访时记录的本公司全部 SKU 进货件数（进货多的门店分量重）。"
    )


@dataclass
class DistributionRow:
    sku: Sku
    outlets_in_stock: int
    weight_in_stock: int
    outlets: int
    """Active outlets in the area (the numeric denominator)."""
    outlets_counted: int
    """Of them, outlets with a stock count in the window."""
    weight_total: int

    @property
    def numeric(self) -> Decimal | None:
        return _percent(self.outlets_in_stock, self.outlets)

    @property
    def weighted(self) -> Decimal | None:
        return _percent(self.weight_in_stock, self.weight_total)


@dataclass
class Distribution:
    org_unit: OrgUnit | None
    start: dt.date
    end: dt.date
    window_days: int
    outlets: int
    outlets_counted: int
    weight_total: int
    rows: list[DistributionRow]
    numeric_definition: str
    weighted_definition: str


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def distribution_outlets(*, actor: Any, org_unit: OrgUnit | None) -> QuerySet[Account]:
    """Active outlets (终端) in the actor's scope, within ``org_unit`` and the units below it."""
    qs = scoped_accounts(actor).filter(account_type=AccountType.OUTLET, status=AccountStatus.ACTIVE)
    if org_unit is not None:
        qs = qs.filter(Q(org_unit__path__startswith=org_unit.path))
    return qs


def _window(window_days: int, on: dt.date | None) -> tuple[dt.date, dt.date, int]:
    days = max(1, min(int(window_days or DEFAULT_WINDOW_DAYS), MAX_WINDOW_DAYS))
    end = on or timezone.localdate()
    return end - dt.timedelta(days=days - 1), end, days


def _distribution_sql(outlet_sql: str, sku_filter: bool, *, postgresql: bool) -> str:
    """Per outlet: its latest visit within the window that has a stock count, and its weight
    (pieces received at its visits in the window); then the SKUs in stock at those visits.

    Every step is an index probe per outlet, bounded by the window: the visits of an outlet in
    the window through the (account, visit_date) index, their counts through the unique
    (visit, sku) index — so the cost grows with the outlets of the area and the visits in the
    window, not with the years of history behind them. On PostgreSQL the probes are LATERAL
    joins (``OFFSET 0`` keeps the last one from being flattened), so the planner cannot trade
    them for a hash of every count of the SKU; elsewhere (SQLite) correlated subqueries do the
    same."""
    visit = Visit._meta.db_table
    count = StockCount._meta.db_table
    latest = f"""SELECT v.id FROM {visit} v
                  WHERE v.account_id = o.id AND v.visit_date >= %s AND v.visit_date <= %s
                    AND EXISTS (SELECT 1 FROM {count} x WHERE x.visit_id = v.id)
                  ORDER BY v.visit_date DESC, v.id DESC LIMIT 1"""  # noqa: S608
    weight = f"""SELECT COALESCE(SUM(x.received), 0) FROM {visit} v JOIN {count} x ON x.visit_id = v.id
                  WHERE v.account_id = o.id AND v.visit_date >= %s AND v.visit_date <= %s"""  # noqa: S608
    one_sku = "AND sc.sku_id = %s" if sku_filter else ""
    # Only model table names and Django's own SQL for the outlets are put in; values are params.
    if postgresql:
        return f"""
            WITH outlets AS ({outlet_sql}),
            per AS MATERIALIZED (
                SELECT o.id AS account_id, lv.visit_id, w.weight
                FROM outlets o
                LEFT JOIN LATERAL ({latest.replace("SELECT v.id", "SELECT v.id AS visit_id", 1)}) lv ON TRUE
                LEFT JOIN LATERAL ({weight.replace("SELECT COALESCE(SUM(x.received), 0)", "SELECT COALESCE(SUM(x.received), 0) AS weight", 1)}) w ON TRUE
            )
            SELECT sc.sku_id, COUNT(*), COALESCE(SUM(p.weight), 0)
            FROM per p
            CROSS JOIN LATERAL (
                SELECT sc.sku_id FROM {count} sc WHERE sc.visit_id = p.visit_id AND sc.stock > 0 {one_sku}
                OFFSET 0
            ) sc
            GROUP BY sc.sku_id
            UNION ALL
            SELECT -1, COUNT(visit_id), COALESCE(SUM(weight), 0) FROM per
        """  # noqa: S608
    return f"""
        WITH outlets AS ({outlet_sql}),
        per AS (SELECT o.id AS account_id, ({latest}) AS visit_id, ({weight}) AS weight FROM outlets o)
        SELECT sc.sku_id, COUNT(*), COALESCE(SUM(p.weight), 0)
        FROM per p JOIN {count} sc ON sc.visit_id = p.visit_id
        WHERE sc.stock > 0 {one_sku}
        GROUP BY sc.sku_id
        UNION ALL
        SELECT -1, COUNT(visit_id), COALESCE(SUM(weight), 0) FROM per
    """  # noqa: S608


def distribution_for(
    *, actor: Any, org_unit: OrgUnit | None, skus: Sequence[Sku] | None, window_days: int, on: dt.date | None
) -> Distribution:
    """Distribution of ``skus`` (None: every active own SKU and any SKU found in stock)."""
    _require_view(actor, "field.view_stockcount")
    start, end, days = _window(window_days, on)
    outlets = distribution_outlets(actor=actor, org_unit=org_unit)
    outlet_count = outlets.count()
    outlet_sql, outlet_params = outlets.order_by().values("id").query.sql_with_params()
    single = skus is not None and len(skus) == 1
    params: list[Any] = [*outlet_params, start, end, start, end]
    if single and skus is not None:
        params.append(skus[0].pk)
    figures: dict[int, tuple[int, int]] = {}
    counted = weight_total = 0
    postgresql = connection.vendor == "postgresql"
    if outlet_count:
        with transaction.atomic(), connection.cursor() as cursor:
            if postgresql:
                # The per-outlet probes make the estimated cost look huge; compiling the query
                # (JIT) then costs more than running it.
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(_distribution_sql(outlet_sql, single, postgresql=postgresql), params)
            for sku_id, n, weight in cursor.fetchall():
                if int(sku_id) == -1:
                    counted, weight_total = int(n), int(weight)
                else:
                    figures[int(sku_id)] = (int(n), int(weight))
    if skus is None:
        listed = list(
            Sku.objects.filter(
                Q(pk__in=list(figures))
                | (
                    Q(product__brand__is_own=True)
                    & ~Q(status=ProductStatus.DISCONTINUED)
                    & ~Q(product__status=ProductStatus.DISCONTINUED)
                )
            ).order_by("code")
        )
    else:
        listed = list(skus)
    rows = [
        DistributionRow(
            sku=sku,
            outlets_in_stock=figures.get(sku.pk, (0, 0))[0],
            weight_in_stock=figures.get(sku.pk, (0, 0))[1],
            outlets=outlet_count,
            outlets_counted=counted,
            weight_total=weight_total,
        )
        for sku in listed
    ]
    return Distribution(
        org_unit=org_unit,
        start=start,
        end=end,
        window_days=days,
        outlets=outlet_count,
        outlets_counted=counted,
        weight_total=weight_total,
        rows=rows,
        numeric_definition=numeric_definition(),
        weighted_definition=weighted_definition(),
    )


def distribution_rate(
    *,
    actor: Any,
    org_unit: OrgUnit | None,
    sku: Sku,
    window_days: int = DEFAULT_WINDOW_DAYS,
    on: dt.date | None = None,
) -> DistributionRow:
    """Numeric and weighted distribution of one SKU among the active outlets of ``org_unit``
    (and below) in the actor's scope, over the ``window_days`` days ending ``on`` (today)."""
    return distribution_for(actor=actor, org_unit=org_unit, skus=[sku], window_days=window_days, on=on).rows[0]


def distribution_table(
    *, actor: Any, org_unit: OrgUnit | None, window_days: int = DEFAULT_WINDOW_DAYS, on: dt.date | None = None
) -> Distribution:
    """Distribution of every active own SKU (and any SKU found in stock) for an area."""
    return distribution_for(actor=actor, org_unit=org_unit, skus=None, window_days=window_days, on=on)


def distribution_units(*, actor: Any) -> list[OrgUnit]:
    """The org units an actor may pick as the area: their scope's units (all for everything)."""
    scope = scope_for(actor)
    qs = OrgUnit.objects.all().order_by("path")
    if not scope.everything:
        qs = qs.filter(pk__in=sorted(scope.unit_ids)) if scope.unit_ids else qs.none()
    return list(qs)
