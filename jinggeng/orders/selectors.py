"""Reads for order to cash, always for an actor: the actor's data scope is applied first.

Orders and payment receipts are scoped by their owner and org unit (copied from the account
when they are made) and, for a distributor's staff, by the account; contracts by their account.
Price lists and approval rules are company-wide reference data (a view permission suffices).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_history
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.core.scope import Scope, apply_scope
from jinggeng.customers.access import account_scope
from jinggeng.orders.models import (
    RECEIVABLE_STATUSES,
    ApprovalRule,
    Contract,
    OrderStatus,
    PaymentAllocation,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)
from jinggeng.orders.services import BUCKETS, can_approve
from jinggeng.org.models import OrgUnit

ZERO = Decimal("0")
PRICELIST_SORTS = ("code", "valid_from", "specificity", "id")
CONTRACT_SORTS = ("code", "period_from", "created_at", "id")
ORDER_SORTS = ("order_date", "created_at", "total_amount", "due_date", "id")
PAYMENT_SORTS = ("received_on", "created_at", "amount", "id")


def _empty(sort: str) -> Page[Any]:
    return Page(items=[], next_cursor=None, sort=sort)


def _scoped(qs: QuerySet[Any], scope: Scope) -> QuerySet[Any]:
    return apply_scope(qs, scope, account_field="account_id" if scope.account_ids else None)


def _account_q(scope: Scope, prefix: str = "account__") -> Q:
    if scope.everything:
        return Q()
    condition = Q(pk__in=[])
    if scope.user_id is not None:
        condition |= Q(**{f"{prefix}owner_id": scope.user_id})
    if scope.unit_ids and scope.level in ("team", "subtree"):
        condition |= Q(**{f"{prefix}org_unit_id__in": sorted(scope.unit_ids)})
    if scope.account_ids:
        condition |= Q(**{f"{prefix}id__in": sorted(scope.account_ids)})
    return condition


def _unit_subtree(unit_id: int) -> QuerySet[OrgUnit] | None:
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return None
    return OrgUnit.objects.filter(path__startswith=unit.path).values("id")  # type: ignore[return-value]


# --------------------------------------------------------------------------- price lists


def pricelist_list(
    *,
    actor: Any,
    q: str = "",
    active: bool | None = None,
    on_date: dt.date | None = None,
    sort: str = "-specificity",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PriceList]:
    if not actor.has_perm("orders.view_pricelist"):
        return _empty(sort)
    qs = PriceList.objects.annotate(item_count=Count("items"))
    if q:
        qs = qs.filter(Q(code__startswith=q.strip()) | Q(name__contains=q.strip()))
    if active is not None:
        qs = qs.filter(active=active)
    if on_date is not None:
        qs = qs.filter(valid_from__lte=on_date).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
    return keyset_paginate(qs, sort=sort, allowed_sorts=PRICELIST_SORTS, cursor=cursor, limit=limit)


def pricelist_get(*, actor: Any, price_list_id: int) -> PriceList:
    price_list = PriceList.objects.filter(pk=price_list_id).first() if actor.has_perm("orders.view_pricelist") else None
    if price_list is None:
        raise NotFound(_("价格表不存在"))
    return price_list


def pricelist_items(*, actor: Any, price_list_id: int) -> QuerySet[PriceListItem]:
    price_list = pricelist_get(actor=actor, price_list_id=price_list_id)
    return price_list.items.select_related("sku").order_by("sku__code", "min_quantity")


def pricelist_item_get(*, actor: Any, item_id: int) -> PriceListItem:
    item = PriceListItem.objects.select_related("sku", "price_list").filter(pk=item_id).first()
    if item is None or not actor.has_perm("orders.view_pricelist"):
        raise NotFound(_("价格表明细不存在"))
    return item


def pricelist_history(*, actor: Any, price_list_id: int) -> QuerySet[AuditLog]:
    price_list = pricelist_get(actor=actor, price_list_id=price_list_id)
    return audit_history(entity="orders.pricelist", entity_id=price_list.pk)


def price_quote(
    *, actor: Any, account_id: int, sku: str, on_date: dt.date | None = None, quantity: Any = 1, unit: str = "piece"
) -> dict[str, Any]:
    """The price `price_for` gives for an account in the actor's scope (order entry, API)."""
    from jinggeng.orders.services import line_clean

    if not actor.has_perm("orders.view_pricelist"):
        raise NotFound(_("价格表不存在"))
    account = _account_for(actor, account_id)
    errors: dict[str, list[str]] = {}
    line = line_clean(
        account=account,
        on_date=on_date or timezone.localdate(),
        data={"sku": sku, "quantity": quantity, "unit": unit},
        prefix="",
        errors=errors,
    )
    if line is None:
        raise ValidationFailed(_("提交的数据有误"), errors=errors)
    return {
        "sku": line.sku.code,
        "unit": line.unit,
        "quantity": line.quantity,
        "quantity_pieces": line.quantity_pieces,
        "price": line.list_price,
        "price_list": line.price_list.code if line.price_list else None,
        "reason": line.price_reason,
        "line_total": line.line_total,
    }


