"""HTML pages of the catalog: thin, over the same selectors and services as the API.

A record the user cannot see is a 404; a write without the permission is a 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jinggeng.catalog import selectors, services
from jinggeng.catalog.forms import BrandForm, CatalogForm, CategoryForm, ProductForm, SkuForm
from jinggeng.catalog.models import Brand, Category, Product, ProductRole, ProductStatus, Sku
from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page

View = Callable[..., HttpResponse]

PRODUCT_SORT_CHOICES = [
    ("code", gettext_lazy("编码")),
    ("-code", gettext_lazy("编码（倒序）")),
    ("name", gettext_lazy("名称")),
    ("-updated_at", gettext_lazy("最近修改")),
    ("-created_at", gettext_lazy("最近新建")),
]
HISTORY_LIMIT = 50


def catalog_view(view: View) -> View:
    """Login required; domain errors become 404 / 403 pages."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def _require(request: HttpRequest, perm: str) -> None:
    if not selectors.actor_can(request.user, perm):
        raise DjangoPermissionDenied(_("没有执行此操作的权限"))


def _form_page(
    request: HttpRequest,
    *,
    form: CatalogForm,
    template: str,
    context: dict[str, Any],
    save: Callable[[dict[str, Any], int | None], models.Model],
    success_url: Callable[[Any], str],
    success_message: str,
) -> HttpResponse:
    """GET shows the form; POST saves through ``save``; an htmx POST with ``_validate`` runs the
    service and rolls back, returning the form fragment with the errors of the touched fields."""
    validate_only = request.method == "POST" and request.POST.get("_validate") == "1"
    if request.method == "POST" and form.is_valid():
        saved: Any = None
        try:
            with transaction.atomic():
                saved = save(form.service_data(), form.expected_version())
                if validate_only:
                    transaction.set_rollback(True)
        except ValidationFailed as exc:
            form.add_service_errors(exc.field_errors, exc.message)
        except Conflict as exc:
            form.add_error(None, exc.message)
        if saved is not None and not validate_only:
            messages.success(request, success_message)
            url = success_url(saved)
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    if validate_only:
        touched = {name for name in form.fields if request.POST.get(name)}
        touched.add(request.headers.get("HX-Trigger-Name", ""))
        for name in list(form.errors):
            if name != NON_FIELD_ERRORS and name not in touched:
                del form.errors[name]
    return render_page(request, template, {**context, "form": form}, fragment="form")


HISTORY_MODELS: dict[str, type[models.Model]] = {
    "brand": Brand,
    "category": Category,
    "product": Product,
    "sku": Sku,
}


def _history(entity: str, actor: Any, pk: int) -> list[dict[str, Any]]:
    """The newest changes of one record, with field names shown as their verbose names."""
    model = HISTORY_MODELS[entity]
    labels = {f.name: str(f.verbose_name) for f in model._meta.concrete_fields if f.name != "path"}
    logs = selectors.catalog_history(actor=actor, entity=entity, id=pk)[:HISTORY_LIMIT]
    return [
        {
            "log": log,
            "rows": [{**row, "label": labels[row["field"]]} for row in log.change_rows() if row["field"] in labels],
        }
        for log in logs
    ]


def _message(exc: DomainError) -> str:
    return exc.message


# --- products ----------------------------------------------------------------------------------


@catalog_view
def product_list(request: HttpRequest) -> HttpResponse:
    params = {key: request.GET.get(key, "").strip() for key in ("q", "brand", "category", "role", "status")}
    filters: dict[str, Any] = {key: value or None for key, value in params.items()}
    sort = request.GET.get("sort") or "code"
    cursor = request.GET.get("cursor") or None
    error = ""
    try:
        page = selectors.product_list(actor=request.user, sort=sort, cursor=cursor, **filters)
    except ValidationFailed as exc:
        error = exc.message
        sort = "code"
        page = selectors.product_list(actor=request.user, sort=sort, **filters)
    context = {
        "page": page,
        "params": params,
        "sort": sort,
        "error": error,
        "sort_choices": PRODUCT_SORT_CHOICES,
        "brands": selectors.brand_choices(actor=request.user),
        "categories": [(c.code, "　" * depth + str(c)) for c, depth in selectors.category_choices(actor=request.user)],
        "roles": ProductRole.choices,
        "statuses": ProductStatus.choices,
        "can_add": selectors.actor_can(request.user, "catalog.add_product"),
    }
    return render_page(request, "catalog/product_list.html", context, fragment="rows")


