"""Catalog JSON API, mounted at /api/v1/catalog: brands, categories, products, SKUs.

Thin: parse, call one selector or service, return. Lists use cursor pagination; PATCH takes
``version`` for optimistic locking (409 ``version_conflict`` when the record changed).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from jinggeng.catalog import selectors, services
from jinggeng.catalog.schemas import (
    BrandIn,
    BrandOut,
    BrandPatch,
    CategoryIn,
    CategoryNodeOut,
    CategoryOut,
    CategoryPatch,
    ConvertIn,
    ConvertOut,
    ProductDetailOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    SkuIn,
    SkuOut,
    SkuPatch,
)
from jinggeng.core.api import AuditEntryOut, CursorPage, Problem

router = Router(tags=["catalog"])

READ_ERRORS: dict[int, Any] = {404: Problem, 422: Problem}
WRITE_ERRORS: dict[int, Any] = {403: Problem, 404: Problem, 409: Problem, 422: Problem}


def _page(page: Any) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor}


def _patch(payload: Schema) -> tuple[dict[str, Any], int | None]:
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return data, version


# --- brands ------------------------------------------------------------------------------------


@router.get("/brands", response={200: CursorPage[BrandOut], 422: Problem})
def brand_list(
    request: HttpRequest,
    q: str | None = None,
    active: bool | None = None,
    is_own: bool | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Any:
    return _page(
        selectors.brand_list(
            actor=request.user,
            q=q,
            active=active,
            is_own=is_own,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    )


@router.post("/brands", response={201: BrandOut, **WRITE_ERRORS})
def brand_create(request: HttpRequest, payload: BrandIn) -> Any:
    return Status(201, services.brand_create(actor=request.user, data=payload.model_dump()))


@router.get("/brands/{int:brand_id}", response={200: BrandOut, **READ_ERRORS})
def brand_get(request: HttpRequest, brand_id: int) -> Any:
    return selectors.brand_get(actor=request.user, id=brand_id)


@router.patch("/brands/{int:brand_id}", response={200: BrandOut, **WRITE_ERRORS})
def brand_update(request: HttpRequest, brand_id: int, payload: BrandPatch) -> Any:
    data, version = _patch(payload)
    return services.brand_update(actor=request.user, brand_id=brand_id, data=data, expected_version=version)


@router.delete("/brands/{int:brand_id}", response={204: None, **WRITE_ERRORS})
def brand_delete(request: HttpRequest, brand_id: int) -> Any:
    services.brand_delete(actor=request.user, brand_id=brand_id)
    return Status(204, None)


@router.get("/brands/{int:brand_id}/history", response={200: list[AuditEntryOut], **READ_ERRORS})
def brand_history(request: HttpRequest, brand_id: int) -> Any:
    return selectors.catalog_history(actor=request.user, entity="brand", id=brand_id)


# --- categories --------------------------------------------------------------------------------


@router.get("/categories", response={200: CursorPage[CategoryOut], 422: Problem})
def category_list(
    request: HttpRequest,
    q: str | None = None,
    parent: str | None = None,
    sort: str = "path",
    cursor: str | None = None,
    limit: int | None = None,
) -> Any:
    return _page(selectors.category_list(actor=request.user, q=q, parent=parent, sort=sort, cursor=cursor, limit=limit))


@router.get("/categories/tree", response=list[CategoryNodeOut])
def category_tree(request: HttpRequest) -> Any:
    return [
        {
            "id": node.category.pk,
            "code": node.category.code,
            "name": node.category.name,
            "parent": node.category.parent.code if node.category.parent else None,
            "depth": node.depth,
            "product_count": node.product_count,
            "child_count": node.child_count,
        }
        for node in selectors.category_tree(actor=request.user)
    ]


@router.post("/categories", response={201: CategoryOut, **WRITE_ERRORS})
def category_create(request: HttpRequest, payload: CategoryIn) -> Any:
    return Status(201, services.category_create(actor=request.user, data=payload.model_dump()))


@router.get("/categories/{int:category_id}", response={200: CategoryOut, **READ_ERRORS})
def category_get(request: HttpRequest, category_id: int) -> Any:
    return selectors.category_get(actor=request.user, id=category_id)


@router.patch("/categories/{int:category_id}", response={200: CategoryOut, **WRITE_ERRORS})
def category_update(request: HttpRequest, category_id: int, payload: CategoryPatch) -> Any:
    data, version = _patch(payload)
    return services.category_update(actor=request.user, category_id=category_id, data=data, expected_version=version)


@router.delete("/categories/{int:category_id}", response={204: None, **WRITE_ERRORS})
def category_delete(request: HttpRequest, category_id: int) -> Any:
    services.category_delete(actor=request.user, category_id=category_id)
    return Status(204, None)


@router.get("/categories/{int:category_id}/history", response={200: list[AuditEntryOut], **READ_ERRORS})
def category_history(request: HttpRequest, category_id: int) -> Any:
    return selectors.catalog_history(actor=request.user, entity="category", id=category_id)


# --- products ----------------------------------------------------------------------------------


@router.get("/products", response={200: CursorPage[ProductOut], 422: Problem})
def product_list(
    request: HttpRequest,
    q: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    role: str | None = None,
    status: str | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Any:
    """Products; ``q`` also searches SKU code, name and barcode; ``category`` includes its subtree."""
    return _page(
        selectors.product_list(
            actor=request.user,
            q=q,
            brand=brand,
            category=category,
            role=role,
            status=status,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    )


@router.post("/products", response={201: ProductDetailOut, **WRITE_ERRORS})
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    product = services.product_create(actor=request.user, data=payload.model_dump())
    return Status(201, selectors.product_get(actor=request.user, id=product.pk))


@router.get("/products/{int:product_id}", response={200: ProductDetailOut, **READ_ERRORS})
def product_get(request: HttpRequest, product_id: int) -> Any:
    return selectors.product_get(actor=request.user, id=product_id)


@router.patch("/products/{int:product_id}", response={200: ProductDetailOut, **WRITE_ERRORS})
def product_update(request: HttpRequest, product_id: int, payload: ProductPatch) -> Any:
    data, version = _patch(payload)
    product = services.product_update(actor=request.user, product_id=product_id, data=data, expected_version=version)
    return selectors.product_get(actor=request.user, id=product.pk)


@router.delete("/products/{int:product_id}", response={204: None, **WRITE_ERRORS})
def product_delete(request: HttpRequest, product_id: int) -> Any:
    services.product_delete(actor=request.user, product_id=product_id)
    return Status(204, None)


@router.get("/products/{int:product_id}/history", response={200: list[AuditEntryOut], **READ_ERRORS})
def product_history(request: HttpRequest, product_id: int) -> Any:
    return selectors.catalog_history(actor=request.user, entity="product", id=product_id)


# --- SKUs --------------------------------------------------------------------------------------


@router.get("/skus", response={200: CursorPage[SkuOut], 422: Problem})
def sku_list(
    request: HttpRequest,
    q: str | None = None,
    product: str | None = None,
    status: str | None = None,
    sort: str = "code",
    cursor: str | None = None,
    limit: int | None = None,
) -> Any:
    return _page(
        selectors.sku_list(
            actor=request.user,
            q=q,
            product=product,
            status=status,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    )


@router.post("/skus", response={201: SkuOut, **WRITE_ERRORS})
def sku_create(request: HttpRequest, payload: SkuIn) -> Any:
    return Status(201, services.sku_create(actor=request.user, data=payload.model_dump()))


@router.get("/skus/{int:sku_id}", response={200: SkuOut, **READ_ERRORS})
def sku_get(request: HttpRequest, sku_id: int) -> Any:
    return selectors.sku_get(actor=request.user, id=sku_id)


@router.patch("/skus/{int:sku_id}", response={200: SkuOut, **WRITE_ERRORS})
def sku_update(request: HttpRequest, sku_id: int, payload: SkuPatch) -> Any:
    data, version = _patch(payload)
    return services.sku_update(actor=request.user, sku_id=sku_id, data=data, expected_version=version)


@router.delete("/skus/{int:sku_id}", response={204: None, **WRITE_ERRORS})
def sku_delete(request: HttpRequest, sku_id: int) -> Any:
    services.sku_delete(actor=request.user, sku_id=sku_id)
    return Status(204, None)


@router.get("/skus/{int:sku_id}/history", response={200: list[AuditEntryOut], **READ_ERRORS})
def sku_history(request: HttpRequest, sku_id: int) -> Any:
    return selectors.catalog_history(actor=request.user, entity="sku", id=sku_id)


@router.post("/skus/{int:sku_id}/convert", response={200: ConvertOut, **READ_ERRORS})
def sku_convert(request: HttpRequest, sku_id: int, payload: ConvertIn) -> Any:
    """Convert a quantity between units: ``piece`` / ``pack`` / ``case`` or the SKU's unit names."""
    sku = selectors.sku_get(actor=request.user, id=sku_id)
    result = services.sku_convert(
        sku=sku, quantity=payload.quantity, from_unit=payload.from_unit, to_unit=payload.to_unit
    )
    return {
        "sku": sku.code,
        "quantity": payload.quantity,
        "from_unit": payload.from_unit,
        "to_unit": payload.to_unit,
        "result": result,
    }
