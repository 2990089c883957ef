"""JSON shapes of the orders API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema

VERSION_HELP = "the version you edited; a newer one answers 409 version_conflict"


class Ref(Schema):
    id: int | None
    name: str | None


# --------------------------------------------------------------------------- price lists


class PriceListIn(Schema):
    code: str
    name: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    account_type: str = Field("", description="account type code; empty: any")
    grade: str = Field("", description="A / B / C; empty: any")
    division: str = Field("", description="province, city or county code; empty: the whole country")
    priority: int = Field(0, description="breaks ties between lists of equal specificity; higher wins")
    active: bool = True
    notes: str = ""


class PriceListPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    code: str | None = None
    name: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    account_type: str | None = None
    grade: str | None = None
    division: str | None = None
    priority: int | None = None
    active: bool | None = None
    notes: str | None = None


class PriceListOut(Schema):
    id: int
    code: str
    name: str
    valid_from: dt.date
    valid_to: dt.date | None
    account_type: str
    grade: str
    division: str
    specificity: int
    priority: int
    active: bool
    notes: str
    item_count: int | None = None
    version: int


class PriceListPage(Schema):
    items: list[PriceListOut]
    next_cursor: str | None


class PriceItemIn(Schema):
    sku: str = Field(..., description="SKU code or id")
    price: Decimal = Field(..., description="price per piece")
    min_quantity: Decimal = Field(Decimal("0"), description="in pieces; 0: any quantity")


class PriceItemPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    sku: str | None = None
    price: Decimal | None = None
    min_quantity: Decimal | None = None


class PriceItemOut(Schema):
    id: int
    price_list: int
    sku: str
    sku_name: str
    price: Decimal
    min_quantity: Decimal
    version: int


class QuoteOut(Schema):
    sku: str
    unit: str
    quantity: Decimal
    quantity_pieces: Decimal
    price: Decimal
    price_list: str | None
    reason: str
    line_total: Decimal


# --------------------------------------------------------------------------- contracts


class ContractIn(Schema):
    account_id: int
    code: str
    title: str = ""
    period_from: dt.date
    period_to: dt.date
    terms: str = ""
    amount: Decimal = Decimal("0")
    status: str = "draft"


class ContractPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    account_id: int | None = None
    code: str | None = None
    title: str | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    terms: str | None = None
    amount: Decimal | None = None
    status: str | None = None


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    uploaded_at: dt.datetime
    url: str


class ContractOut(Schema):
    id: int
    account: Ref
    code: str
    title: str
    period_from: dt.date
    period_to: dt.date
    terms: str
    amount: Decimal
    status: str
    attachments: list[AttachmentOut] = []
    version: int


class ContractPage(Schema):
    items: list[ContractOut]
    next_cursor: str | None


# --------------------------------------------------------------------------- orders


class LineIn(Schema):
    sku: str = Field(..., description="SKU code or id")
    unit: str = Field("piece", description="piece / pack / case, or the SKU's unit names (瓶 / 提 / 箱)")
    quantity: Decimal = Field(..., description="> 0, in the unit given")
    discount_percent: Decimal = Decimal("0")
    list_price: Decimal | None = Field(None, description="price per piece; empty: from the price lists")


class LinePatch(Schema):
    version: int | None = Field(None, description="the order's version")
    sku: str | None = None
    unit: str | None = None
    quantity: Decimal | None = None
    discount_percent: Decimal | None = None
    list_price: Decimal | None = None


class OrderIn(Schema):
    account_id: int
    contract_id: int | None = None
    order_date: dt.date | None = Field(None, description="default: today")
    payment_terms_days: int | None = Field(None, description="default: 30; due date = order date + terms")
    notes: str = ""
    lines: list[LineIn] = []


class OrderPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    account_id: int | None = None
    contract_id: int | None = None
    order_date: dt.date | None = None
    payment_terms_days: int | None = None
    notes: str | None = None
    lines: list[LineIn] | None = Field(None, description="when given, replaces every line")


class LineOut(Schema):
    id: int
    line_no: int
    sku: str
    sku_name: str
    unit: str
    quantity: Decimal
    quantity_pieces: Decimal
    list_price: Decimal
    price_list: str | None
    price_reason: str
    discount_percent: Decimal
    net_price: Decimal
    line_total: Decimal


class TransitionOut(Schema):
    from_status: str
    to_status: str
    by: str | None
    at: dt.datetime
    note: str


class OrderItem(Schema):
    id: int
    number: str
    account: Ref
    owner: Ref
    org_unit: Ref
    status: str
    order_date: dt.date
    due_date: dt.date
    total_amount: Decimal
    allocated_amount: Decimal
    open_amount: Decimal
    version: int


class OrderOut(OrderItem):
    contract: Ref | None
    payment_terms_days: int
    list_amount: Decimal
    discount_amount: Decimal
    notes: str
    approval_reasons: list[str]
    approver: Ref | None
    needs_credit_approval: bool
    approved_by: Ref | None
    can_approve: bool
    lines: list[LineOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderPage(Schema):
    items: list[OrderItem]
    next_cursor: str | None


class ActionIn(Schema):
    note: str = ""
    version: int | None = Field(None, description=VERSION_HELP)


# --------------------------------------------------------------------------- payments


class AllocationIn(Schema):
    order_id: int
    amount: Decimal


class PaymentIn(Schema):
    account_id: int
    amount: Decimal
    received_on: dt.date | None = Field(None, description="default: today")
    method: str = Field("bank_transfer", description="bank_transfer / cash / acceptance / cheque / online / other")
    reference: str = ""
    notes: str = ""
    allocations: list[AllocationIn] = []


class PaymentPatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    amount: Decimal | None = None
    received_on: dt.date | None = None
    method: str | None = None
    reference: str | None = None
    notes: str | None = None


class AllocationOut(Schema):
    id: int
    receipt: Ref
    order: Ref
    amount: Decimal
    created_at: dt.datetime


class AllocationPage(Schema):
    items: list[AllocationOut]
    next_cursor: str | None


class PaymentOut(Schema):
    id: int
    number: str
    account: Ref
    owner: Ref
    org_unit: Ref
    amount: Decimal
    allocated_amount: Decimal
    unallocated_amount: Decimal
    received_on: dt.date
    method: str
    reference: str
    notes: str
    version: int


class PaymentDetail(PaymentOut):
    allocations: list[AllocationOut]


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None


# --------------------------------------------------------------------------- receivables


class AgeingRow(Schema):
    key: int | None
    label: str
    not_due: Decimal
    d0_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    d90_plus: Decimal
    total: Decimal
    orders: int


class AgeingOut(Schema):
    group_by: str
    as_of: dt.date
    rows: list[AgeingRow]
    totals: dict[str, Decimal]


# --------------------------------------------------------------------------- approval rules


class RuleIn(Schema):
    name: str
    min_amount: Decimal | None = Field(None, description="total above this needs approval")
    min_discount_percent: Decimal | None = Field(None, description="a line discount above this needs approval")
    approver_role: str = Field("", description="role code of the approving manager (first in the chain)")
    manager_level: int | None = Field(None, description="or: the n-th manager above the owner (1 = direct)")
    active: bool = True


class RulePatch(Schema):
    version: int | None = Field(None, description=VERSION_HELP)
    name: str | None = None
    min_amount: Decimal | None = None
    min_discount_percent: Decimal | None = None
    approver_role: str | None = None
    manager_level: int | None = None
    active: bool | None = None


class RuleOut(Schema):
    id: int
    name: str
    min_amount: Decimal | None
    min_discount_percent: Decimal | None
    approver_role: str
    manager_level: int | None
    active: bool
    version: int
