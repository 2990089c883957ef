"""Writes of the field app: stock counts (盘点, 进销存), suggested orders (建议订单) and
competitor notes (竞品信息) at a visit.

Every write finds the visit in the actor's data scope (visits are owned by their rep; else
``NotFound``, nothing changed), checks the permission, checks the visit is checked in and still
open, validates all input before saving (one ``ValidationFailed`` naming every bad line and
field), writes the visit step it completes (STOCK, SHELF, ORDER, COMPETITOR) and an audit
record. Create-like writes take an ``idempotency_key`` (kept as a `VisitRequest`): a retry with
the same key and body answers with the first result and changes nothing.

Quantities are stored in pieces. A stock line may give ``stock`` (pieces) or
``stock_cases`` / ``stock_packs`` / ``stock_pieces``, converted with the SKU's units (the same
for ``received``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Brand, ProductStatus, Sku
from jinggeng.core.audit import audit_create, audit_record, audit_update, snapshot
from jinggeng.core.errors import NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction
from jinggeng.core.scope import apply_scope
from jinggeng.field.models import (
    CompetitorNote,
    OutletCoverage,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitStatus,
    VisitStep,
    VisitStepKind,
)
from jinggeng.field.services import idempotency
from jinggeng.field.suggest import Observation, suggest
from jinggeng.org.scope import scope_for

MAX_QUANTITY = 1_000_000
HISTORY_DAYS = 180
"""How far back the suggestion looks for earlier counts (it uses the last 3 intervals)."""
DEFAULT_CYCLE_DAYS = 7
ORDER_UNIT = "case"
CLOSED_STATUSES = (VisitStatus.COMPLETED, VisitStatus.CANCELLED, VisitStatus.MISSED)
UNIT_PARTS = (("cases", "case"), ("packs", "pack"), ("pieces", "piece"))


# --------------------------------------------------------------------------- shared checks


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"), extra={"permission": perm})


def _visit_id(visit: Visit | int | str) -> int:
    if isinstance(visit, Visit):
        return int(visit.pk)
    try:
        return int(visit)
    except (TypeError, ValueError):
        raise NotFound(_("拜访不存在")) from None


def _locked_visit(actor: Any, visit: Visit | int | str) -> Visit:
    """The visit, locked, if it is in the actor's scope (visits are owned by their rep)."""
    qs = apply_scope(Visit.objects.all(), scope_for(actor), owner_field="rep")
    found = qs.select_for_update().filter(pk=_visit_id(visit)).first()
    if found is None:
        raise NotFound(_("拜访不存在"))
    return Visit.objects.select_related("account").get(pk=found.pk)


