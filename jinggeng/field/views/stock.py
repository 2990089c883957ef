"""HTML pages of the field app's stock part, phone first: the stock count (one card per SKU,
big inputs), the suggested order, competitor notes, the customer card (客户卡, a plain GET page
the offline cache can keep) and distribution (铺货率). Thin: they parse the form, call one
service or selector, and render; service errors go back on the form (422), out of scope is 404.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.field.models import SuggestedOrderLine, Visit, VisitStatus
from jinggeng.field.selectors import stock as selectors
from jinggeng.field.services import stock as services
from jinggeng.org.models import OrgUnit

UNIT_FIELDS = ("stock_cases", "stock_pieces", "received_cases", "received_pieces", "facings", "price_seen")


def _get_or_404(fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render_page(request, "field/stock_denied.html", {"message": exc.message}, status=403)


def _visit_url(visit: Visit) -> str:
    """The visit's own page (visits part) when it exists; else the outlet's card."""
    for name in ("field:visit", "field:visit_detail"):
        try:
            return reverse(name, args=[visit.pk])
        except NoReverseMatch:
            continue
    return reverse("field:card", args=[visit.account_id])


def _form_status(request: HttpRequest, status: int) -> int:
    """422 for a refused form, but 200 to htmx, which swaps only successful answers (the errors
    are on the fragment either way)."""
    return 200 if is_htmx(request) else status


def _is_open(visit: Visit) -> bool:
    return visit.check_in_at is not None and visit.status not in services.CLOSED_STATUSES


def _visit_context(request: HttpRequest, visit: Visit) -> dict[str, Any]:
    return {
        "visit": visit,
        "visit_url": _visit_url(visit),
        "is_open": _is_open(visit),
        "visit_status": VisitStatus(visit.status).label,
    }


# --------------------------------------------------------------------------- stock count


def _form_lines(request: HttpRequest, rows: list[selectors.FormRow]) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows the rep filled in (any box not blank), as service lines; with their SKU ids."""
    lines: list[dict[str, Any]] = []
    sku_ids: list[int] = []
    for row in rows:
        prefix = f"s{row.sku.pk}-"
        values = {name: request.POST.get(prefix + name, "").strip() for name in UNIT_FIELDS}
        if not any(values.values()):
            continue
        line: dict[str, Any] = {"sku_id": row.sku.pk, **values}
        if not values["stock_cases"] and not values["stock_pieces"]:
            line.pop("stock_cases")
            line.pop("stock_pieces")
        lines.append(line)
        sku_ids.append(row.sku.pk)
    return lines, sku_ids