def _account_for(actor: Any, account_id: int) -> Any:
    from jinggeng.customers.models import Account

    scope = account_scope(actor)
    account = Account.objects.filter(pk=account_id).filter(_account_q(scope, prefix="")).first()
    if account is None:
        raise NotFound(_("客户不存在"))
    return account


# --------------------------------------------------------------------------- contracts


def scoped_contracts(actor: Any) -> QuerySet[Contract]:
    if not actor.has_perm("orders.view_contract"):
        return Contract.objects.none()
    return Contract.objects.filter(_account_q(account_scope(actor)))


def contract_list(
    *,
    actor: Any,
    account_id: int | None = None,
    status: str = "",
    q: str = "",
    sort: str = "-period_from",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Contract]:
    qs = scoped_contracts(actor).select_related("account").prefetch_related("attachments")
    if account_id:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(code__startswith=q.strip()) | Q(title__contains=q.strip()))
    return keyset_paginate(qs, sort=sort, allowed_sorts=CONTRACT_SORTS, cursor=cursor, limit=limit)


def contract_get(*, actor: Any, contract_id: int) -> Contract:
    contract = (
        scoped_contracts(actor).select_related("account").prefetch_related("attachments").filter(pk=contract_id).first()
    )
    if contract is None:
        raise NotFound(_("合同不存在"))
    return contract


def contract_history(*, actor: Any, contract_id: int) -> QuerySet[AuditLog]:
    contract = contract_get(actor=actor, contract_id=contract_id)
    return audit_history(entity="orders.contract", entity_id=contract.pk)


def contract_attachment_get(*, actor: Any, attachment_id: int) -> Any:
    from jinggeng.orders.models import ContractAttachment

    attachment = ContractAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("附件不存在"))
    contract_get(actor=actor, contract_id=attachment.contract_id)
    return attachment


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderFilters:
    status: str = ""
    account: int | None = None
    owner: int | None = None
    org_unit: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""
    to_approve: bool = False
    contract: int | None = None


def scoped_orders(actor: Any) -> QuerySet[SalesOrder]:
    if not actor.has_perm("orders.view_salesorder"):
        return SalesOrder.objects.none()
    return _scoped(SalesOrder.objects.all(), account_scope(actor))


def order_filter(qs: QuerySet[SalesOrder], f: OrderFilters, *, actor: Any = None) -> QuerySet[SalesOrder]:
    if f.status:
        if f.status not in OrderStatus.values:
            raise ValidationFailed(_("无效的状态：%(v)s") % {"v": f.status}, field="status")
        qs = qs.filter(status=f.status)
    if f.account:
        qs = qs.filter(account_id=f.account)
    if f.contract:
        qs = qs.filter(contract_id=f.contract)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.org_unit:
        units = _unit_subtree(f.org_unit)
        qs = qs.none() if units is None else qs.filter(org_unit_id__in=units)
    if f.date_from:
        qs = qs.filter(order_date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(order_date__lte=f.date_to)
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(number__startswith=term) | Q(account__name__startswith=term))
    if f.to_approve and actor is not None:
        qs = qs.filter(status=OrderStatus.SUBMITTED).filter(
            Q(approver_id__in=[actor.pk, *_reports_below(actor.pk)]) | Q(approver__isnull=True)
        )
    return qs


