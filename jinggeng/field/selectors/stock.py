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

from django.db import connection
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
        photos = list(
            VisitPhoto.objects.filter(visit__in=[v.pk for v in visits]).select_related("visit").order_by("-id")[:12]
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


def _distribution_sql(outlet_sql: str, sku_filter: bool) -> str:
    """Latest counting visit per outlet within the window, then the SKUs in stock there.

    ``lastday``/``lastvisit`` find each outlet's latest visit with a count in the window
    (served by the (account, sku, counted_on) index); ``weights`` sums each outlet's received
    pieces in the window; the (visit, sku) unique index serves the final join."""
    table = StockCount._meta.db_table
    # Only the model's table name and Django's own SQL for the outlets are put in; values are params.
    return f"""
        WITH outlets AS ({outlet_sql}),
        win AS (
            SELECT sc.account_id, sc.visit_id, sc.sku_id, sc.counted_on, sc.stock, sc.received
            FROM {table} sc
            WHERE sc.counted_on >= %s AND sc.counted_on <= %s AND sc.account_id IN (SELECT id FROM outlets)
        ),
        lastday AS (SELECT account_id, MAX(counted_on) AS d FROM win GROUP BY account_id),
        lastvisit AS (
            SELECT w.account_id, MAX(w.visit_id) AS visit_id
            FROM win w JOIN lastday l ON l.account_id = w.account_id AND w.counted_on = l.d
            GROUP BY w.account_id
        ),
        weights AS (SELECT account_id, SUM(received) AS weight FROM win GROUP BY account_id)
        SELECT w.sku_id, COUNT(*), COALESCE(SUM(g.weight), 0)
        FROM win w
        JOIN lastvisit lv ON lv.visit_id = w.visit_id AND lv.account_id = w.account_id
        LEFT JOIN weights g ON g.account_id = w.account_id
        WHERE w.stock > 0 {"AND w.sku_id = %s" if sku_filter else ""}
        GROUP BY w.sku_id
        UNION ALL
        SELECT -1, (SELECT COUNT(*) FROM lastvisit), (SELECT COALESCE(SUM(weight), 0) FROM weights)
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
    params: list[Any] = [*outlet_params, start, end]
    if single and skus is not None:
        params.append(skus[0].pk)
    figures: dict[int, tuple[int, int]] = {}
    counted = weight_total = 0
    if outlet_count:
        with connection.cursor() as cursor:
            cursor.execute(_distribution_sql(outlet_sql, single), params)
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