@catalog_view
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(actor=request.user, id=pk)
    context = {
        "product": product,
        "skus": product.sku_list,  # type: ignore[attr-defined]
        "history": _history("product", request.user, product.pk),
        "can_change": selectors.actor_can(request.user, "catalog.change_product"),
        "can_delete": selectors.actor_can(request.user, "catalog.delete_product"),
        "can_add_sku": selectors.actor_can(request.user, "catalog.add_sku"),
        "can_change_sku": selectors.actor_can(request.user, "catalog.change_sku"),
    }
    return render_page(request, "catalog/product_detail.html", context, fragment="skus")


def _product_initial(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "name": product.name,
        "name_en": product.name_en,
        "brand": product.brand.code,
        "category": product.category.code,
        "role": product.role,
        "status": product.status,
        "description": product.description,
        "version": product.version,
    }


@catalog_view
def product_create(request: HttpRequest) -> HttpResponse:
    _require(request, "catalog.add_product")
    url = reverse("catalog:product_create")
    form = ProductForm(request.POST or None, actor=request.user, validate_url=url)
    return _form_page(
        request,
        form=form,
        template="catalog/product_form.html",
        context={"title": _("新建产品"), "cancel_url": reverse("catalog:product_list")},
        save=lambda data, _v: services.product_create(actor=request.user, data=data),
        success_url=lambda p: reverse("catalog:product_detail", args=[p.pk]),
        success_message=_("产品已保存"),
    )


@catalog_view
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(actor=request.user, id=pk)
    _require(request, "catalog.change_product")
    url = reverse("catalog:product_edit", args=[pk])
    form = ProductForm(request.POST or None, initial=_product_initial(product), actor=request.user, validate_url=url)
    return _form_page(
        request,
        form=form,
        template="catalog/product_form.html",
        context={
            "title": _("修改产品"),
            "product": product,
            "cancel_url": reverse("catalog:product_detail", args=[pk]),
        },
        save=lambda data, version: services.product_update(
            actor=request.user, product_id=pk, data=data, expected_version=version
        ),
        success_url=lambda p: reverse("catalog:product_detail", args=[p.pk]),
        success_message=_("产品已保存"),
    )


@require_POST
@catalog_view
def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.product_delete(actor=request.user, product_id=pk)
    except Conflict as exc:
        messages.error(request, _message(exc))
        return redirect("catalog:product_detail", pk=pk)
    messages.success(request, _("产品已删除"))
    return redirect("catalog:product_list")


# --- SKUs --------------------------------------------------------------------------------------


def _sku_initial(sku: Sku) -> dict[str, Any]:
    fields = SkuForm.data_fields
    initial = {name: getattr(sku, name) for name in fields}
    initial["barcode"] = sku.barcode or ""
    initial["version"] = sku.version
    return initial


@catalog_view
def sku_create(request: HttpRequest, product_pk: int) -> HttpResponse:
    product = selectors.product_get(actor=request.user, id=product_pk)
    _require(request, "catalog.add_sku")
    url = reverse("catalog:sku_create", args=[product_pk])
    form = SkuForm(request.POST or None, validate_url=url)
    return _form_page(
        request,
        form=form,
        template="catalog/sku_form.html",
        context={
            "title": _("新建 SKU"),
            "product": product,
            "cancel_url": reverse("catalog:product_detail", args=[product_pk]),
        },
        save=lambda data, _v: services.sku_create(actor=request.user, data={**data, "product": product.code}),
        success_url=lambda s: reverse("catalog:product_detail", args=[s.product_id]),
        success_message=_("SKU 已保存"),
    )


@catalog_view
def sku_edit(request: HttpRequest, pk: int) -> HttpResponse:
    sku = selectors.sku_get(actor=request.user, id=pk)
    _require(request, "catalog.change_sku")
    url = reverse("catalog:sku_edit", args=[pk])
    form = SkuForm(request.POST or None, initial=_sku_initial(sku), validate_url=url)
    return _form_page(
        request,
        form=form,
        template="catalog/sku_form.html",
        context={
            "title": _("修改 SKU"),
            "product": sku.product,
            "sku": sku,
            "history": _history("sku", request.user, sku.pk),
            "cancel_url": reverse("catalog:product_detail", args=[sku.product_id]),
        },
        save=lambda data, version: services.sku_update(
            actor=request.user, sku_id=pk, data=data, expected_version=version
        ),
        success_url=lambda s: reverse("catalog:product_detail", args=[s.product_id]),
        success_message=_("SKU 已保存"),
    )


@require_POST
@catalog_view
def sku_delete(request: HttpRequest, pk: int) -> HttpResponse:
    sku = selectors.sku_get(actor=request.user, id=pk)
    try:
        services.sku_delete(actor=request.user, sku_id=pk)
    except Conflict as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("SKU 已删除"))
    return redirect("catalog:product_detail", pk=sku.product_id)


