"""Import and export of products with their SKUs (``jinggeng import products …``).

One row per SKU, carrying its product's columns too: the first row of a product creates it
(or updates it when the product code exists), later rows of the same product only add SKUs.
Related records are given by code (brand, category). The writes go through the catalog
services (``product_create`` / ``product_update`` / ``sku_create`` / ``sku_update``), so a dry run
writes and rolls back (``dry_run_writes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.catalog import selectors, services
from jinggeng.catalog.models import Brand, Category, Product, ProductRole, ProductStatus, Sku
from jinggeng.core.errors import DomainError
from jinggeng.core.tabular.registry import register
from jinggeng.core.tabular.spec import (
    CREATE,
    UPDATE,
    Column,
    CommitResult,
    RowOutcome,
    SourceRow,
    choice_lookup,
    header_key,
    refuse_with,
)

COLUMNS = (
    Column("product_code", gettext_lazy("产品编码"), "Product code", required=True),
    Column("product_name", gettext_lazy("产品名称"), "Product name", help=gettext_lazy("新产品必填")),
    Column("brand", gettext_lazy("品牌编码"), "Brand code", help=gettext_lazy("新产品必填")),
    Column("category", gettext_lazy("品类编码"), "Category code", help=gettext_lazy("新产品必填")),
    Column("role", gettext_lazy("产品角色"), "Product role", help=gettext_lazy("形象产品 / 主打产品 / 跟进产品")),
    Column("product_status", gettext_lazy("产品状态"), "Product status"),
    Column(
        "code", gettext_lazy("SKU 编码"), "SKU code", required=True, help=gettext_lazy("唯一；已存在的编码会被更新")
    ),
    Column("name", gettext_lazy("SKU 名称"), "SKU name", help=gettext_lazy("新 SKU 必填")),
    Column("spec", gettext_lazy("规格"), "Spec"),
    Column("barcode", gettext_lazy("条码"), "Barcode", help=gettext_lazy("GTIN-8/12/13/14")),
    Column("piece_unit", gettext_lazy("基本单位"), "Piece unit"),
    Column("pack_unit", gettext_lazy("中包单位"), "Pack unit"),
    Column("case_unit", gettext_lazy("整箱单位"), "Case unit"),
    Column("pieces_per_pack", gettext_lazy("每包件数"), "Pieces per pack"),
    Column("packs_per_case", gettext_lazy("每箱包数"), "Packs per case"),
    Column("base_price", gettext_lazy("基准价"), "Base price"),
    Column("status", gettext_lazy("SKU 状态"), "SKU status"),
)
PRODUCT_KEYS = {
    "product_name": "name",
    "brand": "brand",
    "category": "category",
    "role": "role",
    "product_status": "status",
}
SKU_KEYS = (
    "name", "spec", "barcode", "piece_unit", "pack_unit", "case_unit", "pieces_per_pack", "packs_per_case",
    "base_price", "status",
)  # fmt: skip
PRODUCT_ERRORS = {"code": "product_code", "name": "product_name", "status": "product_status"}
SKU_ERRORS = {"product": "product_code"}


class ProductSpec:
    entity = "products"
    verbose_name = gettext_lazy("产品与 SKU")
    permissions = ("catalog.add_product", "catalog.change_product", "catalog.add_sku", "catalog.change_sku")
    identity = "code"
    batch_size = 500
    dry_run_writes = True
    model = Sku

    def columns(self) -> Sequence[Column]:
        return COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        product_codes = {r.values["product_code"] for r in rows if r.values.get("product_code")}
        sku_codes = [r.values["code"] for r in rows if r.values.get("code")]
        products = set(Product.objects.filter(code__in=product_codes).values_list("code", flat=True))
        skus = set(Sku.objects.filter(code__in=sku_codes).values_list("code", flat=True))
        brands = set(Brand.objects.values_list("code", flat=True))
        categories = set(Category.objects.values_list("code", flat=True))
        roles = choice_lookup(ProductRole.choices)
        statuses = choice_lookup(ProductStatus.choices)
        first_row_of_product: dict[str, tuple[int, dict[str, Any]]] = {}
        outcomes = []
        for row in rows:
            values = row.values
            code = values.get("code", "")
            product_code = values.get("product_code", "")
            outcome = RowOutcome(
                row=row.number, action=CREATE, label=" ".join(filter(None, [code, values.get("name")]))
            )
            outcomes.append(outcome)
            if not code:
                outcome.refuse("code", _("请填写 SKU 编码"))
            if not product_code:
                outcome.refuse("product_code", _("请填写产品编码"))
            if outcome.refused:
                continue
            product: dict[str, Any] = {}
            for column, field_name in PRODUCT_KEYS.items():
                if column in values:
                    product[field_name] = values[column]
            sku: dict[str, Any] = {k: values[k] for k in SKU_KEYS if k in values}
            for data, key, column in (
                (product, "role", "role"),
                (product, "status", "product_status"),
                (sku, "status", "status"),
            ):
                if key in data:
                    lookup = roles if column == "role" else statuses
                    resolved = lookup.get(header_key(data[key]))
                    if resolved is None:
                        outcome.refuse(column, _("无效的选项：%(value)s") % {"value": data[key]})
                    else:
                        data[key] = resolved
            if "brand" in product and product["brand"] not in brands:
                outcome.refuse("brand", _("品牌“%(code)s”不存在") % {"code": product["brand"]})
            if "category" in product and product["category"] not in categories:
                outcome.refuse("category", _("品类“%(code)s”不存在") % {"code": product["category"]})
            first = first_row_of_product.get(product_code)
            if first is not None:
                # The product's columns count once, on its first row in the file.
                if product and product != first[1]:
                    outcome.warnings.append(_("产品列与第 %(row)d 行不同，以第 %(row)d 行为准") % {"row": first[0]})
                product = {}
            else:
                first_row_of_product[product_code] = (row.number, dict(product))
                if product_code not in products:
                    for column in ("product_name", "brand", "category"):
                        if column not in values:
                            outcome.refuse(column, _("新产品必须填写此项"))
            if code in skus:
                if not outcome.refused:
                    outcome.action = UPDATE
            elif "name" not in values:
                outcome.refuse("name", _("新 SKU 必须填写此项"))
            # If the product's first row is refused, a later row creates the product from it.
            fallback = first_row_of_product[product_code][1]
            outcome.payload = (product_code, product, code, sku, fallback)
        return outcomes

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        codes = [o.payload[0] for o in prepared]
        product_ids = dict(Product.objects.filter(code__in=codes).values_list("code", "id"))
        sku_ids = dict(Sku.objects.filter(code__in=[o.payload[2] for o in prepared]).values_list("code", "id"))
        for outcome in prepared:
            product_code, product_data, sku_code, sku_data, fallback = outcome.payload
            stage = "product"
            new_product: int | None = None
            try:
                with transaction.atomic():
                    changed = False
                    product_id = product_ids.get(product_code)
                    if product_id is None:
                        data = {"code": product_code, **(product_data or fallback)}
                        new_product = services.product_create(actor=actor, data=data).pk
                    elif product_data:
                        version = Product.objects.filter(pk=product_id).values_list("version", flat=True).first()
                        product = services.product_update(actor=actor, product_id=product_id, data=product_data)
                        changed = product.version != version
                    stage = "sku"
                    sku_id = sku_ids.get(sku_code)
                    if sku_id is None:
                        sku = services.sku_create(
                            actor=actor, data={"code": sku_code, "product": product_code, **sku_data}
                        )
                        outcome.action = CREATE
                        result.created += 1
                    else:
                        version = Sku.objects.filter(pk=sku_id).values_list("version", flat=True).first()
                        sku = services.sku_update(
                            actor=actor, sku_id=sku_id, data={"product": product_code, **sku_data}
                        )
                        outcome.action = UPDATE
                        if changed or sku.version != version:
                            result.updated += 1
                # Only what the savepoint kept is known to exist.
                if new_product is not None:
                    product_ids[product_code] = new_product
                sku_ids[sku_code] = sku.pk
            except DomainError as exc:
                refuse_with(outcome, exc, PRODUCT_ERRORS if stage == "product" else SKU_ERRORS)
            except IntegrityError as exc:
                outcome.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
        return result


class ProductExportSpec:
    entity = ProductSpec.entity
    verbose_name = ProductSpec.verbose_name
    permissions = ("catalog.view_product", "catalog.view_sku")

    def columns(self) -> Sequence[Column]:
        return COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        qs = selectors.skus_visible(actor).filter(product__in=selectors.products_visible(actor))
        q = (filters.get("q") or "").strip()
        if q:
            qs = qs.filter(code__icontains=q) | qs.filter(name__icontains=q) | qs.filter(barcode__icontains=q)
        if filters.get("product"):
            qs = qs.filter(product__code=filters["product"])
        if filters.get("brand"):
            qs = qs.filter(product__brand__code=filters["brand"])
        if filters.get("category"):
            qs = qs.filter(product__category__code=filters["category"])
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        qs = qs.select_related("product__brand", "product__category").order_by("product__code", "code")
        for sku in qs.iterator(chunk_size=2000):
            product = sku.product
            yield {
                "product_code": product.code,
                "product_name": product.name,
                "brand": product.brand.code,
                "category": product.category.code,
                "role": product.role,
                "product_status": product.status,
                "code": sku.code,
                "name": sku.name,
                "spec": sku.spec,
                "barcode": sku.barcode or "",
                "piece_unit": sku.piece_unit,
                "pack_unit": sku.pack_unit,
                "case_unit": sku.case_unit,
                "pieces_per_pack": sku.pieces_per_pack,
                "packs_per_case": sku.packs_per_case,
                "base_price": sku.base_price,
                "status": sku.status,
            }


register(ProductSpec())
register(ProductExportSpec())