def _require_open(visit: Visit) -> None:
    if visit.check_in_at is None:
        raise ValidationFailed(_("请先签到再记录拜访内容"), code="visit_not_checked_in", field="visit")
    if visit.status in CLOSED_STATUSES:
        raise ValidationFailed(
            _("拜访状态为“%(s)s”，不能再修改") % {"s": visit.get_status_display()},
            code="visit_closed",
            field="visit",
        )


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _count(value: Any, name: str, label: str, errors: dict[str, list[str]], *, maximum: int = MAX_QUANTITY) -> int:
    """A whole number ≥ 0 (blank = 0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        _add(errors, name, _("%(what)s应为整数") % {"what": label})
        return 0
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite() or number != number.to_integral_value():
            raise InvalidOperation
    except InvalidOperation:
        _add(errors, name, _("%(what)s应为整数") % {"what": label})
        return 0
    if number < 0:
        _add(errors, name, _("%(what)s不能为负数") % {"what": label})
        return 0
    if number > maximum:
        _add(errors, name, _("%(what)s不能大于 %(max)d") % {"what": label, "max": maximum})
        return 0
    return int(number)


def _price(value: Any, name: str, label: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        _add(errors, name, _("%(what)s应为数字") % {"what": label})
        return None
    if number < 0:
        _add(errors, name, _("%(what)s不能为负数") % {"what": label})
        return None
    if number >= Decimal("100000000"):
        _add(errors, name, _("%(what)s过大") % {"what": label})
        return None
    if number != number.quantize(Decimal("0.01")):
        _add(errors, name, _("%(what)s最多 2 位小数") % {"what": label})
        return None
    return number


def _step_upsert(actor: Any, visit: Visit, kind: str, data: Mapping[str, Any], *, merge: bool = False) -> VisitStep:
    """Write (or rewrite) the visit's step of ``kind``, audited as the visits part's steps are;
    with ``merge`` keep other keys of its data."""
    step = VisitStep.objects.filter(visit=visit, kind=kind).first()
    now = timezone.now()
    if step is None:
        step = VisitStep.objects.create(visit=visit, kind=kind, done_at=now, data=dict(data))
        audit_create(actor=actor, instance=step)
        return step
    before = snapshot(step, ["data", "done_at"])
    step.data = {**(step.data or {}), **data} if merge else dict(data)
    step.done_at = now
    step.save(update_fields=["data", "done_at"])
    audit_update(actor=actor, instance=step, before=before)
    return step


# --------------------------------------------------------------------------- stock counts


@dataclass
class _CleanCount:
    sku: Sku
    stock: int
    received: int
    facings: int | None
    price_seen: Decimal | None


def _sku_lookup(values: Sequence[Any]) -> dict[str, Sku]:
    """SKUs by id (as text) and by code, for the values given, in one query."""
    texts = {_text(v) for v in values if _text(v)}
    ids = [int(t) for t in texts if t.isdigit() and len(t) < 12]
    skus = Sku.objects.select_related("product").filter(Q(code__in=texts) | Q(pk__in=ids))
    found: dict[str, Sku] = {}
    for sku in skus:
        found[sku.code] = sku
        found.setdefault(str(sku.pk), sku)
    return found


def _sku_active(sku: Sku) -> bool:
    return sku.status != ProductStatus.DISCONTINUED and sku.product.status != ProductStatus.DISCONTINUED


def _pieces(line: Mapping[str, Any], base: str, label: str, sku: Sku, prefix: str, errors: dict[str, list[str]]) -> int:
    """``base`` in pieces, or ``base_cases`` + ``base_packs`` + ``base_pieces`` converted."""
    parts = [(f"{base}_{suffix}", unit) for suffix, unit in UNIT_PARTS if f"{base}_{suffix}" in line]
    if not parts:
        return _count(line.get(base), f"{prefix}{base}", label, errors)
    total = 0
    per = {"case": sku.pieces_per_case, "pack": sku.pieces_per_pack, "piece": 1}
    for name, unit in parts:
        total += _count(line.get(name), f"{prefix}{name}", label, errors) * per[unit]
    if total > MAX_QUANTITY:
        _add(errors, f"{prefix}{base}", _("%(what)s不能大于 %(max)d") % {"what": label, "max": MAX_QUANTITY})
    return total


def stock_lines_clean(lines: Any) -> list[_CleanCount]:
    """Validate a stock count submission; one error per bad field, keyed ``lines.<i>.<field>``,
    each message naming the line and its SKU."""
    errors: dict[str, list[str]] = {}
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes) or not lines:
        raise ValidationFailed(_("请至少盘点一个 SKU"), code="no_lines", field="lines")
    rows = [row for row in lines if isinstance(row, Mapping)]
    skus = _sku_lookup([row.get("sku_id", row.get("sku")) for row in rows])
    cleaned: list[_CleanCount] = []
    seen: dict[int, int] = {}
    for index, row in enumerate(lines):
        prefix = f"lines.{index}."
        n = index + 1
        if not isinstance(row, Mapping):
            _add(errors, f"lines.{index}", _("第 %(n)d 行格式有误") % {"n": n})
            continue
        ref = _text(row.get("sku_id", row.get("sku")))
        sku = skus.get(ref)
        if not ref:
            _add(errors, f"{prefix}sku", _("第 %(n)d 行：请选择 SKU") % {"n": n})
            continue
        if sku is None:
            _add(errors, f"{prefix}sku", _("第 %(n)d 行：SKU 不存在：%(sku)s") % {"n": n, "sku": ref})
            continue
        if not _sku_active(sku):
            _add(errors, f"{prefix}sku", _("第 %(n)d 行：SKU 已停产：%(sku)s") % {"n": n, "sku": sku.code})
            continue
        if sku.pk in seen:
            _add(
                errors,
                f"{prefix}sku",
                _("第 %(n)d 行：SKU %(sku)s 与第 %(first)d 行重复") % {"n": n, "sku": sku.code, "first": seen[sku.pk]},
            )
            continue
        seen[sku.pk] = n
        what = {"n": n, "sku": sku.code}
        before = sum(len(v) for v in errors.values())
        stock_given = "stock" in row or any(f"stock_{s}" in row for s, _u in UNIT_PARTS)
        if not stock_given or all(_text(row.get(k)) == "" for k in ("stock", *(f"stock_{s}" for s, _u in UNIT_PARTS))):
            _add(errors, f"{prefix}stock", _("第 %(n)d 行（%(sku)s）：请填写库存") % what)
        stock = _pieces(row, "stock", _("第 %(n)d 行（%(sku)s）：库存") % what, sku, prefix, errors)
        received = _pieces(row, "received", _("第 %(n)d 行（%(sku)s）：进货") % what, sku, prefix, errors)
        facings_raw = row.get("facings")
        facings = (
            None
            if _text(facings_raw) == ""
            else _count(
                facings_raw, f"{prefix}facings", _("第 %(n)d 行（%(sku)s）：排面数") % what, errors, maximum=999
            )
        )
        price = _price(row.get("price_seen"), f"{prefix}price_seen", _("第 %(n)d 行（%(sku)s）：零售价") % what, errors)
        if sum(len(v) for v in errors.values()) == before:
            cleaned.append(_CleanCount(sku=sku, stock=stock, received=received, facings=facings, price_seen=price))
    if errors:
        raise ValidationFailed(_("盘点数据有误"), code="stock_invalid", errors=errors)
    return cleaned


def _count_summary(counts: Sequence[StockCount]) -> list[str]:
    return [
        f"{c.sku.code}: {c.stock}/{c.received}"
        + (f" f{c.facings}" if c.facings is not None else "")
        + (f" ¥{c.price_seen}" if c.price_seen is not None else "")
        for c in sorted(counts, key=lambda c: c.sku.code)
    ]


def _stock_request_data(lines: Any) -> Any:
    return lines if isinstance(lines, Sequence) and not isinstance(lines, str | bytes) else str(lines)


@transaction.atomic
def stock_count_record(*, actor: Any, visit: Visit | int, lines: Any, idempotency_key: str = "") -> list[StockCount]:
    """Record the stock counted at a visit, one line per SKU. Recording again at the same visit
    replaces its lines (audited, old and new). Writes the STOCK step, and the SHELF step when
    facings or prices are given. Suggested lines computed from the old counts are dropped
    (unless an order was already made from them)."""
    the_visit = _locked_visit(actor, visit)
    _require(actor, "field.add_stockcount")
    key = idempotency.clean_key(idempotency_key)
    request_hash = idempotency.request_hash(_stock_request_data(lines))
    if idempotency.earlier_request(actor, key, action="stock", digest=request_hash, visit=the_visit):
        return list(StockCount.objects.filter(visit=the_visit).select_related("sku").order_by("sku__code"))
    _require_open(the_visit)
    cleaned = stock_lines_clean(lines)
    old = list(StockCount.objects.filter(visit=the_visit).select_related("sku"))
    if old:
        _require(actor, "field.change_stockcount")
    StockCount.objects.filter(visit=the_visit).delete()
    counts = StockCount.objects.bulk_create(
        [
            StockCount(
                visit=the_visit,
                account_id=the_visit.account_id,
                sku=line.sku,
                counted_on=the_visit.visit_date,
                stock=line.stock,
                received=line.received,
                facings=line.facings,
                price_seen=line.price_seen,
            )
            for line in cleaned
        ]
    )
    _step_upsert(
        actor,
        the_visit,
        VisitStepKind.STOCK,
        {
            "skus": len(counts),
            "stock_pieces": sum(c.stock for c in counts),
            "received_pieces": sum(c.received for c in counts),
            "out_of_stock": sorted(c.sku.code for c in counts if c.stock == 0),
        },
    )
    shelf = {c.sku.code: c.facings for c in counts if c.facings is not None}
    prices = {c.sku.code: str(c.price_seen) for c in counts if c.price_seen is not None}
    if shelf or prices:
        _step_upsert(actor, the_visit, VisitStepKind.SHELF, {"facings": shelf, "prices": prices}, merge=True)
    if the_visit.order_id is None:
        SuggestedOrderLine.objects.filter(visit=the_visit).delete()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if old else AuditAction.CREATE,
        instance=the_visit,
        changes={"stock_counts": [_count_summary(old) or None, _count_summary(counts)]},
        reason=_("重新盘点") if old else _("盘点库存"),
    )
    idempotency.remember(actor, key, action="stock", digest=request_hash, visit=the_visit, savepoint=True)
    return sorted(counts, key=lambda c: c.sku.code)


# --------------------------------------------------------------------------- suggested orders


def _cycle_days(account_id: int) -> int:
    cycle = OutletCoverage.objects.filter(account_id=account_id).values_list("cycle_days", flat=True).first()
    return int(cycle) if cycle else DEFAULT_CYCLE_DAYS


def _observations(visit: Visit, current: Sequence[StockCount]) -> dict[int, list[Observation]]:
    """Earlier counts of the outlet's SKUs (within ``HISTORY_DAYS``, before this visit), then
    this visit's count last — the (account, sku, counted_on) index serves the query."""
    sku_ids = [c.sku_id for c in current]
    start = visit.visit_date - dt.timedelta(days=HISTORY_DAYS)
    earlier = (
        StockCount.objects.filter(account_id=visit.account_id, sku_id__in=sku_ids, counted_on__gte=start)
        .filter(Q(counted_on__lt=visit.visit_date) | Q(counted_on=visit.visit_date, visit_id__lt=visit.pk))
        .order_by("counted_on", "visit_id")
        .values_list("sku_id", "counted_on", "stock", "received")
    )
    history: dict[int, list[Observation]] = defaultdict(list)
    for sku_id, day, stock, received in earlier:
        history[sku_id].append(Observation(day=day, stock=stock, received=received))
    for count in current:
        history[count.sku_id].append(Observation(day=visit.visit_date, stock=count.stock, received=count.received))
    return history


