"""HTML pages of order to cash: thin views over selectors and services.

Out of scope is 404 everywhere; forms post with htmx and get their fragment back with the
errors inline; nothing is saved when a service refuses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.catalog.models import ProductStatus, Sku
from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.core.pagination import Page
from jinggeng.customers import selectors as customer_selectors
from jinggeng.orders import selectors, services
from jinggeng.orders.forms import (
    AllocationForm,
    AttachmentForm,
    ContractForm,
    LineForm,
    OrderForm,
    PaymentForm,
    PriceItemForm,
    PriceListForm,
)
from jinggeng.orders.models import ContractStatus, OrderStatus, PaymentMethod
from jinggeng.orders.selectors import bucket_labels

View = Callable[..., HttpResponse]


def _get_or_404(fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str) -> int | None:
    return int(value) if value and value.isdigit() else None


def _accounts(actor: Any) -> list[Any]:
    return customer_selectors.account_list(actor=actor, limit=settings.PAGE_SIZE_MAX).items


def _skus() -> list[Sku]:
    return list(Sku.objects.exclude(status=ProductStatus.DISCONTINUED).order_by("code")[:500])


def _redirect(request: HttpRequest, target: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    return query.urlencode()


# --------------------------------------------------------------------------- orders

ORDER_SORTS = [
    ("-order_date", gettext_lazy("最新下单")),
    ("-total_amount", gettext_lazy("金额最大")),
    ("due_date", gettext_lazy("最早到期")),
]


@login_required
@vary_on_headers("HX-Request")
def order_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    sort = g.get("sort", "-order_date")
    if sort not in dict(ORDER_SORTS):
        sort = "-order_date"
    filters = selectors.OrderFilters(
        status=g.get("status", ""),
        account=_int(g.get("account", "")),
        owner=_int(g.get("owner", "")),
        org_unit=_int(g.get("org_unit", "")),
        date_from=_date(g.get("date_from", "")),
        date_to=_date(g.get("date_to", "")),
        q=g.get("q", "").strip(),
        to_approve=g.get("to_approve") == "1",
    )
    error = ""
    try:
        page = selectors.order_list(
            actor=request.user,
            filters=filters,
            sort=sort,
            cursor=g.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
    except ValidationFailed as exc:
        page, error = Page(items=[], next_cursor=None, sort=sort), str(exc)
    context = {
        "page": page,
        "error": error,
        "f": g,
        "sort": sort,
        "sorts": ORDER_SORTS,
        "statuses": OrderStatus.choices,
        "query": _query(request),
        "can_add": request.user.has_perm("orders.add_salesorder"),
    }
    return render_page(request, "orders/order_list.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def order_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("orders.add_salesorder"):
        raise Http404
    accounts = _accounts(request.user)
    if request.method == "POST":
        form = OrderForm(request.POST, accounts=accounts)
        if form.is_valid():
            try:
                order, _created = services.order_create(actor=request.user, data=form.service_data())
                return _redirect(request, reverse("orders:order_edit", args=[order.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (PermissionDenied, NotFound, Conflict) as exc:
                form.add_error(None, exc.message)
    else:
        initial = {"order_date": timezone.localdate().isoformat(), "account_id": request.GET.get("account", "")}
        form = OrderForm(initial=initial, accounts=accounts)
    return render_page(request, "orders/order_form.html", {"form": form}, fragment="form")


@login_required
@vary_on_headers("HX-Request")
def order_header_edit(request: HttpRequest, order_id: int) -> HttpResponse:
    """Change a draft order's customer, date, terms, contract or notes (with its version)."""
    order = _get_or_404(selectors.order_get, actor=request.user, order_id=order_id)
    if not request.user.has_perm("orders.change_salesorder") or order.status != OrderStatus.DRAFT:
        raise Http404
    accounts = _accounts(request.user)
    if order.account not in accounts:
        accounts = [order.account, *accounts]
    if request.method == "POST":
        form = OrderForm(request.POST, accounts=accounts)
        if form.is_valid():
            try:
                services.order_update(
                    actor=request.user,
                    order_id=order.pk,
                    data=form.service_data(),
                    expected_version=form.cleaned_data.get("version"),
                )
                return _redirect(request, reverse("orders:order_edit", args=[order.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (PermissionDenied, Conflict) as exc:
                form.add_error(None, exc.message)
    else:
        form = OrderForm(
            initial={
                "account_id": order.account_id,
                "order_date": order.order_date.isoformat(),
                "payment_terms_days": order.payment_terms_days,
                "contract_id": order.contract_id or "",
                "notes": order.notes,
                "version": order.version,
            },
            accounts=accounts,
        )
    return render_page(request, "orders/order_form.html", {"form": form, "order": order}, fragment="form")


def _order_context(request: HttpRequest, order_id: int) -> dict[str, Any]:
    order = _get_or_404(selectors.order_get, actor=request.user, order_id=order_id)
    user = request.user
    can_change = user.has_perm("orders.change_salesorder")
    return {
        "order": order,
        "lines": selectors.order_lines(order),
        "transitions": selectors.order_transitions(order),
        "allocations": selectors.order_allocations(order),
        "history": list(selectors.order_history(actor=user, order_id=order.pk)[:50]),
        "can_edit": can_change and order.status == OrderStatus.DRAFT,
        "can_submit": can_change and order.status == OrderStatus.DRAFT,
        "can_approve": order.status == OrderStatus.SUBMITTED and services.can_approve(user, order),
        "can_ship": user.has_perm("orders.ship_salesorder") and order.status == OrderStatus.APPROVED,
        "can_complete": user.has_perm("orders.ship_salesorder") and order.status == OrderStatus.SHIPPED,
        "can_cancel": order.status in (OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.APPROVED)
        and user.has_perm(
            "orders.approve_salesorder" if order.status == OrderStatus.APPROVED else "orders.change_salesorder"
        )
        and not order.allocated_amount,
    }


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return render_page(request, "orders/order_detail.html", _order_context(request, order_id))


@login_required
@vary_on_headers("HX-Request")
def order_edit(request: HttpRequest, order_id: int) -> HttpResponse:
    """Order entry: add lines with htmx (SKU, unit, quantity → price from the price lists)."""
    context = _order_context(request, order_id)
    if not context["can_edit"]:
        raise Http404
    context["line_form"] = LineForm(initial={"unit": "case", "version": context["order"].version}, skus=_skus())
    return render_page(request, "orders/order_edit.html", context, fragment="lines")


@login_required
@require_POST
def order_line_add(request: HttpRequest, order_id: int) -> HttpResponse:
    context = _order_context(request, order_id)
    if not context["can_edit"]:
        raise Http404
    form = LineForm(request.POST, skus=_skus())
    status = 200
    if form.is_valid():
        try:
            services.order_line_add(
                actor=request.user,
                order_id=order_id,
                data=form.service_data(),
                expected_version=form.cleaned_data.get("version"),
            )
            context = _order_context(request, order_id)
            form = LineForm(
                initial={"unit": form.cleaned_data["unit"], "version": context["order"].version}, skus=_skus()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
            status = 422
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
    else:
        status = 422
    context["line_form"] = form
    return render_page(
        request, "orders/order_edit.html", context, fragment="lines", status=status if not is_htmx(request) else 200
    )


@login_required
@require_POST
def order_line_delete(request: HttpRequest, order_id: int, line_id: int) -> HttpResponse:
    context = _order_context(request, order_id)
    if not context["can_edit"]:
        raise Http404
    try:
        services.order_line_delete(actor=request.user, order_id=order_id, line_id=line_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = _order_context(request, order_id)
    context["line_form"] = LineForm(initial={"unit": "case", "version": context["order"].version}, skus=_skus())
    return render_page(request, "orders/order_edit.html", context, fragment="lines")


@login_required
def order_price(request: HttpRequest, order_id: int) -> HttpResponse:
    """The price a line would get (htmx, as SKU, unit and quantity change)."""
    order = _get_or_404(selectors.order_get, actor=request.user, order_id=order_id)
    g = request.GET
    quote: dict[str, Any] | None = None
    error = ""
    if g.get("sku"):
        try:
            quote = selectors.price_quote(
                actor=request.user,
                account_id=order.account_id,
                sku=g.get("sku", ""),
                on_date=order.order_date,
                quantity=g.get("quantity") or "1",
                unit=g.get("unit") or "piece",
            )
        except ValidationFailed as exc:
            error = "；".join(m for msgs in exc.field_errors.values() for m in msgs) or exc.message
        except NotFound as exc:
            raise Http404(exc.message) from exc
    return render_page(
        request, "orders/order_edit.html", {"quote": quote, "quote_error": error, "order": order}, fragment="quote"
    )


ACTION_LABELS = {
    "submit": gettext_lazy("提交"),
    "approve": gettext_lazy("审批通过"),
    "reject": gettext_lazy("驳回"),
    "ship": gettext_lazy("发货"),
    "complete": gettext_lazy("完成"),
    "cancel": gettext_lazy("取消"),
}


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    if action not in services.ORDER_ACTIONS:
        raise Http404
    _get_or_404(selectors.order_get, actor=request.user, order_id=order_id)
    version = _int(request.POST.get("version", ""))
    try:
        services.ORDER_ACTIONS[action](
            actor=request.user, order_id=order_id, note=request.POST.get("note", ""), expected_version=version
        )
        messages.success(request, _("已%(action)s") % {"action": ACTION_LABELS[action]})
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    return _redirect(request, reverse("orders:order_detail", args=[order_id]))


# --------------------------------------------------------------------------- payments


@login_required
@vary_on_headers("HX-Request")
def payment_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    page = selectors.payment_list(
        actor=request.user,
        account_id=_int(g.get("account", "")),
        owner=_int(g.get("owner", "")),
        unallocated=g.get("unallocated") == "1",
        date_from=_date(g.get("date_from", "")),
        date_to=_date(g.get("date_to", "")),
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    context = {
        "page": page,
        "f": g,
        "query": _query(request),
        "methods": dict(PaymentMethod.choices),
        "can_add": request.user.has_perm("orders.add_paymentreceipt"),
    }
    return render_page(request, "orders/payment_list.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def payment_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("orders.add_paymentreceipt"):
        raise Http404
    accounts = _accounts(request.user)
    if request.method == "POST":
        form = PaymentForm(request.POST, accounts=accounts)
        if form.is_valid():
            try:
                receipt, _created = services.payment_create(actor=request.user, data=form.service_data())
                return _redirect(request, reverse("orders:payment_detail", args=[receipt.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (PermissionDenied, NotFound, Conflict) as exc:
                form.add_error(None, exc.message)
    else:
        form = PaymentForm(
            initial={"received_on": timezone.localdate().isoformat(), "account_id": request.GET.get("account", "")},
            accounts=accounts,
        )
    return render_page(request, "orders/payment_form.html", {"form": form}, fragment="form")


def _payment_context(request: HttpRequest, receipt_id: int, form: AllocationForm | None = None) -> dict[str, Any]:
    receipt = _get_or_404(selectors.payment_get, actor=request.user, receipt_id=receipt_id)
    orders = selectors.open_orders_for_account(actor=request.user, account_id=receipt.account_id)
    return {
        "receipt": receipt,
        "allocations": selectors.payment_allocations(receipt),
        "history": list(selectors.payment_history(actor=request.user, receipt_id=receipt.pk)[:50]),
        "form": form or AllocationForm(orders=orders),
        "open_orders": orders,
        "can_allocate": request.user.has_perm("orders.add_paymentallocation") and receipt.unallocated_amount > 0,
        "can_unallocate": request.user.has_perm("orders.delete_paymentallocation"),
    }


@login_required
def payment_detail(request: HttpRequest, receipt_id: int) -> HttpResponse:
    return render_page(request, "orders/payment_detail.html", _payment_context(request, receipt_id))


@login_required
@require_POST
def payment_allocate(request: HttpRequest, receipt_id: int) -> HttpResponse:
    context = _payment_context(request, receipt_id)
    form = AllocationForm(request.POST, orders=context["open_orders"])
    if form.is_valid():
        try:
            services.allocation_create(
                actor=request.user,
                receipt_id=receipt_id,
                order_id=form.cleaned_data["order_id"],
                amount=form.cleaned_data["amount"],
            )
            return _redirect(request, reverse("orders:payment_detail", args=[receipt_id]))
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except PermissionDenied as exc:
            form.add_error(None, exc.message)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    context["form"] = form
    return render_page(request, "orders/payment_detail.html", context, fragment="allocate")


@login_required
@require_POST
def allocation_delete(request: HttpRequest, allocation_id: int) -> HttpResponse:
    allocation = _get_or_404(selectors.allocation_get, actor=request.user, allocation_id=allocation_id)
    try:
        services.allocation_delete(actor=request.user, allocation_id=allocation_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    return _redirect(request, reverse("orders:payment_detail", args=[allocation.receipt_id]))


# --------------------------------------------------------------------------- receivables

GROUPS = [
    ("org_unit", gettext_lazy("按组织")),
    ("owner", gettext_lazy("按负责人")),
    ("account", gettext_lazy("按客户")),
]


@login_required
@vary_on_headers("HX-Request")
def receivables(request: HttpRequest) -> HttpResponse:
    g = request.GET
    group_by = g.get("group_by", "org_unit")
    if group_by not in dict(GROUPS):
        group_by = "org_unit"
    as_of = _date(g.get("as_of", "")) or timezone.localdate()
    filters = selectors.ReceivableFilters(
        owner=_int(g.get("owner", "")), org_unit=_int(g.get("org_unit", "")), account=_int(g.get("account", ""))
    )
    data = selectors.receivables_ageing(actor=request.user, group_by=group_by, as_of=as_of, filters=filters)
    labels = bucket_labels()
    context = {
        "data": data,
        "rows": [{"row": r, "cells": [(k, label, r[k]) for k, label in labels.items()]} for r in data["rows"]],
        "total_cells": [(k, data["totals"][k]) for k in labels],
        "group_by": group_by,
        "groups": GROUPS,
        "as_of": as_of,
        "buckets": list(bucket_labels().items()),
        "f": g,
        "filter_key": {"org_unit": "org_unit", "owner": "owner", "account": "account"}[group_by],
    }
    return render_page(request, "orders/receivables.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def receivable_orders(request: HttpRequest) -> HttpResponse:
    """The orders behind one figure of the ageing page."""
    g = request.GET
    as_of = _date(g.get("as_of", "")) or timezone.localdate()
    bucket = g.get("bucket", "")
    if bucket and bucket not in bucket_labels():
        raise Http404
    page = selectors.receivable_orders(
        actor=request.user,
        as_of=as_of,
        bucket=bucket,
        filters=selectors.ReceivableFilters(
            owner=_int(g.get("owner", "")), org_unit=_int(g.get("org_unit", "")), account=_int(g.get("account", ""))
        ),
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    context = {
        "page": page,
        "as_of": as_of,
        "bucket_label": bucket_labels().get(bucket, _("全部")),
        "query": _query(request),
    }
    return render_page(request, "orders/receivable_orders.html", context, fragment="results")


# --------------------------------------------------------------------------- price lists


@login_required
@vary_on_headers("HX-Request")
def pricelist_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("orders.view_pricelist"):
        raise Http404
    g = request.GET
    active = {"1": True, "0": False}.get(g.get("active", ""))
    page = selectors.pricelist_list(
        actor=request.user,
        q=g.get("q", ""),
        active=active,
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    context = {
        "page": page,
        "f": g,
        "query": _query(request),
        "can_add": request.user.has_perm("orders.add_pricelist"),
    }
    return render_page(request, "orders/pricelist_list.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def pricelist_form(request: HttpRequest, price_list_id: int | None = None) -> HttpResponse:
    price_list = None
    if price_list_id is not None:
        price_list = _get_or_404(selectors.pricelist_get, actor=request.user, price_list_id=price_list_id)
    if not request.user.has_perm("orders.change_pricelist" if price_list else "orders.add_pricelist"):
        raise Http404
    if request.method == "POST":
        form = PriceListForm(request.POST)
        if form.is_valid():
            try:
                if price_list is None:
                    price_list = services.pricelist_create(actor=request.user, data=form.service_data())
                else:
                    services.pricelist_update(
                        actor=request.user,
                        price_list_id=price_list.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                return _redirect(request, reverse("orders:pricelist_detail", args=[price_list.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
    else:
        initial = {"valid_from": timezone.localdate().isoformat(), "active": True}
        if price_list:
            initial = {
                **{
                    k: getattr(price_list, k)
                    for k in (
                        "code",
                        "name",
                        "account_type",
                        "grade",
                        "division",
                        "priority",
                        "active",
                        "notes",
                        "version",
                    )
                },
                "valid_from": price_list.valid_from.isoformat(),
                "valid_to": price_list.valid_to.isoformat() if price_list.valid_to else "",
            }
        form = PriceListForm(initial=initial)
    return render_page(request, "orders/pricelist_form.html", {"form": form, "price_list": price_list}, fragment="form")


def _pricelist_context(request: HttpRequest, price_list_id: int, form: PriceItemForm | None = None) -> dict[str, Any]:
    price_list = _get_or_404(selectors.pricelist_get, actor=request.user, price_list_id=price_list_id)
    return {
        "price_list": price_list,
        "items": list(selectors.pricelist_items(actor=request.user, price_list_id=price_list.pk)),
        "history": list(selectors.pricelist_history(actor=request.user, price_list_id=price_list.pk)[:50]),
        "form": form or PriceItemForm(skus=_skus()),
        "can_edit": request.user.has_perm("orders.change_pricelist"),
    }


@login_required
def pricelist_detail(request: HttpRequest, price_list_id: int) -> HttpResponse:
    return render_page(request, "orders/pricelist_detail.html", _pricelist_context(request, price_list_id))


@login_required
@require_POST
def pricelist_item_add(request: HttpRequest, price_list_id: int) -> HttpResponse:
    context = _pricelist_context(request, price_list_id)
    if not context["can_edit"]:
        raise Http404
    form = PriceItemForm(request.POST, skus=_skus())
    if form.is_valid():
        try:
            services.pricelist_item_create(actor=request.user, price_list_id=price_list_id, data=form.service_data())
            context = _pricelist_context(request, price_list_id)
            form = PriceItemForm(skus=_skus())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
    context["form"] = form
    return render_page(request, "orders/pricelist_detail.html", context, fragment="items")


@login_required
@require_POST
def pricelist_item_delete(request: HttpRequest, price_list_id: int, item_id: int) -> HttpResponse:
    context = _pricelist_context(request, price_list_id)
    if not context["can_edit"]:
        raise Http404
    try:
        services.pricelist_item_delete(actor=request.user, item_id=item_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render_page(
        request, "orders/pricelist_detail.html", _pricelist_context(request, price_list_id), fragment="items"
    )


# --------------------------------------------------------------------------- contracts


@login_required
@vary_on_headers("HX-Request")
def contract_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    page = selectors.contract_list(
        actor=request.user,
        account_id=_int(g.get("account", "")),
        status=g.get("status", ""),
        q=g.get("q", ""),
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    context = {
        "page": page,
        "f": g,
        "query": _query(request),
        "statuses": ContractStatus.choices,
        "can_add": request.user.has_perm("orders.add_contract"),
    }
    return render_page(request, "orders/contract_list.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def contract_form(request: HttpRequest, contract_id: int | None = None) -> HttpResponse:
    contract = None
    if contract_id is not None:
        contract = _get_or_404(selectors.contract_get, actor=request.user, contract_id=contract_id)
    if not request.user.has_perm("orders.change_contract" if contract else "orders.add_contract"):
        raise Http404
    accounts = _accounts(request.user)
    if contract and contract.account not in accounts:
        accounts = [contract.account, *accounts]
    if request.method == "POST":
        form = ContractForm(request.POST, accounts=accounts)
        if form.is_valid():
            try:
                if contract is None:
                    contract = services.contract_create(actor=request.user, data=form.service_data())
                else:
                    services.contract_update(
                        actor=request.user,
                        contract_id=contract.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                return _redirect(request, reverse("orders:contract_detail", args=[contract.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
    else:
        initial: dict[str, Any] = {"status": ContractStatus.DRAFT, "account_id": request.GET.get("account", "")}
        if contract:
            initial = {
                "account_id": contract.account_id,
                "code": contract.code,
                "title": contract.title,
                "period_from": contract.period_from.isoformat(),
                "period_to": contract.period_to.isoformat(),
                "amount": contract.amount,
                "status": contract.status,
                "terms": contract.terms,
                "version": contract.version,
            }
        form = ContractForm(initial=initial, accounts=accounts)
    return render_page(request, "orders/contract_form.html", {"form": form, "contract": contract}, fragment="form")


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = _get_or_404(selectors.contract_get, actor=request.user, contract_id=contract_id)
    form = AttachmentForm()
    if request.method == "POST":
        if not request.user.has_perm("orders.change_contract"):
            raise Http404
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.contract_attach(actor=request.user, contract_id=contract.pk, upload=form.cleaned_data["file"])
                return redirect(reverse("orders:contract_detail", args=[contract.pk]))
            except ValidationFailed as exc:
                for message in exc.field_errors.get("file", [exc.message]):
                    form.add_error("file", message)
    context = {
        "contract": contract,
        "orders": selectors.order_list(
            actor=request.user, filters=selectors.OrderFilters(contract=contract.pk), limit=50
        ).items,
        "history": list(selectors.contract_history(actor=request.user, contract_id=contract.pk)[:50]),
        "form": form,
        "can_edit": request.user.has_perm("orders.change_contract"),
    }
    return render_page(request, "orders/contract_detail.html", context)


@login_required
def contract_attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = _get_or_404(selectors.contract_attachment_get, actor=request.user, attachment_id=attachment_id)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
