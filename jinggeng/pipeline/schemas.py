"""JSON shapes of the pipeline API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

from jinggeng.core.api import Row


class Ref(Row):
    id: int
    name: str


# --------------------------------------------------------------------------- leads


class LeadIn(Schema):
    name: str
    company: str = ""
    phone: str = ""
    email: str = ""
    source: str = "other"
    interest: str = ""
    division: str | None = Field(None, description="GB/T 2260 code; routes the lead by territory")
    owner: str | None = Field(None, description="username, employee code or user id; default: routed")
    notes: str = ""


class LeadPatch(Schema):
    version: int | None = None
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    source: str | None = None
    status: str | None = None
    interest: str | None = None
    division: str | None = None
    notes: str | None = None


class LeadOut(Schema):
    id: int
    name: str
    company: str
    phone: str
    email: str
    source: str
    status: str
    interest: str
    division: str | None
    owner: Ref | None
    org_unit: Ref
    account: Ref | None
    contact: Ref | None
    opportunity: Ref | None
    converted_at: dt.datetime | None
    notes: str
    version: int
    created_at: dt.datetime


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class AssignIn(Schema):
    to_owner: str
    reason: str = ""


class AssignmentOut(Schema):
    at: dt.datetime
    rule: str
    from_owner: Ref | None
    to_owner: Ref | None
    to_unit: Ref | None
    by: Ref | None
    reason: str


class ConvertIn(Schema):
    version: int | None = None
    account_id: int | None = Field(None, description="link to this existing account instead of creating one")
    account: dict[str, Any] = Field(
        default_factory=dict, description="fields of the new account (as POST /customers/accounts)"
    )
    allow_duplicate: bool = False
    create_opportunity: bool = False
    opportunity: dict[str, Any] = Field(default_factory=dict, description="fields of the new opportunity")


# --------------------------------------------------------------------------- pipelines


class StageOut(Row):
    id: int
    name: str
    order: int
    probability: int
    required_fields: list[str]
    is_won: bool
    is_lost: bool


class PipelineOut(Schema):
    id: int
    code: str
    name: str
    stale_days: int
    stages: list[StageOut]


class LossReasonIn(Schema):
    name: str
    active: bool = True
    order: int = 0


class LossReasonOut(Schema):
    id: int
    name: str
    active: bool
    order: int


class BoardCard(Row):
    id: int
    name: str
    account: Ref
    owner: Ref | None
    amount: Decimal
    expected_close_date: dt.date | None
    version: int


class BoardColumnOut(Row):
    stage: StageOut
    count: int
    amount: Decimal
    weighted: Decimal
    cards: list[BoardCard]


class FunnelStageOut(Schema):
    stage_id: int
    name: str
    order: int
    probability: int
    is_won: bool
    is_lost: bool
    count: int
    amount: Decimal
    reached: int
    conversion: float | None
    records: str = Field(description="API URL of the opportunities behind the figure")


class FunnelOut(Schema):
    pipeline_id: int
    total: int
    won: int
    lost: int
    win_rate: float | None
    avg_cycle_days: float | None
    won_amount: Decimal
    stages: list[FunnelStageOut]


class ForecastMonthOut(Schema):
    month: str
    count: int
    amount: Decimal
    weighted: Decimal
    records: str


# --------------------------------------------------------------------------- opportunities


class LineIn(Schema):
    sku: str = Field(description="SKU id or code")
    quantity: Decimal
    unit: str = Field("piece", description="piece / pack / case or the SKU's unit name")
    price: Decimal


class OpportunityIn(Schema):
    name: str
    account: int
    pipeline: str | None = Field(None, description="pipeline id or code; default: the first")
    stage: str | None = Field(None, description="stage id or name; default: the first open stage")
    owner: str | None = None
    amount: Decimal | None = Field(None, description="default: the sum of the lines")
    expected_close_date: dt.date | None = None
    next_step: str = ""
    competitors: str = ""
    notes: str = ""
    lines: list[LineIn] = []


class OpportunityPatch(Schema):
    version: int | None = None
    name: str | None = None
    account: int | None = None
    owner: str | None = None
    amount: Decimal | None = None
    expected_close_date: dt.date | None = None
    next_step: str | None = None
    competitors: str | None = None
    notes: str | None = None
    lines: list[LineIn] | None = None


class LineOut(Schema):
    id: int
    sku: Ref
    quantity: Decimal
    unit: str
    quantity_pieces: Decimal
    price: Decimal
    amount: Decimal


class OpportunityItem(Schema):
    id: int
    name: str
    account: Ref
    owner: Ref | None
    org_unit: Ref
    pipeline: Ref
    stage: Ref
    status: str
    amount: Decimal
    probability: int
    expected_close_date: dt.date | None
    version: int
    created_at: dt.datetime


class OpportunityOut(OpportunityItem):
    next_step: str
    competitors: str
    notes: str
    lost_reason: Ref | None
    lost_note: str
    closed_at: dt.datetime | None
    stage_entered_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    cycle_days: float | None
    lines: list[LineOut]


class OpportunityPage(Schema):
    items: list[OpportunityItem]
    next_cursor: str | None


class MoveIn(Schema):
    stage: int
    version: int | None = None
    lost_reason: int | None = None
    lost_note: str = ""


class WinIn(Schema):
    version: int | None = None


class LoseIn(Schema):
    lost_reason: int | None = None
    note: str = ""
    version: int | None = None


class StageSpellOut(Schema):
    stage: Ref
    entered_at: dt.datetime
    left_at: dt.datetime | None
    days: float
    by: str | None


# --------------------------------------------------------------------------- activities


class ActivityIn(Schema):
    kind: str
    subject: str
    body: str = ""
    due_at: dt.datetime | None = None
    duration_minutes: int | None = None
    account: int | None = None
    contact: int | None = None
    lead: int | None = None
    opportunity: int | None = None
    owner: str | None = None
    done: bool = False


class ActivityPatch(Schema):
    version: int | None = None
    kind: str | None = None
    subject: str | None = None
    body: str | None = None
    due_at: dt.datetime | None = None
    duration_minutes: int | None = None
    account: int | None = None
    contact: int | None = None
    lead: int | None = None
    opportunity: int | None = None
    owner: str | None = None


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    due_at: dt.datetime | None
    duration_minutes: int
    done_at: dt.datetime | None
    account: Ref | None
    contact: Ref | None
    lead: Ref | None
    opportunity: Ref | None
    owner: Ref | None
    version: int
    created_at: dt.datetime


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class CalendarFeedOut(Schema):
    url: str
    token: str