def _compute_lines(visit: Visit) -> list[SuggestedOrderLine]:
    current = list(StockCount.objects.filter(visit=visit).select_related("sku").order_by("sku__code"))
    if not current:
        raise ValidationFailed(_("请先盘点库存，再计算建议订单"), code="no_stock_count", field="lines")
    history = _observations(visit, current)
    days_next = _cycle_days(visit.account_id)
    lead = int(settings.FIELD_ORDER_LEAD_DAYS)
    safety = int(settings.FIELD_SAFETY_DAYS)
    rows = []
    for count in current:
        sku = count.sku
        result = suggest(
            history[sku.pk],
            days_to_next_visit=days_next,
            lead_days=lead,
            safety_days=safety,
            unit_pieces=sku.pieces_per_case,
        )
        rows.append(
            SuggestedOrderLine(
                visit=visit,
                sku=sku,
                stock=result.stock,
                daily_rate=result.rate_decimal,
                days_to_next_visit=result.days_to_next_visit,
                lead_time_days=result.lead_days,
                safety_stock=result.safety_stock,
                suggested_pieces=result.need_pieces,
                unit=ORDER_UNIT,
                suggested_qty=result.quantity,
                inputs={**result.inputs(), "safety_days": safety, "unit_name": sku.case_unit},
            )
        )
    SuggestedOrderLine.objects.filter(visit=visit).delete()
    return SuggestedOrderLine.objects.bulk_create(rows)