# --- brands ------------------------------------------------------------------------------------


@catalog_view
def brand_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.brand_list(actor=request.user, q=q, cursor=cursor)
    except ValidationFailed:
        page = selectors.brand_list(actor=request.user, q=q)
    context = {
        "page": page,
        "q": q,
        "can_add": selectors.actor_can(request.user, "catalog.add_brand"),
        "can_change": selectors.actor_can(request.user, "catalog.change_brand"),
    }
    return render_page(request, "catalog/brand_list.html", context, fragment="rows")


def _brand_initial(brand: Brand) -> dict[str, Any]:
    return {name: getattr(brand, name) for name in BrandForm.data_fields} | {"version": brand.version}


@catalog_view
def brand_create(request: HttpRequest) -> HttpResponse:
    _require(request, "catalog.add_brand")
    form = BrandForm(request.POST or None, validate_url=reverse("catalog:brand_create"))
    return _form_page(
        request,
        form=form,
        template="catalog/brand_form.html",
        context={"title": _("新建品牌"), "cancel_url": reverse("catalog:brand_list")},
        save=lambda data, _v: services.brand_create(actor=request.user, data=data),
        success_url=lambda b: reverse("catalog:brand_list"),
        success_message=_("品牌已保存"),
    )


@catalog_view
def brand_edit(request: HttpRequest, pk: int) -> HttpResponse:
    brand = selectors.brand_get(actor=request.user, id=pk)
    _require(request, "catalog.change_brand")
    form = BrandForm(
        request.POST or None, initial=_brand_initial(brand), validate_url=reverse("catalog:brand_edit", args=[pk])
    )
    return _form_page(
        request,
        form=form,
        template="catalog/brand_form.html",
        context={
            "title": _("修改品牌"),
            "brand": brand,
            "history": _history("brand", request.user, brand.pk),
            "cancel_url": reverse("catalog:brand_list"),
        },
        save=lambda data, version: services.brand_update(
            actor=request.user, brand_id=pk, data=data, expected_version=version
        ),
        success_url=lambda b: reverse("catalog:brand_list"),
        success_message=_("品牌已保存"),
    )


@require_POST
@catalog_view
def brand_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.brand_delete(actor=request.user, brand_id=pk)
    except Conflict as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("品牌已删除"))
    return redirect("catalog:brand_list")


# --- categories --------------------------------------------------------------------------------


@catalog_view
def category_list(request: HttpRequest) -> HttpResponse:
    context = {
        "nodes": selectors.category_tree(actor=request.user),
        "can_add": selectors.actor_can(request.user, "catalog.add_category"),
        "can_change": selectors.actor_can(request.user, "catalog.change_category"),
        "can_delete": selectors.actor_can(request.user, "catalog.delete_category"),
    }
    return render_page(request, "catalog/category_list.html", context)


@catalog_view
def category_create(request: HttpRequest) -> HttpResponse:
    _require(request, "catalog.add_category")
    initial = {"parent": request.GET.get("parent", "")}
    form = CategoryForm(
        request.POST or None, initial=initial, actor=request.user, validate_url=reverse("catalog:category_create")
    )
    return _form_page(
        request,
        form=form,
        template="catalog/category_form.html",
        context={"title": _("新建品类"), "cancel_url": reverse("catalog:category_list")},
        save=lambda data, _v: services.category_create(actor=request.user, data=data),
        success_url=lambda c: reverse("catalog:category_list"),
        success_message=_("品类已保存"),
    )


def _category_initial(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name": category.name,
        "name_en": category.name_en,
        "parent": category.parent.code if category.parent else "",
        "version": category.version,
    }


@catalog_view
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = selectors.category_get(actor=request.user, id=pk)
    _require(request, "catalog.change_category")
    form = CategoryForm(
        request.POST or None,
        initial=_category_initial(category),
        actor=request.user,
        exclude_path=category.path,
        validate_url=reverse("catalog:category_edit", args=[pk]),
    )
    return _form_page(
        request,
        form=form,
        template="catalog/category_form.html",
        context={
            "title": _("修改品类"),
            "category": category,
            "history": _history("category", request.user, category.pk),
            "cancel_url": reverse("catalog:category_list"),
        },
        save=lambda data, version: services.category_update(
            actor=request.user, category_id=pk, data=data, expected_version=version
        ),
        success_url=lambda c: reverse("catalog:category_list"),
        success_message=_("品类已保存"),
    )


@require_POST
@catalog_view
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.category_delete(actor=request.user, category_id=pk)
    except Conflict as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("品类已删除"))
    return redirect("catalog:category_list")
