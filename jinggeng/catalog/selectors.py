"""Reads of the catalog, always for an actor.

The catalog (brands, categories, products, SKUs) is company-wide reference data: it has no
owner and no org unit, so the usual data scope does not narrow it. Every *active employee*
whose role grants the view permission of a model (``catalog.view_product`` …) sees all of it;
superusers see everything. Users without the permission — for example an account without an
employee profile, or an employee who has left — see nothing: lists are empty and single records
are NotFound. Distributor users (role ``distributor_user``) see only products and SKUs whose
status is *new* or *active*; discontinued or phasing-out goods are hidden from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Brand, Category, Product, ProductStatus, Sku
from jinggeng.core.audit import audit_history
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.org.models import EmployeeStatus, RoleCode
from jinggeng.org.scope import employee_of

#: Statuses a distributor user may see.
DISTRIBUTOR_VISIBLE_STATUSES = (ProductStatus.NEW, ProductStatus.ACTIVE)

BRAND_SORTS = ("code", "name", "created_at", "updated_at", "id")
CATEGORY_SORTS = ("path", "code", "name", "created_at", "updated_at", "id")
PRODUCT_SORTS = ("code", "name", "role", "status", "created_at", "updated_at", "id")
SKU_SORTS = ("code", "name", "base_price", "status", "created_at", "updated_at", "id")


def actor_can(actor: Any, perm: str) -> bool:
    """True when ``actor`` is a superuser, or an active employee whose role grants ``perm``."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    if actor.is_superuser:
        return True
    employee = employee_of(actor)
    if employee is None or employee.status != EmployeeStatus.ACTIVE:
        return False
    return bool(actor.has_perm(perm))


def is_distributor_user(actor: Any) -> bool:
    if actor is None or getattr(actor, "is_superuser", False):
        return False
    employee = employee_of(actor)
    return employee is not None and employee.role.code == RoleCode.DISTRIBUTOR_USER


def _limit(limit: int | None) -> int:
    if limit is None:
        return int(settings.PAGE_SIZE_DEFAULT)
    if limit < 1:
        raise ValidationFailed(_("每页条数必须大于 0"), code="invalid_limit", field="limit")
    return min(int(limit), int(settings.PAGE_SIZE_MAX))


# --- visible querysets: the "scope" of the catalog ------------------------------------------


def brands_visible(actor: Any) -> QuerySet[Brand]:
    if not actor_can(actor, "catalog.view_brand"):
        return Brand.objects.none()
    return Brand.objects.all()


def categories_visible(actor: Any) -> QuerySet[Category]:
    if not actor_can(actor, "catalog.view_category"):
        return Category.objects.none()
    return Category.objects.all()


def products_visible(actor: Any) -> QuerySet[Product]:
    if not actor_can(actor, "catalog.view_product"):
        return Product.objects.none()
    qs = Product.objects.all()
    if is_distributor_user(actor):
        qs = qs.filter(status__in=DISTRIBUTOR_VISIBLE_STATUSES)
    return qs


def skus_visible(actor: Any) -> QuerySet[Sku]:
    if not actor_can(actor, "catalog.view_sku"):
        return Sku.objects.none()
    qs = Sku.objects.all()
    if is_distributor_user(actor):
        qs = qs.filter(
            status__in=DISTRIBUTOR_VISIBLE_STATUSES,
            product__status__in=DISTRIBUTOR_VISIBLE_STATUSES,
        )
    return qs


# --- brands ----------------------------------------------------------------------------------


def brand_list(
    *,
    actor: Any,
    q: str | None = None,
    active: bool | None = None,
    is_own: bool | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[Brand]:
    qs = brands_visible(actor)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(name_en__icontains=q))
    if active is not None:
        qs = qs.filter(active=active)
    if is_own is not None:
        qs = qs.filter(is_own=is_own)
    return keyset_paginate(qs, sort=sort, allowed_sorts=BRAND_SORTS, cursor=cursor, limit=_limit(limit))


def brand_get(*, actor: Any, id: int) -> Brand:
    brand = brands_visible(actor).filter(pk=id).first()
    if brand is None:
        raise NotFound(_("品牌不存在"))
    return brand


def brand_choices(*, actor: Any) -> list[Brand]:
    """All visible brands, for filters and forms."""
    return list(brands_visible(actor).order_by("code"))


# --- categories ------------------------------------------------------------------------------


def category_depth(category: Category) -> int:
    return max(category.path.count("/") - 2, 0)