def _line_summary(lines: Sequence[SuggestedOrderLine], *, accepted: bool = False) -> list[str]:
    return [
        f"{ln.sku.code}: {ln.accepted_qty if accepted else ln.suggested_qty} {ln.unit}"
        for ln in sorted(lines, key=lambda x: x.sku.code)
    ]


@transaction.atomic
def suggested_order_compute(*, actor: Any, visit: Visit | int) -> list[SuggestedOrderLine]:
    """Compute and store the suggested order of a visit from its stock count and the outlet's
    earlier counts (see `jinggeng.field.suggest`); replaces earlier suggested lines."""
    the_visit = _locked_visit(actor, visit)
    _require(actor, "field.add_suggestedorderline")
    _require_open(the_visit)
    if the_visit.order_id is not None:
        raise ValidationFailed(_("本次拜访已生成订单，不能重新计算建议"), code="order_exists", field="visit")
    lines = _compute_lines(the_visit)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=the_visit,
        changes={"suggested_order": [None, _line_summary(lines)]},
        reason=_("计算建议订单"),
    )
    return lines


@dataclass
class AcceptResult:
    lines: list[SuggestedOrderLine]
    order: Any = None
    """The draft order (``orders.SalesOrder``) or None."""
    created: bool = False
    status: str = "ordered"
    """``ordered`` (a draft order holds the lines), ``nothing_to_order`` (all quantities 0),
    ``no_order_permission`` (the suggestion stays on the visit)."""
    message: str = ""
    warnings: list[str] = field(default_factory=list)


