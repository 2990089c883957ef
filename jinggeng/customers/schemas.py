"""JSON shapes of the customers API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from jinggeng.core.api import Row


class AccountIn(Schema):
    code: str | None = None
    name: str
    short_name: str = ""
    account_type: str
    channel_type: str | None = Field(None, description="channel type code")
    grade: str = "C"
    credit_rating: str = ""
    credit_limit: Decimal = Decimal("0")
    tax_id: str = ""
    phone: str = ""
    address: str = ""
    division: str = Field(..., description="GB/T 2260 six-digit code")
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    owner: str | None = Field(None, description="username or employee code; default: you")
    org_unit: str | None = Field(None, description="org unit code; default: the owner's unit")
    status: str = "active"
    tags: list[str] = []
    notes: str = ""
    custom: dict[str, Any] = {}


class AccountPatch(Schema):
    version: int | None = Field(None, description="the version you edited; a newer one answers 409")
    code: str | None = None
    name: str | None = None
    short_name: str | None = None
    account_type: str | None = None
    channel_type: str | None = None
    grade: str | None = None
    credit_rating: str | None = None
    credit_limit: Decimal | None = None
    tax_id: str | None = None
    phone: str | None = None
    address: str | None = None
    division: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    owner: str | None = None
    org_unit: str | None = None
    status: str | None = None
    tags: list[str] | None = None
    notes: str | None = None
    custom: dict[str, Any] | None = None


class Ref(Row):
    id: int
    name: str


class AccountOut(Row):
    id: int
    code: str | None
    name: str
    short_name: str
    account_type: str
    channel_type: str | None
    grade: str
    credit_rating: str
    credit_limit: Decimal
    tax_id: str
    phone: str
    address: str
    division: str
    division_name: str
    latitude: Decimal | None
    longitude: Decimal | None
    owner: Ref | None
    org_unit: Ref
    status: str
    tags: list[str]
    custom: dict[str, Any]
    notes: str
    merged_into: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountListItem(Row):
    id: int
    code: str | None
    name: str
    account_type: str
    grade: str
    status: str
    division: str
    division_name: str
    phone: str
    owner: Ref | None
    org_unit: Ref
    latitude: Decimal | None
    longitude: Decimal | None


class AccountPage(Row):
    items: list[AccountListItem]
    next_cursor: str | None


class OwnershipOut(Schema):
    changed_at: dt.datetime
    from_owner: str | None
    to_owner: str | None
    changed_by: str | None
    reason: str


class TransferIn(Schema):
    to_owner: str = Field(..., description="username or employee code of the new owner")
    reason: str


class TransferAllIn(Schema):
    from_owner: str
    to_owner: str
    reason: str


class TransferAllOut(Schema):
    moved: int


class MergeIn(Schema):
    merged_id: int
    reason: str = ""


class DuplicateOut(Schema):
    id: int | None
    name: str
    reasons: list[str]
    org_unit: str


class ContactIn(Schema):
    account_id: int
    code: str | None = None
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""
    birthday: dt.date | None = None
    is_primary: bool = False
    notes: str = ""


class ContactPatch(Schema):
    version: int | None = None
    code: str | None = None
    name: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: dt.date | None = None
    is_primary: bool | None = None
    notes: str | None = None


class ContactOut(Schema):
    id: int
    account: Ref
    code: str | None
    name: str
    role: str
    phone: str
    email: str
    birthday: dt.date | None
    is_primary: bool
    notes: str
    version: int


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class SupplyLinkIn(Schema):
    supplier_id: int
    customer_id: int
    product_group: str | None = Field(None, description="category code, or none for all products")


class SupplyLinkOut(Schema):
    id: int
    supplier: Ref
    customer: Ref
    product_group: str | None
    active: bool


class SupplyLinkPage(Schema):
    items: list[SupplyLinkOut]
    next_cursor: str | None


class ChannelTypeOut(Schema):
    code: str
    name: str
    name_en: str


class CustomFieldOut(Schema):
    key: str
    label: str
    label_en: str
    account_type: str
    field_type: str
    choices: list[str]
    required: bool


class MapPoint(Schema):
    id: int
    name: str
    type: str
    grade: str
    lat: float
    lng: float
