"""JSON shapes of the catalog API. Related records are referenced by code."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Schema

from jinggeng.catalog.models import Category, Product, Sku
from jinggeng.catalog.selectors import category_depth

# --- brands ------------------------------------------------------------------------------------


class BrandOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    is_own: bool
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class BrandIn(Schema):
    code: str
    name: str
    name_en: str = ""
    is_own: bool = True
    active: bool = True


class BrandPatch(Schema):
    code: str | None = None
    name: str | None = None
    name_en: str | None = None
    is_own: bool | None = None
    active: bool | None = None
    version: int | None = None


# --- categories --------------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    parent: str | None
    parent_id: int | None
    path: str
    depth: int
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_parent(obj: Category) -> str | None:
        return obj.parent.code if obj.parent_id and obj.parent else None

    @staticmethod
    def resolve_depth(obj: Category) -> int:
        return category_depth(obj)


class CategoryNodeOut(Schema):
    id: int
    code: str
    name: str
    parent: str | None
    depth: int
    product_count: int
    child_count: int


class CategoryIn(Schema):
    code: str
    name: str
    name_en: str = ""
    parent: str | None = None


class CategoryPatch(Schema):
    """``parent`` moves the category (with its subtree); null moves it to the top level."""

    code: str | None = None
    name: str | None = None
    name_en: str | None = None
    parent: str | None = None
    version: int | None = None


# --- SKUs --------------------------------------------------------------------------------------


class SkuOut(Schema):
    id: int
    code: str
    product: str
    product_id: int
    name: str
    spec: str
    barcode: str | None
    piece_unit: str
    pack_unit: str
    case_unit: str
    pieces_per_pack: int
    packs_per_case: int
    pieces_per_case: int
    conversion: str
    base_price: Decimal
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_product(obj: Sku) -> str:
        return obj.product.code

    @staticmethod
    def resolve_conversion(obj: Sku) -> str:
        return obj.conversion_text


class SkuIn(Schema):
    code: str
    product: str
    name: str
    spec: str = ""
    barcode: str | None = None
    piece_unit: str = "瓶"
    pack_unit: str = "提"
    case_unit: str = "箱"
    pieces_per_pack: int = 1
    packs_per_case: int = 1
    base_price: Decimal = Decimal("0")
    status: str = "active"


class SkuPatch(Schema):
    code: str | None = None
    product: str | None = None
    name: str | None = None
    spec: str | None = None
    barcode: str | None = None
    piece_unit: str | None = None
    pack_unit: str | None = None
    case_unit: str | None = None
    pieces_per_pack: int | None = None
    packs_per_case: int | None = None
    base_price: Decimal | None = None
    status: str | None = None
    version: int | None = None


class ConvertIn(Schema):
    quantity: Decimal
    from_unit: str
    to_unit: str


class ConvertOut(Schema):
    sku: str
    quantity: Decimal
    from_unit: str
    to_unit: str
    result: Decimal


# --- products ----------------------------------------------------------------------------------


class ProductOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    brand: str
    brand_name: str
    category: str
    category_name: str
    role: str
    status: str
    description: str
    sku_count: int
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_brand(obj: Product) -> str:
        return obj.brand.code

    @staticmethod
    def resolve_brand_name(obj: Product) -> str:
        return obj.brand.name

    @staticmethod
    def resolve_category(obj: Product) -> str:
        return obj.category.code

    @staticmethod
    def resolve_category_name(obj: Product) -> str:
        return obj.category.name

    @staticmethod
    def resolve_sku_count(obj: Product) -> int:
        if hasattr(obj, "sku_list"):
            return len(obj.sku_list)
        return int(getattr(obj, "sku_count", 0))


class ProductDetailOut(ProductOut):
    skus: list[SkuOut]

    @staticmethod
    def resolve_skus(obj: Product) -> list[Sku]:
        return list(getattr(obj, "sku_list", []))


class ProductIn(Schema):
    code: str
    name: str
    name_en: str = ""
    brand: str
    category: str
    role: str = "main"
    status: str = "active"
    description: str = ""


class ProductPatch(Schema):
    code: str | None = None
    name: str | None = None
    name_en: str | None = None
    brand: str | None = None
    category: str | None = None
    role: str | None = None
    status: str | None = None
    description: str | None = None
    version: int | None = None


# --- history -----------------------------------------------------------------------------------