def _quantities_clean(quantities: Any, lines: Sequence[SuggestedOrderLine]) -> dict[int, int]:
    """Accepted quantity per SKU id: the given ones (by SKU id or code), the suggestion for
    the others."""
    errors: dict[str, list[str]] = {}
    by_ref: dict[str, SuggestedOrderLine] = {}
    for line in lines:
        by_ref[str(line.sku_id)] = line
        by_ref[line.sku.code] = line
    items: list[tuple[str, Any]] = []
    if quantities is None:
        items = []
    elif isinstance(quantities, Mapping):
        items = [(_text(k), v) for k, v in quantities.items()]
    elif isinstance(quantities, Sequence) and not isinstance(quantities, str | bytes):
        for index, row in enumerate(quantities):
            if not isinstance(row, Mapping):
                _add(errors, f"quantities.{index}", _("第 %(n)d 行格式有误") % {"n": index + 1})
                continue
            items.append((_text(row.get("sku_id", row.get("sku"))), row.get("quantity")))
    else:
        raise ValidationFailed(_("确认数量格式有误"), field="quantities")
    accepted = {line.sku_id: line.suggested_qty for line in lines}
    for ref, value in items:
        found = by_ref.get(ref)
        if found is None:
            _add(errors, f"quantities.{ref}", _("SKU %(sku)s 不在建议订单中") % {"sku": ref or "—"})
            continue
        label = _("%(sku)s 的确认数量") % {"sku": found.sku.code}
        before = len(errors)
        number = _count(value, f"quantities.{found.sku.code}", label, errors, maximum=100_000)
        if len(errors) == before:
            accepted[found.sku_id] = number
    if errors:
        raise ValidationFailed(_("确认数量有误"), code="quantities_invalid", errors=errors)
    return accepted


def _order_lines(lines: Sequence[SuggestedOrderLine]) -> list[dict[str, Any]]:
    return [
        {"sku_id": ln.sku_id, "unit": ln.unit, "quantity": str(ln.accepted_qty)}
        for ln in sorted(lines, key=lambda x: x.sku.code)
        if ln.accepted_qty
    ]


def _same_lines(order: Any, wanted: Sequence[Mapping[str, Any]]) -> bool:
    have = sorted((ln.sku_id, ln.unit, Decimal(ln.quantity)) for ln in order.lines.all())
    want = sorted((int(w["sku_id"]), str(w["unit"]), Decimal(w["quantity"])) for w in wanted)
    return have == want


def order_idempotency_key(visit: Visit) -> str:
    """The key the draft order of a visit is created with: one order per visit, however often
    the suggestion is accepted."""
    return f"field-visit-{visit.pk}-suggested-order"


