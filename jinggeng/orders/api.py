"""JSON API for order to cash: thin endpoints over services and selectors.

Mounted at ``/api/v1/orders``: the orders themselves at the root (``/api/v1/orders``,
``/api/v1/orders/{id}``), price lists, contracts, payments, allocations, receivables and
approval rules below it. Creating an order or a payment with an ``Idempotency-Key`` header is
safe to retry: the retry answers with the first result and creates nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import File, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile

from jinggeng.core.api import HISTORY_LIMIT, AuditEntryOut
from jinggeng.orders import selectors, services
from jinggeng.orders.models import (
    ApprovalRule,
    Contract,
    OrderLine,
    PaymentAllocation,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)
from jinggeng.orders.schemas import (
    ActionIn,
    AgeingOut,
    AllocationIn,
    AllocationOut,
    AllocationPage,
    AttachmentOut,
    ContractIn,
    ContractOut,
    ContractPage,
    ContractPatch,
    LineIn,
    LinePatch,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    PaymentDetail,
    PaymentIn,
    PaymentPage,
    PaymentPatch,
    PriceItemIn,
    PriceItemOut,
    PriceItemPatch,
    PriceListIn,
    PriceListOut,
    PriceListPage,
    PriceListPatch,
    QuoteOut,
    RuleIn,
    RuleOut,
    RulePatch,
    TransitionOut,
)

router = Router(tags=["orders"])

IDEMPOTENCY_HELP = "a unique key per logical request (8–100 characters): a retry with it creates nothing more"


def _limit(limit: int) -> int:
    return max(1, min(limit, settings.PAGE_SIZE_MAX))


def _name(user: Any) -> str | None:
    if user is None:
        return None
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


def _user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": _name(user)}


def history_out(rows: Any) -> list[Any]:
    return list(rows[:HISTORY_LIMIT])


def _data(payload: Schema, *, exclude_unset: bool = False) -> tuple[dict[str, Any], int | None]:
    data = payload.dict(exclude_unset=exclude_unset)
    version = data.pop("version", None)
    return data, version


# --------------------------------------------------------------------------- price lists


def pricelist_out(p: PriceList) -> dict[str, Any]:
    return {
        "id": p.pk,
        "code": p.code,
        "name": p.name,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "account_type": p.account_type,
        "grade": p.grade,
        "division": p.division,
        "specificity": p.specificity,
        "priority": p.priority,
        "active": p.active,
        "notes": p.notes,
        "item_count": getattr(p, "item_count", None),
        "version": p.version,
    }


def item_out(i: PriceListItem) -> dict[str, Any]:
    return {
        "id": i.pk,
        "price_list": i.price_list_id,
        "sku": i.sku.code,
        "sku_name": i.sku.name,
        "price": i.price,
        "min_quantity": i.min_quantity,
        "version": i.version,
    }


@router.get("/price-lists", response=PriceListPage, summary="List price lists")
def list_price_lists(
    request: HttpRequest,
    q: str = "",
    active: bool | None = None,
    on_date: dt.date | None = None,
    sort: str = "-specificity",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Price lists are company-wide. `on_date` keeps the lists valid on that day."""
    page = selectors.pricelist_list(
        actor=request.user, q=q, active=active, on_date=on_date, sort=sort, cursor=cursor, limit=_limit(limit)
    )
    return {"items": [pricelist_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.post("/price-lists", response={201: PriceListOut}, summary="Create a price list")
def create_price_list(request: HttpRequest, payload: PriceListIn) -> Status[dict[str, Any]]:
    price_list = services.pricelist_create(actor=request.user, data=payload.dict())
    return Status(201, pricelist_out(price_list))


@router.get("/price-lists/{price_list_id}", response=PriceListOut)
def get_price_list(request: HttpRequest, price_list_id: int) -> dict[str, Any]:
    return pricelist_out(selectors.pricelist_get(actor=request.user, price_list_id=price_list_id))


@router.patch("/price-lists/{price_list_id}", response=PriceListOut)
def update_price_list(request: HttpRequest, price_list_id: int, payload: PriceListPatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    services.pricelist_update(actor=request.user, price_list_id=price_list_id, data=data, expected_version=version)
    return pricelist_out(selectors.pricelist_get(actor=request.user, price_list_id=price_list_id))


@router.delete("/price-lists/{price_list_id}", response={204: None})
def delete_price_list(request: HttpRequest, price_list_id: int) -> Status[None]:
    services.pricelist_delete(actor=request.user, price_list_id=price_list_id)
    return Status(204, None)


@router.get("/price-lists/{price_list_id}/history", response=list[AuditEntryOut])
def price_list_history(request: HttpRequest, price_list_id: int) -> list[Any]:
    return history_out(selectors.pricelist_history(actor=request.user, price_list_id=price_list_id))


@router.get("/price-lists/{price_list_id}/items", response=list[PriceItemOut])
def list_price_items(request: HttpRequest, price_list_id: int) -> list[dict[str, Any]]:
    return [item_out(i) for i in selectors.pricelist_items(actor=request.user, price_list_id=price_list_id)]


@router.post("/price-lists/{price_list_id}/items", response={201: PriceItemOut})
def create_price_item(request: HttpRequest, price_list_id: int, payload: PriceItemIn) -> Status[dict[str, Any]]:
    item = services.pricelist_item_create(actor=request.user, price_list_id=price_list_id, data=payload.dict())
    return Status(201, item_out(selectors.pricelist_item_get(actor=request.user, item_id=item.pk)))


@router.get("/price-list-items/{item_id}", response=PriceItemOut)
def get_price_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    return item_out(selectors.pricelist_item_get(actor=request.user, item_id=item_id))


@router.patch("/price-list-items/{item_id}", response=PriceItemOut)
def update_price_item(request: HttpRequest, item_id: int, payload: PriceItemPatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    services.pricelist_item_update(actor=request.user, item_id=item_id, data=data, expected_version=version)
    return item_out(selectors.pricelist_item_get(actor=request.user, item_id=item_id))


@router.delete("/price-list-items/{item_id}", response={204: None})
def delete_price_item(request: HttpRequest, item_id: int) -> Status[None]:
    services.pricelist_item_delete(actor=request.user, item_id=item_id)
    return Status(204, None)


@router.get("/price", response=QuoteOut, summary="The price of a SKU for an account")
def quote(
    request: HttpRequest,
    account_id: int,
    sku: str,
    quantity: str = "1",
    unit: str = "piece",
    on_date: dt.date | None = None,
) -> dict[str, Any]:
    """What an order line would get: the most specific valid price list (or the SKU's base
    price), with the reason."""
    return selectors.price_quote(
        actor=request.user, account_id=account_id, sku=sku, on_date=on_date, quantity=quantity, unit=unit
    )


# --------------------------------------------------------------------------- contracts


def contract_out(c: Contract) -> dict[str, Any]:
    return {
        "id": c.pk,
        "account": {"id": c.account_id, "name": c.account.name},
        "code": c.code,
        "title": c.title,
        "period_from": c.period_from,
        "period_to": c.period_to,
        "terms": c.terms,
        "amount": c.amount,
        "status": c.status,
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "uploaded_at": a.uploaded_at,
                "url": f"/orders/contracts/attachments/{a.pk}/",
            }
            for a in c.attachments.all()
        ],
        "version": c.version,
    }


@router.get("/contracts", response=ContractPage)
def list_contracts(
    request: HttpRequest,
    account_id: int | None = None,
    status: str = "",
    q: str = "",
    sort: str = "-period_from",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.contract_list(
        actor=request.user, account_id=account_id, status=status, q=q, sort=sort, cursor=cursor, limit=_limit(limit)
    )
    return {"items": [contract_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/contracts", response={201: ContractOut})
def create_contract(request: HttpRequest, payload: ContractIn) -> Status[dict[str, Any]]:
    contract = services.contract_create(actor=request.user, data=payload.dict())
    return Status(201, contract_out(selectors.contract_get(actor=request.user, contract_id=contract.pk)))


@router.get("/contracts/{contract_id}", response=ContractOut)
def get_contract(request: HttpRequest, contract_id: int) -> dict[str, Any]:
    return contract_out(selectors.contract_get(actor=request.user, contract_id=contract_id))


@router.patch("/contracts/{contract_id}", response=ContractOut)
def update_contract(request: HttpRequest, contract_id: int, payload: ContractPatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    services.contract_update(actor=request.user, contract_id=contract_id, data=data, expected_version=version)
    return contract_out(selectors.contract_get(actor=request.user, contract_id=contract_id))


@router.delete("/contracts/{contract_id}", response={204: None})
def delete_contract(request: HttpRequest, contract_id: int) -> Status[None]:
    services.contract_delete(actor=request.user, contract_id=contract_id)
    return Status(204, None)


@router.get("/contracts/{contract_id}/history", response=list[AuditEntryOut])
def contract_history(request: HttpRequest, contract_id: int) -> list[Any]:
    return history_out(selectors.contract_history(actor=request.user, contract_id=contract_id))


@router.post("/contracts/{contract_id}/attachments", response={201: AttachmentOut})
def attach(request: HttpRequest, contract_id: int, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    """Multipart upload, field `file`: PDF, image, Word or Excel up to ORDERS_ATTACHMENT_MAX_BYTES
    (10 MB by default); the type is checked from the file's content too."""
    a = services.contract_attach(actor=request.user, contract_id=contract_id, upload=file)
    return Status(
        201,
        {
            "id": a.pk,
            "name": a.name,
            "size": a.size,
            "content_type": a.content_type,
            "uploaded_at": a.uploaded_at,
            "url": f"/orders/contracts/attachments/{a.pk}/",
        },
    )


@router.delete("/contract-attachments/{attachment_id}", response={204: None})
def delete_attachment(request: HttpRequest, attachment_id: int) -> Status[None]:
    services.contract_attachment_delete(actor=request.user, attachment_id=attachment_id)
    return Status(204, None)


# --------------------------------------------------------------------------- payments


def allocation_out(a: PaymentAllocation) -> dict[str, Any]:
    return {
        "id": a.pk,
        "receipt": {"id": a.receipt_id, "name": a.receipt.number},
        "order": {"id": a.order_id, "name": a.order.number},
        "amount": a.amount,
        "created_at": a.created_at,
    }


def payment_out(p: PaymentReceipt, *, allocations: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.pk,
        "number": p.number,
        "account": {"id": p.account_id, "name": p.account.name},
        "owner": _user_ref(p.owner),
        "org_unit": {"id": p.org_unit_id, "name": p.org_unit.name},
        "amount": p.amount,
        "allocated_amount": p.allocated_amount,
        "unallocated_amount": p.unallocated_amount,
        "received_on": p.received_on,
        "method": p.method,
        "reference": p.reference,
        "notes": p.notes,
        "version": p.version,
    }
    if allocations:
        body["allocations"] = [allocation_out(a) for a in selectors.payment_allocations(p)]
    return body


@router.get("/payments", response=PaymentPage)
def list_payments(
    request: HttpRequest,
    account_id: int | None = None,
    owner: int | None = None,
    unallocated: bool = False,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sort: str = "-received_on",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.payment_list(
        actor=request.user,
        account_id=account_id,
        owner=owner,
        unallocated=unallocated,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        cursor=cursor,
        limit=_limit(limit),
    )
    return {"items": [payment_out(p) for p in page.items], "next_cursor": page.next_cursor}


@router.post("/payments", response={201: PaymentDetail}, summary="Record a payment receipt (idempotent)")
def create_payment(
    request: HttpRequest,
    payload: PaymentIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """Optionally allocated at once (`allocations`). With an `Idempotency-Key` a retry answers
    201 with the first receipt (header `Idempotent-Replayed: true`)."""
    receipt, created = services.payment_create(actor=request.user, data=payload.dict(), idempotency_key=idempotency_key)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, payment_out(selectors.payment_get(actor=request.user, receipt_id=receipt.pk), allocations=True))


@router.get("/payments/{receipt_id}", response=PaymentDetail)
def get_payment(request: HttpRequest, receipt_id: int) -> dict[str, Any]:
    return payment_out(selectors.payment_get(actor=request.user, receipt_id=receipt_id), allocations=True)


@router.patch("/payments/{receipt_id}", response=PaymentDetail)
def update_payment(request: HttpRequest, receipt_id: int, payload: PaymentPatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    services.payment_update(actor=request.user, receipt_id=receipt_id, data=data, expected_version=version)
    return payment_out(selectors.payment_get(actor=request.user, receipt_id=receipt_id), allocations=True)


@router.delete("/payments/{receipt_id}", response={204: None})
def delete_payment(request: HttpRequest, receipt_id: int) -> Status[None]:
    services.payment_delete(actor=request.user, receipt_id=receipt_id)
    return Status(204, None)


@router.get("/payments/{receipt_id}/history", response=list[AuditEntryOut])
def payment_history(request: HttpRequest, receipt_id: int) -> list[Any]:
    return history_out(selectors.payment_history(actor=request.user, receipt_id=receipt_id))


@router.post("/payments/{receipt_id}/allocations", response={201: AllocationOut})
def allocate(request: HttpRequest, receipt_id: int, payload: AllocationIn) -> Status[dict[str, Any]]:
    allocation = services.allocation_create(
        actor=request.user, receipt_id=receipt_id, order_id=payload.order_id, amount=payload.amount
    )
    return Status(201, allocation_out(selectors.allocation_get(actor=request.user, allocation_id=allocation.pk)))


@router.get("/allocations", response=AllocationPage)
def list_allocations(
    request: HttpRequest,
    receipt_id: int | None = None,
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.allocation_list(
        actor=request.user, receipt_id=receipt_id, order_id=order_id, cursor=cursor, limit=_limit(limit)
    )
    return {"items": [allocation_out(a) for a in page.items], "next_cursor": page.next_cursor}


@router.get("/allocations/{allocation_id}", response=AllocationOut)
def get_allocation(request: HttpRequest, allocation_id: int) -> dict[str, Any]:
    return allocation_out(selectors.allocation_get(actor=request.user, allocation_id=allocation_id))


@router.get("/allocations/{allocation_id}/history", response=list[AuditEntryOut])
def allocation_history(request: HttpRequest, allocation_id: int) -> list[Any]:
    return history_out(selectors.allocation_history(actor=request.user, allocation_id=allocation_id))


@router.delete("/allocations/{allocation_id}", response={204: None})
def delete_allocation(request: HttpRequest, allocation_id: int) -> Status[None]:
    services.allocation_delete(actor=request.user, allocation_id=allocation_id)
    return Status(204, None)


# --------------------------------------------------------------------------- receivables


class AgeingQuery(Schema):
    group_by: str = "owner"
    as_of: dt.date | None = None
    owner: int | None = None
    org_unit: int | None = None
    account: int | None = None


@router.get("/receivables/ageing", response=AgeingOut, summary="Receivables ageing in your scope")
def ageing(request: HttpRequest, query: Query[AgeingQuery]) -> dict[str, Any]:
    """Open amounts (total − allocated) of approved, shipped and completed orders, per `group_by`
    (account / owner / org_unit), in buckets of days past the due date: not_due, d0_30, d31_60,
    d61_90, d90_plus. `org_unit` filters a unit and its subtree."""
    return selectors.receivables_ageing(
        actor=request.user,
        group_by=query.group_by,
        as_of=query.as_of,
        filters=selectors.ReceivableFilters(owner=query.owner, org_unit=query.org_unit, account=query.account),
    )


@router.get("/receivables/orders", response=OrderPage, summary="The orders behind an ageing figure")
def receivable_orders(
    request: HttpRequest,
    query: Query[AgeingQuery],
    bucket: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = selectors.receivable_orders(
        actor=request.user,
        as_of=query.as_of,
        bucket=bucket,
        filters=selectors.ReceivableFilters(owner=query.owner, org_unit=query.org_unit, account=query.account),
        cursor=cursor,
        limit=_limit(limit),
    )
    return {"items": [order_item(o) for o in page.items], "next_cursor": page.next_cursor}


# --------------------------------------------------------------------------- approval rules


def rule_out(r: ApprovalRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "name": r.name,
        "min_amount": r.min_amount,
        "min_discount_percent": r.min_discount_percent,
        "approver_role": r.approver_role,
        "manager_level": r.manager_level,
        "active": r.active,
        "version": r.version,
    }


@router.get("/approval-rules", response=list[RuleOut])
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [rule_out(r) for r in selectors.approval_rule_list(actor=request.user)]


@router.post("/approval-rules", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    return Status(201, rule_out(services.approval_rule_create(actor=request.user, data=payload.dict())))


@router.get("/approval-rules/{rule_id}", response=RuleOut)
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(selectors.approval_rule_get(actor=request.user, rule_id=rule_id))


@router.patch("/approval-rules/{rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    return rule_out(
        services.approval_rule_update(actor=request.user, rule_id=rule_id, data=data, expected_version=version)
    )


@router.delete("/approval-rules/{rule_id}", response={204: None})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    services.approval_rule_delete(actor=request.user, rule_id=rule_id)
    return Status(204, None)


@router.get("/approval-rules/{rule_id}/history", response=list[AuditEntryOut])
def rule_history(request: HttpRequest, rule_id: int) -> list[Any]:
    return history_out(selectors.approval_rule_history(actor=request.user, rule_id=rule_id))


# --------------------------------------------------------------------------- orders


def order_item(o: SalesOrder) -> dict[str, Any]:
    return {
        "id": o.pk,
        "number": o.number,
        "account": {"id": o.account_id, "name": o.account.name},
        "owner": _user_ref(o.owner),
        "org_unit": {"id": o.org_unit_id, "name": o.org_unit.name},
        "status": o.status,
        "order_date": o.order_date,
        "due_date": o.due_date,
        "total_amount": o.total_amount,
        "allocated_amount": o.allocated_amount,
        "open_amount": o.open_amount,
        "version": o.version,
    }


def line_out(ln: OrderLine) -> dict[str, Any]:
    return {
        "id": ln.pk,
        "line_no": ln.line_no,
        "sku": ln.sku.code,
        "sku_name": ln.sku.name,
        "unit": ln.unit,
        "quantity": ln.quantity,
        "quantity_pieces": ln.quantity_pieces,
        "list_price": ln.list_price,
        "price_list": ln.price_list.code if ln.price_list else None,
        "price_reason": ln.price_reason,
        "discount_percent": ln.discount_percent,
        "net_price": ln.net_price,
        "line_total": ln.line_total,
    }


def order_out(request: HttpRequest, order_id: int) -> dict[str, Any]:
    o = selectors.order_get(actor=request.user, order_id=order_id)
    return {
        **order_item(o),
        "contract": {"id": o.contract_id, "name": o.contract.code} if o.contract else None,
        "payment_terms_days": o.payment_terms_days,
        "list_amount": o.list_amount,
        "discount_amount": o.discount_amount,
        "notes": o.notes,
        "approval_reasons": o.approval_reasons,
        "approver": _user_ref(o.approver),
        "needs_credit_approval": o.needs_credit_approval,
        "approved_by": _user_ref(o.approved_by),
        "can_approve": o.status == "submitted" and services.can_approve(request.user, o),
        "lines": [line_out(ln) for ln in selectors.order_lines(o)],
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


class OrderQuery(Schema):
    status: str = ""
    account: int | None = None
    owner: int | None = None
    org_unit: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""
    to_approve: bool = False
    sort: str = "-order_date"
    cursor: str | None = None
    limit: int = 50


@router.get("", response=OrderPage, summary="List sales orders in your scope")
def list_orders(request: HttpRequest, query: Query[OrderQuery]) -> dict[str, Any]:
    """Filters: status, account, owner, org_unit (with its subtree), period (date_from / date_to),
    q (number or account name prefix), to_approve (orders waiting for your approval)."""
    page = selectors.order_list(
        actor=request.user,
        filters=selectors.OrderFilters(
            status=query.status,
            account=query.account,
            owner=query.owner,
            org_unit=query.org_unit,
            date_from=query.date_from,
            date_to=query.date_to,
            q=query.q,
            to_approve=query.to_approve,
        ),
        sort=query.sort,
        cursor=query.cursor,
        limit=_limit(query.limit),
    )
    return {"items": [order_item(o) for o in page.items], "next_cursor": page.next_cursor}


@router.post("", response={201: OrderOut}, summary="Create a draft order with lines (idempotent)")
def create_order(
    request: HttpRequest,
    payload: OrderIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """Prices come from the price lists (`GET /price` shows what a line would get). With an
    `Idempotency-Key` a retry answers 201 with the first order (header `Idempotent-Replayed: true`);
    the same key with a different body answers 409 `idempotency_key_reused`."""
    order, created = services.order_create(actor=request.user, data=payload.dict(), idempotency_key=idempotency_key)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, order_out(request, order.pk))


@router.get("/{order_id}", response=OrderOut)
def get_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return order_out(request, order_id)


@router.patch("/{order_id}", response=OrderOut, summary="Change a draft order")
def update_order(request: HttpRequest, order_id: int, payload: OrderPatch) -> dict[str, Any]:
    """Send the `version` you edited: if someone saved in between, 409 `version_conflict` names
    the fields they changed (`changed_fields`, `changed_by`)."""
    data, version = _data(payload, exclude_unset=True)
    services.order_update(actor=request.user, order_id=order_id, data=data, expected_version=version)
    return order_out(request, order_id)


@router.delete("/{order_id}", response={204: None})
def delete_order(request: HttpRequest, order_id: int) -> Status[None]:
    services.order_delete(actor=request.user, order_id=order_id)
    return Status(204, None)


@router.get("/{order_id}/history", response=list[AuditEntryOut])
def order_history(request: HttpRequest, order_id: int) -> list[Any]:
    return history_out(selectors.order_history(actor=request.user, order_id=order_id))


@router.get("/{order_id}/transitions", response=list[TransitionOut])
def order_transitions(request: HttpRequest, order_id: int) -> list[dict[str, Any]]:
    order = selectors.order_get(actor=request.user, order_id=order_id)
    return [
        {"from_status": t.from_status, "to_status": t.to_status, "by": _name(t.by), "at": t.at, "note": t.note}
        for t in selectors.order_transitions(order)
    ]


@router.post("/{order_id}/lines", response={201: OrderOut})
def add_line(
    request: HttpRequest, order_id: int, payload: LineIn, version: int | None = None
) -> Status[dict[str, Any]]:
    services.order_line_add(actor=request.user, order_id=order_id, data=payload.dict(), expected_version=version)
    return Status(201, order_out(request, order_id))


@router.patch("/{order_id}/lines/{line_id}", response=OrderOut)
def update_line(request: HttpRequest, order_id: int, line_id: int, payload: LinePatch) -> dict[str, Any]:
    data, version = _data(payload, exclude_unset=True)
    services.order_line_update(
        actor=request.user, order_id=order_id, line_id=line_id, data=data, expected_version=version
    )
    return order_out(request, order_id)


@router.delete("/{order_id}/lines/{line_id}", response=OrderOut)
def delete_line(request: HttpRequest, order_id: int, line_id: int, version: int | None = None) -> dict[str, Any]:
    services.order_line_delete(actor=request.user, order_id=order_id, line_id=line_id, expected_version=version)
    return order_out(request, order_id)


def _action(name: str) -> Any:
    def endpoint(request: HttpRequest, order_id: int, payload: ActionIn) -> dict[str, Any]:
        services.ORDER_ACTIONS[name](
            actor=request.user, order_id=order_id, note=payload.note, expected_version=payload.version
        )
        return order_out(request, order_id)

    endpoint.__name__ = f"order_{name}"
    return endpoint


for _name_ in ("submit", "approve", "reject", "ship", "complete", "cancel"):
    router.post(
        f"/{{order_id}}/{_name_}",
        response=OrderOut,
        summary=f"Order transition: {_name_}",
        description="Moves the order along draft → submitted → approved → shipped → completed "
        "(or cancelled); a move not allowed from the current state answers 422 `invalid_transition`.",
    )(_action(_name_))


__all__ = ["router"]