def category_list(
    *,
    actor: Any,
    q: str | None = None,
    parent: str | None = None,
    sort: str = "path",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[Category]:
    """Categories; ``parent`` (a code) limits to its direct children."""
    qs = categories_visible(actor).select_related("parent")
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(name_en__icontains=q))
    if parent:
        qs = qs.filter(parent__code=parent)
    return keyset_paginate(qs, sort=sort, allowed_sorts=CATEGORY_SORTS, cursor=cursor, limit=_limit(limit))


def category_get(*, actor: Any, id: int) -> Category:
    category = categories_visible(actor).select_related("parent").filter(pk=id).first()
    if category is None:
        raise NotFound(_("品类不存在"))
    return category


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    depth: int
    product_count: int
    child_count: int


def category_tree(*, actor: Any) -> list[CategoryNode]:
    """The whole tree in display order (each node followed by its subtree), with counts."""
    rows = list(
        categories_visible(actor)
        .select_related("parent")
        .annotate(n_products=Count("products", distinct=True), n_children=Count("children", distinct=True))
        .order_by("path")
    )
    return [
        CategoryNode(
            category=c,
            depth=category_depth(c),
            product_count=c.n_products,
            child_count=c.n_children,
        )
        for c in rows
    ]


def category_choices(*, actor: Any) -> list[tuple[Category, int]]:
    return [(c, category_depth(c)) for c in categories_visible(actor).order_by("path")]


# --- products --------------------------------------------------------------------------------


def _product_search(q: str, actor: Any) -> Q:
    sku_hits = Sku.objects.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(barcode__icontains=q))
    if is_distributor_user(actor):
        sku_hits = sku_hits.filter(status__in=DISTRIBUTOR_VISIBLE_STATUSES)
    return (
        Q(code__icontains=q) | Q(name__icontains=q) | Q(name_en__icontains=q) | Q(pk__in=sku_hits.values("product_id"))
    )


def product_list(
    *,
    actor: Any,
    q: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    role: str | None = None,
    status: str | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[Product]:
    """Products visible to ``actor``. ``q`` searches product code/name and SKU code/name/barcode;
    ``brand`` and ``category`` are codes, and a category includes its whole subtree."""
    qs = products_visible(actor)
    q = (q or "").strip()
    if q:
        qs = qs.filter(_product_search(q, actor))
    if brand:
        qs = qs.filter(brand__code=brand)
    if category:
        node = Category.objects.filter(code=category).only("path").first()
        qs = qs.filter(category__path__startswith=node.path) if node else qs.none()
    if role:
        qs = qs.filter(role=role)
    if status:
        qs = qs.filter(status=status)
    sku_filter = Q(skus__status__in=DISTRIBUTOR_VISIBLE_STATUSES) if is_distributor_user(actor) else None
    qs = qs.select_related("brand", "category").annotate(sku_count=Count("skus", filter=sku_filter))
    return keyset_paginate(qs, sort=sort, allowed_sorts=PRODUCT_SORTS, cursor=cursor, limit=_limit(limit))


def product_get(*, actor: Any, id: int) -> Product:
    """One product with its visible SKUs in ``product.sku_list``."""
    product = (
        products_visible(actor)
        .select_related("brand", "category")
        .prefetch_related(Prefetch("skus", queryset=skus_visible(actor).order_by("code"), to_attr="sku_list"))
        .filter(pk=id)
        .first()
    )
    if product is None:
        raise NotFound(_("产品不存在"))
    return product


# --- SKUs ------------------------------------------------------------------------------------


def sku_list(
    *,
    actor: Any,
    q: str | None = None,
    product: str | None = None,
    status: str | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[Sku]:
    qs = skus_visible(actor).select_related("product")
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(barcode__icontains=q))
    if product:
        qs = qs.filter(product__code=product)
    if status:
        qs = qs.filter(status=status)
    return keyset_paginate(qs, sort=sort, allowed_sorts=SKU_SORTS, cursor=cursor, limit=_limit(limit))


def sku_get(*, actor: Any, id: int) -> Sku:
    sku = skus_visible(actor).select_related("product").filter(pk=id).first()
    if sku is None:
        raise NotFound(_("SKU 不存在"))
    return sku


# --- history ---------------------------------------------------------------------------------


def catalog_history(*, actor: Any, entity: str, id: int) -> QuerySet[AuditLog]:
    """Change history of one brand / category / product / SKU, after checking it is visible."""
    getters = {"brand": brand_get, "category": category_get, "product": product_get, "sku": sku_get}
    getter = getters.get(entity)
    if getter is None:
        raise NotFound(_("对象不存在"))
    record = getter(actor=actor, id=id)
    return audit_history(entity=record._meta.label_lower, entity_id=record.pk).select_related("actor__employee")
