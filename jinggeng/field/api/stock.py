"""JSON API of the field app: stock counts, suggested orders, competitor notes, the stock sheet
(进销存) and distribution (铺货率), under ``/api/v1/field/``.

Writes that a device may retry (recording a count, accepting a suggestion, adding a competitor
note) take an ``Idempotency-Key`` header: a retry with the same key and body answers with the
first result (header ``Idempotent-Replayed: true``) and changes nothing; the same key with
another body answers 409 ``idempotency_key_reused``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status

from jinggeng.catalog.models import Sku
from jinggeng.core.errors import ValidationFailed
from jinggeng.field.models import CompetitorNote, StockCount, SuggestedOrderLine
from jinggeng.field.selectors import stock as selectors
from jinggeng.field.services import stock as services
from jinggeng.org.models import OrgUnit

router = Router()

IDEMPOTENCY_HELP = "a unique key per logical request (8–100 characters): a retry with it changes nothing more"


# --------------------------------------------------------------------------- schemas


class StockLineIn(Schema):
    sku: str | int = Field(..., description="SKU code or id")
    stock: int | None = Field(None, description="pieces on hand; or give stock_cases / stock_packs / stock_pieces")
    stock_cases: int | None = None
    stock_packs: int | None = None
    stock_pieces: int | None = None
    received: int | None = Field(None, description="pieces received since the last visit; or received_* by unit")
    received_cases: int | None = None
    received_packs: int | None = None
    received_pieces: int | None = None
    facings: int | None = None
    price_seen: Decimal | None = Field(None, description="shelf price per piece")


class StockIn(Schema):
    lines: list[StockLineIn]


class StockCountOut(Schema):
    sku_id: int
    sku_code: str
    sku_name: str
    counted_on: dt.date
    stock: int
    received: int
    facings: int | None
    price_seen: Decimal | None


class SuggestedLineOut(Schema):
    sku_id: int
    sku_code: str
    sku_name: str
    stock: int
    daily_rate: Decimal
    days_to_next_visit: int
    lead_time_days: int
    safety_stock: int
    suggested_pieces: int
    unit: str
    unit_pieces: int
    suggested_qty: int
    accepted_qty: int | None
    inputs: dict[str, Any]


class SuggestionOut(Schema):
    visit_id: int
    formula: str
    order_id: int | None
    order_number: str | None
    lines: list[SuggestedLineOut]


class QuantityIn(Schema):
    sku: str | int = Field(..., description="SKU code or id")
    quantity: int = Field(..., description="in the line's unit (a case by default)")


class AcceptIn(Schema):
    quantities: list[QuantityIn] = Field([], description="SKUs not named keep the suggested quantity")


class AcceptOut(SuggestionOut):
    status: str = Field(..., description="ordered / nothing_to_order / no_order_permission / replayed")
    message: str
    created: bool


class CompetitorIn(Schema):
    brand: str | None = Field(None, description="competitor brand code or id from the catalog")
    brand_name: str = Field("", description="free brand name when the brand is not in the catalog")
    product: str = ""
    price: Decimal | None = None
    promotion: str = ""
    notes: str = ""


class CompetitorOut(Schema):
    id: int
    visit_id: int | None
    account_id: int
    seen_on: dt.date
    brand_id: int | None
    brand_name: str
    product: str
    price: Decimal | None
    promotion: str
    notes: str


class SheetEntryOut(Schema):
    visit_id: int
    day: dt.date
    stock: int
    received: int
    sold: int | None
    facings: int | None
    price_seen: Decimal | None


class SheetRowOut(Schema):
    sku_id: int
    sku_code: str
    sku_name: str
    entries: list[SheetEntryOut]


class SheetOut(Schema):
    account_id: int
    days: list[dt.date]
    rows: list[SheetRowOut]


class DistributionQuery(Schema):
    org_unit: int | None = Field(None, description="org unit id (with the units below it); empty: the whole scope")
    sku: str | None = Field(None, description="one SKU (code or id); empty: every active SKU")
    window_days: int = 30
    on: dt.date | None = Field(None, description="last day of the window (today)")


class DistributionRowOut(Schema):
    sku_id: int
    sku_code: str
    sku_name: str
    outlets_in_stock: int
    outlets: int
    outlets_counted: int
    numeric_percent: Decimal | None
    weight_in_stock: int
    weight_total: int
    weighted_percent: Decimal | None


class DistributionOut(Schema):
    org_unit_id: int | None
    start: dt.date
    end: dt.date
    window_days: int
    outlets: int
    outlets_counted: int
    weight_total: int
    numeric_definition: str
    weighted_definition: str
    rows: list[DistributionRowOut]


# --------------------------------------------------------------------------- shaping


def count_out(count: StockCount) -> dict[str, Any]:
    return {
        "sku_id": count.sku_id,
        "sku_code": count.sku.code,
        "sku_name": count.sku.name,
        "counted_on": count.counted_on,
        "stock": count.stock,
        "received": count.received,
        "facings": count.facings,
        "price_seen": count.price_seen,
    }


def line_out(line: SuggestedOrderLine) -> dict[str, Any]:
    return {
        "sku_id": line.sku_id,
        "sku_code": line.sku.code,
        "sku_name": line.sku.name,
        "stock": line.stock,
        "daily_rate": line.daily_rate,
        "days_to_next_visit": line.days_to_next_visit,
        "lead_time_days": line.lead_time_days,
        "safety_stock": line.safety_stock,
        "suggested_pieces": line.suggested_pieces,
        "unit": line.unit,
        "unit_pieces": int((line.inputs or {}).get("unit_pieces") or line.sku.pieces_per_case),
        "suggested_qty": line.suggested_qty,
        "accepted_qty": line.accepted_qty,
        "inputs": line.inputs or {},
    }


def formula() -> str:
    return "max(0, rate × (days_to_next_visit + lead_time_days) + safety_stock − stock), rounded up to whole units"


def suggestion_out(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit = selectors.stock_visit_get(actor=request.user, visit_id=visit_id)
    lines = selectors.visit_suggested_lines(actor=request.user, visit_id=visit_id)
    return {
        "visit_id": visit.pk,
        "formula": formula(),
        "order_id": visit.order_id,
        "order_number": visit.order.number if visit.order is not None else None,
        "lines": [line_out(ln) for ln in lines],
    }


def note_out(note: CompetitorNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "visit_id": note.visit_id,
        "account_id": note.account_id,
        "seen_on": note.seen_on,
        "brand_id": note.brand_id,
        "brand_name": note.brand_name,
        "product": note.product,
        "price": note.price,
        "promotion": note.promotion,
        "notes": note.notes,
    }


def _payload_lines(payload: StockIn) -> list[dict[str, Any]]:
    return [line.dict(exclude_none=True) for line in payload.lines]


# --------------------------------------------------------------------------- endpoints


@router.get("/visits/{visit_id}/stock", response=list[StockCountOut], summary="The stock counted at a visit")
def get_stock(request: HttpRequest, visit_id: int) -> list[dict[str, Any]]:
    return [count_out(c) for c in selectors.visit_stock_counts(actor=request.user, visit_id=visit_id)]


@router.put("/visits/{visit_id}/stock", response=list[StockCountOut], summary="Record the stock count of a visit")
def put_stock(
    request: HttpRequest,
    visit_id: int,
    payload: StockIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> list[dict[str, Any]]:
    """One line per SKU, in pieces or by unit (`stock_cases` + `stock_packs` + `stock_pieces`).
    Replaces the visit's earlier lines; writes the STOCK step (and SHELF with facings or prices).
    Negative counts, unknown or discontinued SKUs and a SKU twice answer 422 naming the line
    (`lines.<i>.<field>`), and nothing is saved."""
    counts = services.stock_count_record(
        actor=request.user, visit=visit_id, lines=_payload_lines(payload), idempotency_key=idempotency_key
    )
    return [count_out(c) for c in counts]


@router.get("/visits/{visit_id}/suggestion", response=SuggestionOut, summary="The suggested order of a visit")
def get_suggestion(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    return suggestion_out(request, visit_id)


@router.post("/visits/{visit_id}/suggestion", response=SuggestionOut, summary="Compute the suggested order")
def compute_suggestion(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    """From this visit's count and the outlet's earlier counts: sell-through per interval, daily
    rate over the last 3 intervals weighted by days, then the formula in `formula`; each line
    carries its inputs."""
    services.suggested_order_compute(actor=request.user, visit=visit_id)
    return suggestion_out(request, visit_id)


@router.post("/visits/{visit_id}/suggestion/accept", response=AcceptOut, summary="Accept the suggested order")
def accept_suggestion(
    request: HttpRequest,
    visit_id: int,
    payload: AcceptIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """The accepted quantities become one draft order for the outlet (accepting again updates
    that draft, never a second order). Without the permission to create orders the accepted
    suggestion stays on the visit (`status` = `no_order_permission`)."""
    quantities = [{"sku": q.sku, "quantity": q.quantity} for q in payload.quantities]
    result = services.suggested_order_accept(
        actor=request.user, visit=visit_id, quantities=quantities, idempotency_key=idempotency_key
    )
    if result.status == "replayed":
        response["Idempotent-Replayed"] = "true"
    return {
        **suggestion_out(request, visit_id),
        "status": result.status,
        "message": result.message,
        "created": result.created,
    }


@router.get("/visits/{visit_id}/competitor-notes", response=list[CompetitorOut], summary="Competitor notes of a visit")
def list_competitor_notes(request: HttpRequest, visit_id: int) -> list[dict[str, Any]]:
    return [note_out(n) for n in selectors.visit_competitor_notes(actor=request.user, visit_id=visit_id)]


@router.post("/visits/{visit_id}/competitor-notes", response={201: CompetitorOut}, summary="Add a competitor note")
def add_competitor_note(
    request: HttpRequest,
    visit_id: int,
    payload: CompetitorIn,
    response: HttpResponse,
    idempotency_key: str = Header("", alias="Idempotency-Key", description=IDEMPOTENCY_HELP),  # type: ignore[type-arg]
) -> Status[dict[str, Any]]:
    """A competitor brand from the catalog (`brand`) or a free `brand_name`; price ≥ 0. Writes
    the COMPETITOR step."""
    note, created = services.competitor_note_add(
        actor=request.user, visit=visit_id, data=payload.dict(), idempotency_key=idempotency_key
    )
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, note_out(note))


@router.get("/accounts/{account_id}/stock-sheet", response=SheetOut, summary="The outlet's stock sheet (进销存)")
def get_stock_sheet(request: HttpRequest, account_id: int, visits: int = 8) -> dict[str, Any]:
    sheet = selectors.stock_sheet(actor=request.user, account=account_id, visits=max(1, min(visits, 52)))
    return {
        "account_id": sheet.account.pk,
        "days": sheet.days,
        "rows": [
            {
                "sku_id": row.sku.pk,
                "sku_code": row.sku.code,
                "sku_name": row.sku.name,
                "entries": [vars(e) for e in row.entries],
            }
            for row in sheet.rows
        ],
    }


def _org_unit(value: int | None) -> OrgUnit | None:
    if value is None:
        return None
    unit = OrgUnit.objects.filter(pk=value).first()
    if unit is None:
        raise ValidationFailed(_("组织不存在"), field="org_unit")
    return unit


def _sku(value: str | None) -> Sku | None:
    if not value:
        return None
    text = value.strip()
    sku = Sku.objects.filter(code=text).first() or (
        Sku.objects.filter(pk=int(text)).first() if text.isdigit() and len(text) < 12 else None
    )
    if sku is None:
        raise ValidationFailed(_("SKU 不存在：%(sku)s") % {"sku": text}, field="sku")
    return sku


@router.get("/distribution", response=DistributionOut, summary="Distribution (铺货率) per SKU for an area")
def get_distribution(request: HttpRequest, query: Query[DistributionQuery]) -> dict[str, Any]:
    """Numeric: outlets with the SKU in stock at their latest counting visit in the window ÷
    active outlets of the area. Weighted: the same, each outlet weighted by the pieces it
    received (all SKUs) in the window. Both definitions come with the answer."""
    unit = _org_unit(query.org_unit)
    sku = _sku(query.sku)
    table = selectors.distribution_for(
        actor=request.user,
        org_unit=unit,
        skus=[sku] if sku is not None else None,
        window_days=query.window_days,
        on=query.on,
    )
    rows = table.rows
    return {
        "org_unit_id": unit.pk if unit else None,
        "start": table.start,
        "end": table.end,
        "window_days": table.window_days,
        "outlets": table.outlets,
        "outlets_counted": table.outlets_counted,
        "weight_total": table.weight_total,
        "numeric_definition": table.numeric_definition,
        "weighted_definition": table.weighted_definition,
        "rows": [
            {
                "sku_id": r.sku.pk,
                "sku_code": r.sku.code,
                "sku_name": r.sku.name,
                "outlets_in_stock": r.outlets_in_stock,
                "outlets": r.outlets,
                "outlets_counted": r.outlets_counted,
                "numeric_percent": r.numeric,
                "weight_in_stock": r.weight_in_stock,
                "weight_total": r.weight_total,
                "weighted_percent": r.weighted,
            }
            for r in rows
        ],
    }