@transaction.atomic
def suggested_order_accept(
    *, actor: Any, visit: Visit | int, quantities: Any = None, idempotency_key: str = ""
) -> AcceptResult:
    """Store the accepted quantities (the rep may change the suggestion; SKUs not named keep
    the suggested quantity) and make them a draft order through ``orders.order_create``, linked
    to the visit; writes the ORDER step. Accepting again updates the same draft order (never a
    second one). Without the permission to create orders, the accepted suggestion stays on the
    visit and the answer says so."""
    from jinggeng.orders import services as order_services
    from jinggeng.orders.models import OrderStatus

    the_visit = _locked_visit(actor, visit)
    _require(actor, "field.change_suggestedorderline")
    key = idempotency.clean_key(idempotency_key)
    request_hash = idempotency.request_hash(quantities)
    replay = idempotency.earlier_request(actor, key, action="order", digest=request_hash, visit=the_visit)
    if replay:
        lines = list(SuggestedOrderLine.objects.filter(visit=the_visit).select_related("sku").order_by("sku__code"))
        return AcceptResult(lines=lines, order=the_visit.order, created=False, status="replayed")
    _require_open(the_visit)
    lines = list(SuggestedOrderLine.objects.filter(visit=the_visit).select_related("sku").order_by("sku__code"))
    if not lines:
        if the_visit.order_id is not None:
            raise ValidationFailed(_("本次拜访已生成订单"), code="order_exists", field="visit")
        _require(actor, "field.add_suggestedorderline")
        lines = list(
            SuggestedOrderLine.objects.filter(pk__in=[ln.pk for ln in _compute_lines(the_visit)])
            .select_related("sku")
            .order_by("sku__code")
        )
    accepted = _quantities_clean(quantities, lines)
    before = _line_summary(lines, accepted=True) if any(ln.accepted_qty is not None for ln in lines) else None
    for line in lines:
        line.accepted_qty = accepted[line.sku_id]
    SuggestedOrderLine.objects.bulk_update(lines, ["accepted_qty"])
    wanted = _order_lines(lines)
    result = AcceptResult(lines=lines)
    order = the_visit.order
    if order is not None:
        if _same_lines(order, wanted):
            result.order, result.status = order, "ordered"
        elif order.status != OrderStatus.DRAFT:
            raise ValidationFailed(
                _("订单 %(n)s 状态为“%(s)s”，不能再修改") % {"n": order.number, "s": order.get_status_display()},
                code="order_not_editable",
                field="quantities",
            )
        elif not wanted:
            raise ValidationFailed(
                _("已生成草稿订单 %(n)s，数量不能全部为零；如不需要请到订单中取消") % {"n": order.number},
                code="order_exists",
                field="quantities",
            )
        elif not actor.has_perm("orders.change_salesorder"):
            result.order, result.status = order, "no_order_permission"
            result.message = _("您没有修改订单的权限，确认数量已保存在拜访中")
        else:
            result.order = order_services.order_update(actor=actor, order_id=order.pk, data={"lines": wanted})
    elif not wanted:
        result.status = "nothing_to_order"
        result.message = _("确认数量均为零，未生成订单")
    elif not actor.has_perm("orders.add_salesorder"):
        result.status = "no_order_permission"
        result.message = _("您没有创建订单的权限，建议订单已保存在拜访中")
    else:
        data = {
            "account_id": the_visit.account_id,
            "order_date": the_visit.visit_date.isoformat(),
            "notes": _("拜访建议订单（拜访 #%(id)d）") % {"id": the_visit.pk},
            "lines": wanted,
        }
        order, created = order_services.order_create(
            actor=actor, data=data, idempotency_key=order_idempotency_key(the_visit)
        )
        visit_before = snapshot(the_visit, ["order", "version"])
        the_visit.order = order
        the_visit.version += 1
        the_visit.save(update_fields=["order", "version", "updated_at"])
        audit_update(actor=actor, instance=the_visit, before=visit_before)
        result.order, result.created = order, created
    if result.order is not None and result.status == "ordered":
        result.message = _("已生成草稿订单 %(n)s") % {"n": result.order.number}
    _step_upsert(
        actor,
        the_visit,
        VisitStepKind.ORDER,
        {
            "status": result.status,
            "order_id": result.order.pk if result.order is not None else None,
            "order_number": result.order.number if result.order is not None else "",
            "lines": [
                {"sku": ln.sku.code, "suggested": ln.suggested_qty, "accepted": ln.accepted_qty, "unit": ln.unit}
                for ln in lines
            ],
        },
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=the_visit,
        changes={"accepted_order": [before, _line_summary(lines, accepted=True)]},
        reason=_("确认建议订单"),
    )
    idempotency.remember(actor, key, action="order", digest=request_hash, visit=the_visit, savepoint=True)
    return result