def _reports_below(user_id: int, *, depth: int = 20) -> list[int]:
    """The users below ``user_id`` in the manager chain (their approvals may be taken over)."""
    from jinggeng.org.models import Employee

    found: list[int] = []
    frontier = list(Employee.objects.filter(user_id=user_id).values_list("id", flat=True))
    seen = set(frontier)
    for _level in range(depth):
        if not frontier:
            break
        rows = list(Employee.objects.filter(manager_id__in=frontier).values_list("id", "user_id"))
        frontier = [pk for pk, _user in rows if pk not in seen]
        seen.update(frontier)
        found.extend(user for pk, user in rows if pk in frontier)
    return found


def order_list(
    *,
    actor: Any,
    filters: OrderFilters | None = None,
    sort: str = "-order_date",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[SalesOrder]:
    f = filters or OrderFilters()
    qs = order_filter(scoped_orders(actor), f, actor=actor)
    qs = qs.select_related("account", "owner__employee", "org_unit")
    page = keyset_paginate(qs, sort=sort, allowed_sorts=ORDER_SORTS, cursor=cursor, limit=limit)
    if f.to_approve:
        page = Page(items=[o for o in page.items if can_approve(actor, o)], next_cursor=page.next_cursor, sort=sort)
    return page


def order_get(*, actor: Any, order_id: int) -> SalesOrder:
    order = (
        scoped_orders(actor)
        .select_related("account", "contract", "owner__employee", "org_unit", "approver__employee", "approved_by")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound(_("订单不存在"))
    return order


def order_lines(order: SalesOrder) -> list[Any]:
    """The lines of an order the caller already got through `order_get`."""
    return list(order.lines.select_related("sku", "price_list").order_by("line_no"))


def order_transitions(order: SalesOrder) -> list[Any]:
    return list(order.transitions.select_related("by__employee").order_by("at", "id"))


def order_allocations(order: SalesOrder) -> list[PaymentAllocation]:
    return list(order.allocations.select_related("receipt").order_by("id"))


def order_history(*, actor: Any, order_id: int) -> QuerySet[AuditLog]:
    order = order_get(actor=actor, order_id=order_id)
    return audit_history(entity="orders.salesorder", entity_id=order.pk)


# --------------------------------------------------------------------------- payments


def scoped_payments(actor: Any) -> QuerySet[PaymentReceipt]:
    if not actor.has_perm("orders.view_paymentreceipt"):
        return PaymentReceipt.objects.none()
    return _scoped(PaymentReceipt.objects.all(), account_scope(actor))


def payment_list(
    *,
    actor: Any,
    account_id: int | None = None,
    owner: int | None = None,
    unallocated: bool = False,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str = "-received_on",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PaymentReceipt]:
    qs = scoped_payments(actor).select_related("account", "owner__employee", "org_unit")
    if account_id:
        qs = qs.filter(account_id=account_id)
    if owner:
        qs = qs.filter(owner_id=owner)
    if unallocated:
        qs = qs.filter(amount__gt=models.F("allocated_amount"))
    if date_from:
        qs = qs.filter(received_on__gte=date_from)
    if date_to:
        qs = qs.filter(received_on__lte=date_to)
    return keyset_paginate(qs, sort=sort, allowed_sorts=PAYMENT_SORTS, cursor=cursor, limit=limit)


def payment_get(*, actor: Any, receipt_id: int) -> PaymentReceipt:
    receipt = (
        scoped_payments(actor).select_related("account", "owner__employee", "org_unit").filter(pk=receipt_id).first()
    )
    if receipt is None:
        raise NotFound(_("回款不存在"))
    return receipt


def payment_allocations(receipt: PaymentReceipt) -> list[PaymentAllocation]:
    return list(receipt.allocations.select_related("order").order_by("id"))


def payment_history(*, actor: Any, receipt_id: int) -> QuerySet[AuditLog]:
    receipt = payment_get(actor=actor, receipt_id=receipt_id)
    return audit_history(entity="orders.paymentreceipt", entity_id=receipt.pk)


def allocation_get(*, actor: Any, allocation_id: int) -> PaymentAllocation:
    allocation = PaymentAllocation.objects.select_related("receipt", "order").filter(pk=allocation_id).first()
    if allocation is None:
        raise NotFound(_("核销记录不存在"))
    payment_get(actor=actor, receipt_id=allocation.receipt_id)
    return allocation


def allocation_history(*, actor: Any, allocation_id: int) -> QuerySet[AuditLog]:
    """Creation and removal of an allocation (kept after it is removed), once the receipt is in scope."""
    allocation = PaymentAllocation.objects.filter(pk=allocation_id).values("receipt_id").first()
    if allocation is not None:
        payment_get(actor=actor, receipt_id=allocation["receipt_id"])
        return audit_history(entity="orders.paymentallocation", entity_id=allocation_id)
    logs = audit_history(entity="orders.paymentallocation", entity_id=allocation_id)
    first = logs.filter(action="create").first()
    receipt_id = (first.changes or {}).get("receipt", [None, None])[1] if first else None
    if receipt_id is None:
        raise NotFound(_("核销记录不存在"))
    payment_get(actor=actor, receipt_id=int(receipt_id))
    return logs


def allocation_list(
    *,
    actor: Any,
    receipt_id: int | None = None,
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PaymentAllocation]:
    if not actor.has_perm("orders.view_paymentallocation"):
        return _empty("id")
    qs = PaymentAllocation.objects.filter(receipt__in=scoped_payments(actor).values("id")).select_related(
        "receipt", "order"
    )
    if receipt_id:
        qs = qs.filter(receipt_id=receipt_id)
    if order_id:
        qs = qs.filter(order_id=order_id)
    return keyset_paginate(qs, sort="id", allowed_sorts=("id",), cursor=cursor, limit=limit)


def open_orders_for_account(*, actor: Any, account_id: int) -> list[SalesOrder]:
    """Orders of an account with an open amount, oldest due first (payment allocation)."""
    return list(
        scoped_orders(actor)
        .filter(account_id=account_id, status__in=RECEIVABLE_STATUSES, total_amount__gt=models.F("allocated_amount"))
        .order_by("due_date", "id")[:200]
    )


# --------------------------------------------------------------------------- receivables

AGEING_GROUPS = {
    "account": ("account_id", "account__name"),
    "owner": ("owner_id", "owner__employee__name"),
    "org_unit": ("org_unit_id", "org_unit__name"),
}
BUCKET_NAMES = ("not_due", *(name for name, _low, _high in BUCKETS))


def bucket_labels() -> dict[str, str]:
    return {
        "not_due": _("未到期"),
        "d0_30": _("逾期 0–30 天"),
        "d31_60": _("逾期 31–60 天"),
        "d61_90": _("逾期 61–90 天"),
        "d90_plus": _("逾期 90 天以上"),
    }


def _bucket_q(name: str, as_of: dt.date) -> Q:
    """Orders in ageing bucket ``name`` on ``as_of`` (days past due = as_of − due_date)."""
    if name == "not_due":
        return Q(due_date__gt=as_of)
    for bucket, low, high in BUCKETS:
        if bucket == name:
            condition = Q(due_date__lte=as_of - dt.timedelta(days=low))
            if high is not None:
                condition &= Q(due_date__gte=as_of - dt.timedelta(days=high))
            return condition
    raise ValidationFailed(_("无效的账龄区间：%(v)s") % {"v": name}, field="bucket")


def scoped_receivables(actor: Any) -> QuerySet[SalesOrder]:
    return scoped_orders(actor).filter(status__in=RECEIVABLE_STATUSES, total_amount__gt=models.F("allocated_amount"))


@dataclass(frozen=True)
class ReceivableFilters:
    owner: int | None = None
    org_unit: int | None = None
    account: int | None = None


def _receivable_filter(qs: QuerySet[SalesOrder], f: ReceivableFilters) -> QuerySet[SalesOrder]:
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.account:
        qs = qs.filter(account_id=f.account)
    if f.org_unit:
        units = _unit_subtree(f.org_unit)
        qs = qs.none() if units is None else qs.filter(org_unit_id__in=units)
    return qs


def receivables_ageing(
    *,
    actor: Any,
    group_by: str = "owner",
    as_of: dt.date | None = None,
    filters: ReceivableFilters | None = None,
    limit: int = 500,
) -> dict[str, Any]:
    """Open receivables in the actor's scope per account, owner or org unit, split into ageing
    buckets by days past the due date. One aggregate query; rows ordered by total, largest first."""
    if group_by not in AGEING_GROUPS:
        raise ValidationFailed(
            _("无效的分组：%(v)s（可选：account、owner、org_unit）") % {"v": group_by}, field="group_by"
        )
    as_of = as_of or timezone.localdate()
    key, label = AGEING_GROUPS[group_by]
    open_amount = models.F("total_amount") - models.F("allocated_amount")
    money = models.DecimalField(max_digits=16, decimal_places=2)
    aggregates: dict[str, Any] = {
        name: Coalesce(Sum(open_amount, filter=_bucket_q(name, as_of), output_field=money), ZERO, output_field=money)
        for name in BUCKET_NAMES
    }
    aggregates["total"] = Coalesce(Sum(open_amount, output_field=money), ZERO, output_field=money)
    aggregates["orders"] = Count("id")
    qs = _receivable_filter(scoped_receivables(actor), filters or ReceivableFilters())
    rows = list(qs.order_by().values(key, label).annotate(**aggregates).order_by("-total", key)[:limit])
    cent = Decimal("0.01")
    for r in rows:
        for name in (*BUCKET_NAMES, "total"):
            r[name] = Decimal(r[name] or 0).quantize(cent)
    totals: dict[str, Any] = {
        name: sum((r[name] for r in rows), ZERO).quantize(cent) for name in (*BUCKET_NAMES, "total")
    }
    totals["orders"] = sum(r["orders"] for r in rows)
    return {
        "group_by": group_by,
        "as_of": as_of,
        "rows": [
            {"key": r[key], "label": r[label] or "—", **{n: r[n] for n in (*BUCKET_NAMES, "total", "orders")}}
            for r in rows
        ],
        "totals": totals,
    }


def receivable_orders(
    *,
    actor: Any,
    as_of: dt.date | None = None,
    bucket: str = "",
    filters: ReceivableFilters | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[SalesOrder]:
    """The orders behind one ageing figure (drill-down), oldest due first."""
    as_of = as_of or timezone.localdate()
    qs = _receivable_filter(scoped_receivables(actor), filters or ReceivableFilters())
    if bucket:
        qs = qs.filter(_bucket_q(bucket, as_of))
    qs = qs.select_related("account", "owner__employee", "org_unit")
    return keyset_paginate(qs, sort="due_date", allowed_sorts=("due_date",), cursor=cursor, limit=limit)


# --------------------------------------------------------------------------- approval rules


def approval_rule_list(*, actor: Any) -> QuerySet[ApprovalRule]:
    if not actor.has_perm("orders.view_approvalrule"):
        return ApprovalRule.objects.none()
    return ApprovalRule.objects.order_by("id")


def approval_rule_get(*, actor: Any, rule_id: int) -> ApprovalRule:
    rule = approval_rule_list(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("审批规则不存在"))
    return rule


def approval_rule_history(*, actor: Any, rule_id: int) -> QuerySet[AuditLog]:
    rule = approval_rule_get(actor=actor, rule_id=rule_id)
    return audit_history(entity="orders.approvalrule", entity_id=rule.pk)