def _row_errors(exc: ValidationFailed, sku_ids: list[int]) -> tuple[dict[int, list[str]], list[str]]:
    by_sku: dict[int, list[str]] = {}
    general: list[str] = []
    for key, msgs in exc.field_errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(sku_ids):
            by_sku.setdefault(sku_ids[int(parts[1])], []).extend(msgs)
        else:
            general.extend(msgs)
    return by_sku, general


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def visit_stock(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _get_or_404(selectors.stock_visit_get, actor=request.user, visit_id=visit_id)
    rows = selectors.stock_form_rows(actor=request.user, visit=visit)
    errors: dict[int, list[str]] = {}
    general: list[str] = []
    posted: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        lines, sku_ids = _form_lines(request, rows)
        posted = {k: request.POST.get(k, "") for k in request.POST if k.startswith("s")}
        try:
            services.stock_count_record(actor=request.user, visit=visit.pk, lines=lines)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            errors, general = _row_errors(exc, sku_ids)
            if not errors and not general:
                general = [exc.message]
            status = 422
        else:
            messages.success(request, _("已保存 %(n)d 个 SKU 的盘点") % {"n": len(lines)})
            if visit.order_id is None and request.user.has_perm("field.add_suggestedorderline"):
                with contextlib.suppress(DomainError):
                    services.suggested_order_compute(actor=request.user, visit=visit.pk)
            target = reverse("field:visit_suggest", args=[visit.pk])
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
    for row in rows:
        row_errors = errors.get(row.sku.pk, [])
        row.errors = row_errors
        prefix = f"s{row.sku.pk}-"
        if posted:
            values = {name: posted.get(prefix + name, "") for name in UNIT_FIELDS}
        elif row.current is not None:
            cases, pieces = divmod(row.current.stock, row.sku.pieces_per_case)
            r_cases, r_pieces = divmod(row.current.received, row.sku.pieces_per_case)
            values = {
                "stock_cases": str(cases) if cases else "",
                "stock_pieces": str(pieces),
                "received_cases": str(r_cases) if r_cases else "",
                "received_pieces": str(r_pieces) if r_pieces else "",
                "facings": "" if row.current.facings is None else str(row.current.facings),
                "price_seen": "" if row.current.price_seen is None else str(row.current.price_seen),
            }
        else:
            values = dict.fromkeys(UNIT_FIELDS, "")
        row.values = values
    context = {**_visit_context(request, visit), "rows": rows, "general_errors": general}
    return render_page(
        request, "field/stock_count.html", context, fragment="sheet", status=_form_status(request, status)
    )


# --------------------------------------------------------------------------- suggested order


@dataclass
class SuggestRow:
    line: SuggestedOrderLine
    value: str
    unit_name: str


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def visit_suggest(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _get_or_404(selectors.stock_visit_get, actor=request.user, visit_id=visit_id)
    status = 200
    errors: list[str] = []
    result: services.AcceptResult | None = None
    if request.method == "POST":
        action = request.POST.get("action", "accept")
        try:
            if action == "compute":
                services.suggested_order_compute(actor=request.user, visit=visit.pk)
            else:
                lines = selectors.visit_suggested_lines(actor=request.user, visit_id=visit.pk)
                quantities = {str(ln.sku_id): request.POST.get(f"q{ln.sku_id}", "").strip() or "0" for ln in lines}
                result = services.suggested_order_accept(actor=request.user, visit=visit.pk, quantities=quantities)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            errors = [m for msgs in exc.field_errors.values() for m in msgs] or [exc.message]
            status = 422
        visit = selectors.stock_visit_get(actor=request.user, visit_id=visit.pk)
    lines = selectors.visit_suggested_lines(actor=request.user, visit_id=visit.pk)
    rows = []
    for line in lines:
        default = line.accepted_qty if line.accepted_qty is not None else line.suggested_qty
        value = request.POST.get(f"q{line.sku_id}", str(default)) if status == 422 else str(default)
        unit_name = str((line.inputs or {}).get("unit_name") or line.sku.case_unit)
        rows.append(SuggestRow(line=line, value=value, unit_name=unit_name))
    context = {
        **_visit_context(request, visit),
        "rows": rows,
        "errors": errors,
        "result": result,
        "can_order": request.user.has_perm("orders.add_salesorder"),
    }
    return render_page(
        request, "field/stock_suggest.html", context, fragment="suggestion", status=_form_status(request, status)
    )


# --------------------------------------------------------------------------- competitor notes

COMPETITOR_FIELDS = ("brand", "brand_name", "product", "price", "promotion", "notes")


@login_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def visit_competitor(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _get_or_404(selectors.stock_visit_get, actor=request.user, visit_id=visit_id)
    status = 200
    errors: dict[str, list[str]] = {}
    values = dict.fromkeys(COMPETITOR_FIELDS, "")
    if request.method == "POST":
        data = {name: request.POST.get(name, "").strip() for name in COMPETITOR_FIELDS}
        try:
            services.competitor_note_add(actor=request.user, visit=visit.pk, data=data)
        except PermissionDenied as exc:
            return _forbidden(request, exc)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ValidationFailed as exc:
            errors = exc.field_errors or {"general": [exc.message]}
            values = data
            status = 422
        else:
            messages.success(request, _("已记录竞品信息"))
    context = {
        **_visit_context(request, visit),
        "notes": selectors.visit_competitor_notes(actor=request.user, visit_id=visit.pk),
        "brands": selectors.competitor_brands(),
        "errors": errors,
        "values": values,
    }
    return render_page(
        request, "field/competitor_notes.html", context, fragment="notes", status=_form_status(request, status)
    )


# --------------------------------------------------------------------------- customer card and distribution


@login_required
def card(request: HttpRequest, account_id: int) -> HttpResponse:
    """The customer card (客户卡): a plain GET page, readable from the offline cache."""
    the_card = _get_or_404(selectors.customer_card, actor=request.user, account_id=account_id)
    open_visits = [v for v in the_card.visits if _is_open(v) and v.rep_id == request.user.pk]
    return render_page(
        request, "field/card.html", {"card": the_card, "open_visit": open_visits[0] if open_visits else None}
    )


def _int(value: str) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


@login_required
@vary_on_headers("HX-Request")
def distribution(request: HttpRequest) -> HttpResponse:
    units = selectors.distribution_units(actor=request.user)
    unit_id = _int(request.GET.get("org_unit", ""))
    unit = next((u for u in units if u.pk == unit_id), None)
    if unit_id is not None and unit is None:
        unit = OrgUnit.objects.filter(pk=unit_id).first()
    window = _int(request.GET.get("window_days", "")) or selectors.DEFAULT_WINDOW_DAYS
    on: dt.date | None = None
    try:
        on = dt.date.fromisoformat(request.GET.get("on", "")) if request.GET.get("on") else None
    except ValueError:
        on = None
    try:
        table = selectors.distribution_table(actor=request.user, org_unit=unit, window_days=window, on=on)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    context = {"table": table, "units": units, "unit": unit, "window": table.window_days}
    return render_page(request, "field/distribution.html", context, fragment="table")