# --------------------------------------------------------------------------- competitor notes


def _brand(value: Any, errors: dict[str, list[str]]) -> Brand | None:
    ref = _text(value)
    if not ref:
        return None
    query = Q(code=ref)
    if ref.isdigit() and len(ref) < 12:
        query |= Q(pk=int(ref))
    brand = Brand.objects.filter(query).first()
    if brand is None:
        _add(errors, "brand", _("品牌不存在：%(b)s") % {"b": ref})
        return None
    if brand.is_own:
        _add(errors, "brand", _("%(b)s 是本公司品牌，不是竞品") % {"b": brand.name})
        return None
    if not brand.active:
        _add(errors, "brand", _("竞品品牌已停用：%(b)s") % {"b": brand.name})
        return None
    return brand


def competitor_note_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    brand = _brand(data.get("brand_id", data.get("brand")), errors)
    values: dict[str, Any] = {"brand": brand}
    limits = {"brand_name": 60, "product": 120, "promotion": 200, "notes": 2000}
    labels = {"brand_name": _("品牌名称"), "product": _("产品"), "promotion": _("促销"), "notes": _("备注")}
    for name, limit in limits.items():
        text = _text(data.get(name))
        if len(text) > limit:
            _add(errors, name, _("%(what)s最多 %(n)d 个字") % {"what": labels[name], "n": limit})
        values[name] = text
    if brand is None and not values["brand_name"] and "brand" not in errors:
        _add(errors, "brand", _("请选择竞品品牌或填写品牌名称"))
    values["price"] = _price(data.get("price"), "price", _("价格"), errors)
    if errors:
        raise ValidationFailed(_("竞品信息有误"), code="competitor_invalid", errors=errors)
    if brand is not None and not values["brand_name"]:
        values["brand_name"] = brand.name[:60]
    return values


@transaction.atomic
def competitor_note_add(
    *, actor: Any, visit: Visit | int, data: Mapping[str, Any], idempotency_key: str = ""
) -> tuple[CompetitorNote, bool]:
    """Add a competitor note at a visit (brand from the catalog's competitor brands or a free
    name, product, price ≥ 0, promotion, notes) and write the COMPETITOR step. Returns
    (note, created): a retry with the same Idempotency-Key answers with the first note."""
    the_visit = _locked_visit(actor, visit)
    _require(actor, "field.add_competitornote")
    key = idempotency.clean_key(idempotency_key)
    request_hash = idempotency.request_hash(dict(data))
    replay = idempotency.earlier_request(actor, key, action="competitor", digest=request_hash, visit=the_visit)
    if replay is not None and replay.object_id is not None:
        note = CompetitorNote.objects.filter(pk=replay.object_id).first()
        if note is not None:
            return note, False
    _require_open(the_visit)
    values = competitor_note_clean(data)
    note = CompetitorNote.objects.create(
        visit=the_visit,
        account_id=the_visit.account_id,
        rep_id=the_visit.rep_id,
        org_unit_id=the_visit.org_unit_id,
        seen_on=the_visit.visit_date,
        **values,
    )
    notes = list(CompetitorNote.objects.filter(visit=the_visit).order_by("id"))
    _step_upsert(
        actor,
        the_visit,
        VisitStepKind.COMPETITOR,
        {"notes": len(notes), "brands": sorted({n.brand_name for n in notes if n.brand_name})},
    )
    audit_create(actor=actor, instance=note)
    idempotency.remember(
        actor, key, action="competitor", digest=request_hash, visit=the_visit, object_id=note.pk, savepoint=True
    )
    return note, True
