"""Writes of the catalog: brands, the category tree, products and SKUs.

Data dicts reference related records by code (``{"brand": "JG", "category": "DRINK"}``).
Create services need every required key; update services change only the keys present.
Every write needs the model's Django permission (``catalog.add_product`` …; the marketing and
administrator roles have them) and writes an audit record. A record the actor cannot see is
NotFound; a visible record without the permission is PermissionDenied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from jinggeng.catalog import selectors
from jinggeng.catalog.models import Brand, Category, Product, ProductRole, ProductStatus, Sku
from jinggeng.core.audit import audit_create, audit_delete, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

M = TypeVar("M", bound=models.Model)

MAX_PRICE = Decimal("9999999999.99")
UNIT_KEYS = ("piece", "pack", "case")


# --- shared helpers ----------------------------------------------------------------------------


def _require(actor: Any, perm: str) -> None:
    if not selectors.actor_can(actor, perm):
        raise PermissionDenied(_("没有执行此操作的权限"), extra={"permission": perm})


def _locked[M: models.Model](qs: models.QuerySet[M], pk: int, message: str) -> M:
    """The visible record ``pk``, locked for update; NotFound otherwise."""
    if not qs.filter(pk=pk).exists():
        raise NotFound(message)
    return qs.model._default_manager.select_for_update().get(pk=pk)


def _check_version(instance: Any, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != instance.version:
        raise Conflict(
            _("记录已被他人修改，请刷新后重试"),
            code="version_conflict",
            extra={"current_version": instance.version},
        )


def _save(instance: Any, fields: list[str]) -> None:
    instance.version += 1
    instance.save(update_fields=[*fields, "version", "updated_at"])


class _Cleaner:
    """Collects field errors while reading a data dict."""

    def __init__(self, data: Mapping[str, Any], allowed: tuple[str, ...], *, creating: bool) -> None:
        self.data = dict(data)
        self.creating = creating
        self.errors: dict[str, list[str]] = {}
        self.values: dict[str, Any] = {}
        for key in self.data:
            if key not in allowed:
                self.add(key, _("未知字段"))

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, *, max_length: int, required: bool = False) -> None:
        if not self.has(key):
            if required and self.creating:
                self.add(key, _("此项必填"))
            return
        raw = self.data[key]
        value = "" if raw is None else str(raw).strip()
        if required and not value:
            self.add(key, _("此项必填"))
        elif len(value) > max_length:
            self.add(key, _("不能超过 %(n)d 个字符") % {"n": max_length})
        else:
            self.values[key] = value

    def choice(self, key: str, choices: type[models.TextChoices], *, default: str | None = None) -> None:
        if not self.has(key):
            if self.creating and default is not None:
                self.values[key] = default
            return
        value = str(self.data[key] or "").strip()
        if value not in choices.values:
            self.add(key, _("无效的选项：%(value)s") % {"value": value})
        else:
            self.values[key] = value

    def boolean(self, key: str, *, default: bool) -> None:
        if not self.has(key):
            if self.creating:
                self.values[key] = default
            return
        value = self.data[key]
        if isinstance(value, bool):
            self.values[key] = value
        elif str(value).strip().lower() in {"1", "true", "yes", "on"}:
            self.values[key] = True
        elif str(value).strip().lower() in {"0", "false", "no", "off", ""}:
            self.values[key] = False
        else:
            self.add(key, _("请填写是或否"))

    def ref(self, key: str, model: type[M], *, required: bool, label_missing: str) -> None:
        """A related record given by code."""
        if not self.has(key):
            if required and self.creating:
                self.add(key, _("此项必填"))
            return
        code = str(self.data[key] or "").strip()
        if not code:
            if required:
                self.add(key, _("此项必填"))
            else:
                self.values[key] = None
            return
        obj = model._default_manager.filter(code=code).first()
        if obj is None:
            self.add(key, label_missing % {"code": code})
        else:
            self.values[key] = obj

    def unique_code(self, model: type[models.Model], *, instance: models.Model | None) -> None:
        code = self.values.get("code")
        if not code:
            return
        qs = model._default_manager.filter(code=code)
        if instance is not None:
            qs = qs.exclude(pk=instance.pk)
        if qs.exists():
            self.add("code", _("编码“%(code)s”已存在") % {"code": code})

    def raise_if_errors(self) -> None:
        if self.errors:
            messages = next(iter(self.errors.values()))
            message = messages[0] if len(self.errors) == 1 else _("提交的数据有误")
            raise ValidationFailed(message, errors=self.errors)


def _apply(instance: Any, values: Mapping[str, Any]) -> list[str]:
    """Set changed values on ``instance``; return the changed field names."""
    changed = []
    for key, value in values.items():
        if getattr(instance, key) != value:
            setattr(instance, key, value)
            changed.append(key)
    return changed


def _delete(instance: Any, *, actor: Any, in_use_code: str, in_use_message: str) -> None:
    audit_delete(actor=actor, instance=instance)
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise Conflict(in_use_message, code=in_use_code) from exc


# --- brands ------------------------------------------------------------------------------------

BRAND_FIELDS = ("code", "name", "name_en", "is_own", "active")


def _clean_brand(data: Mapping[str, Any], *, instance: Brand | None) -> dict[str, Any]:
    c = _Cleaner(data, BRAND_FIELDS, creating=instance is None)
    c.text("code", max_length=40, required=True)
    c.text("name", max_length=120, required=True)
    c.text("name_en", max_length=120)
    c.boolean("is_own", default=True)
    c.boolean("active", default=True)
    c.unique_code(Brand, instance=instance)
    c.raise_if_errors()
    return c.values


@transaction.atomic
def brand_create(*, actor: Any, data: Mapping[str, Any]) -> Brand:
    _require(actor, "catalog.add_brand")
    values = _clean_brand(data, instance=None)
    brand = Brand.objects.create(**values)
    audit_create(actor=actor, instance=brand)
    return brand


@transaction.atomic
def brand_update(*, actor: Any, brand_id: int, data: Mapping[str, Any], expected_version: int | None = None) -> Brand:
    brand = _locked(selectors.brands_visible(actor), brand_id, _("品牌不存在"))
    _require(actor, "catalog.change_brand")
    _check_version(brand, expected_version)
    values = _clean_brand(data, instance=brand)
    before = snapshot(brand)
    changed = _apply(brand, values)
    if changed:
        _save(brand, changed)
        audit_update(actor=actor, instance=brand, before=before)
    return brand


@transaction.atomic
def brand_delete(*, actor: Any, brand_id: int) -> None:
    brand = _locked(selectors.brands_visible(actor), brand_id, _("品牌不存在"))
    _require(actor, "catalog.delete_brand")
    if brand.products.exists():
        raise Conflict(_("该品牌下还有产品，不能删除；可改为停用"), code="brand_in_use")
    _delete(brand, actor=actor, in_use_code="brand_in_use", in_use_message=_("该品牌仍被引用，不能删除"))


# --- categories --------------------------------------------------------------------------------

CATEGORY_FIELDS = ("code", "name", "name_en", "parent")


def _clean_category(data: Mapping[str, Any], *, instance: Category | None) -> dict[str, Any]:
    c = _Cleaner(data, CATEGORY_FIELDS, creating=instance is None)
    c.text("code", max_length=40, required=True)
    c.text("name", max_length=120, required=True)
    c.text("name_en", max_length=120)
    c.ref("parent", Category, required=False, label_missing=_("上级品类“%(code)s”不存在"))
    c.unique_code(Category, instance=instance)
    parent = c.values.get("parent")
    if instance is not None and parent is not None and parent.path.startswith(instance.path):
        c.errors.setdefault("parent", []).append(_("不能把品类移到它自己或它的下级之下"))
        c.values.pop("parent")
        raise ValidationFailed(_("不能把品类移到它自己或它的下级之下"), code="category_cycle", errors=c.errors)
    c.raise_if_errors()
    return c.values


def category_reparent(category: Category, parent: Category | None) -> None:
    """Low level: re-parent ``category`` in memory and rewrite the stored paths of its
    descendants. The caller checks for cycles, saves ``category`` and writes the audit."""
    old_path = category.path
    new_path = (parent.path if parent else "/") + f"{category.pk}/"
    category.parent = parent
    category.path = new_path
    if old_path == new_path:
        return
    descendants = list(Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk))
    for node in descendants:
        node.path = new_path + node.path[len(old_path) :]
    Category.objects.bulk_update(descendants, ["path"])


@transaction.atomic
def category_create(*, actor: Any, data: Mapping[str, Any]) -> Category:
    _require(actor, "catalog.add_category")
    values = _clean_category(data, instance=None)
    parent = values.pop("parent", None)
    category = Category.objects.create(parent=parent, **values)
    category.path = (parent.path if parent else "/") + f"{category.pk}/"
    category.save(update_fields=["path"])
    audit_create(actor=actor, instance=category)
    return category


@transaction.atomic
def category_update(
    *, actor: Any, category_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Category:
    """Change code / names, and the parent when ``parent`` is given (a move, see category_move)."""
    category = _locked(selectors.categories_visible(actor), category_id, _("品类不存在"))
    _require(actor, "catalog.change_category")
    _check_version(category, expected_version)
    values = _clean_category(data, instance=category)
    before = snapshot(category)
    changed = []
    if "parent" in values:
        parent = values.pop("parent")
        if category.parent_id != (parent.pk if parent else None):
            category_reparent(category, parent)
            changed += ["parent", "path"]
    changed += _apply(category, values)
    if changed:
        _save(category, changed)
        audit_update(actor=actor, instance=category, before=before)
    return category


def category_move(
    *, actor: Any, category_id: int, new_parent: str | None, expected_version: int | None = None
) -> Category:
    """Move a category (with its subtree) under ``new_parent`` (a code; None for the top level).
    Moving it under itself or one of its descendants is refused (code ``category_cycle``)."""
    return category_update(
        actor=actor,
        category_id=category_id,
        data={"parent": new_parent},
        expected_version=expected_version,
    )


@transaction.atomic
def category_delete(*, actor: Any, category_id: int) -> None:
    category = _locked(selectors.categories_visible(actor), category_id, _("品类不存在"))
    _require(actor, "catalog.delete_category")
    if category.children.exists():
        raise Conflict(_("该品类下还有子品类，不能删除"), code="category_has_children")
    if category.products.exists():
        raise Conflict(_("该品类下还有产品，不能删除"), code="category_has_products")
    _delete(
        category,
        actor=actor,
        in_use_code="category_in_use",
        in_use_message=_("该品类仍被引用，不能删除"),
    )


# --- products ----------------------------------------------------------------------------------

PRODUCT_FIELDS = ("code", "name", "name_en", "brand", "category", "role", "status", "description")


def _clean_product(data: Mapping[str, Any], *, instance: Product | None) -> dict[str, Any]:
    c = _Cleaner(data, PRODUCT_FIELDS, creating=instance is None)
    c.text("code", max_length=40, required=True)
    c.text("name", max_length=120, required=True)
    c.text("name_en", max_length=120)
    c.ref("brand", Brand, required=True, label_missing=_("品牌“%(code)s”不存在"))
    c.ref("category", Category, required=True, label_missing=_("品类“%(code)s”不存在"))
    c.choice("role", ProductRole, default=ProductRole.MAIN)
    c.choice("status", ProductStatus, default=ProductStatus.ACTIVE)
    c.text("description", max_length=5000)
    c.unique_code(Product, instance=instance)
    c.raise_if_errors()
    return c.values


@transaction.atomic
def product_create(*, actor: Any, data: Mapping[str, Any]) -> Product:
    _require(actor, "catalog.add_product")
    values = _clean_product(data, instance=None)
    product = Product.objects.create(**values)
    audit_create(actor=actor, instance=product)
    return product


@transaction.atomic
def product_update(
    *, actor: Any, product_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Product:
    product = _locked(selectors.products_visible(actor), product_id, _("产品不存在"))
    _require(actor, "catalog.change_product")
    _check_version(product, expected_version)
    values = _clean_product(data, instance=product)
    before = snapshot(product)
    changed = _apply(product, values)
    if changed:
        _save(product, changed)
        audit_update(actor=actor, instance=product, before=before)
    return product


@transaction.atomic
def product_delete(*, actor: Any, product_id: int) -> None:
    product = _locked(selectors.products_visible(actor), product_id, _("产品不存在"))
    _require(actor, "catalog.delete_product")
    if product.skus.exists():
        raise Conflict(
            _("该产品下还有 SKU，不能删除；如不再销售，请把状态改为“已停产”"),
            code="product_has_skus",
        )
    _delete(
        product,
        actor=actor,
        in_use_code="product_in_use",
        in_use_message=_("该产品仍被引用，不能删除"),
    )


# --- SKUs --------------------------------------------------------------------------------------

SKU_FIELDS = (
    "code",
    "product",
    "name",
    "spec",
    "barcode",
    "piece_unit",
    "pack_unit",
    "case_unit",
    "pieces_per_pack",
    "packs_per_case",
    "base_price",
    "status",
)
GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for the digits ``body`` (a GTIN without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def barcode_error(barcode: str) -> str | None:
    """Why ``barcode`` is not a valid GTIN-8/12/13/14, or None when it is."""
    if not re.fullmatch(r"[0-9]+", barcode):
        return _("条码只能包含数字")
    if len(barcode) not in GTIN_LENGTHS:
        return _("条码应为 8、12、13 或 14 位数字，当前为 %(n)d 位") % {"n": len(barcode)}
    expected = gtin_check_digit(barcode[:-1])
    if int(barcode[-1]) != expected:
        return _("条码校验位错误：最后一位应为 %(digit)d") % {"digit": expected}
    return None


def _positive_int(c: _Cleaner, key: str) -> None:
    if not c.has(key):
        if c.creating:
            c.values[key] = 1
        return
    raw = c.data[key]
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except (TypeError, ValueError):
        c.add(key, _("请输入整数"))
        return
    if value <= 0:
        c.add(key, _("换算系数必须大于 0"))
    else:
        c.values[key] = value


def _price(c: _Cleaner, key: str) -> None:
    if not c.has(key):
        if c.creating:
            c.values[key] = Decimal("0.00")
        return
    raw = c.data[key]
    try:
        if raw is None or isinstance(raw, bool) or str(raw).strip() == "":
            raise InvalidOperation
        value = Decimal(str(raw).strip())
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        c.add(key, _("请输入有效的金额"))
        return
    if value < 0:
        c.add(key, _("价格不能为负数"))
    elif value > MAX_PRICE:
        c.add(key, _("价格过大"))
    elif value != value.quantize(Decimal("0.01")):
        c.add(key, _("价格最多两位小数"))
    else:
        c.values[key] = value.quantize(Decimal("0.01"))


def _clean_sku(data: Mapping[str, Any], *, instance: Sku | None) -> dict[str, Any]:
    c = _Cleaner(data, SKU_FIELDS, creating=instance is None)
    c.text("code", max_length=40, required=True)
    c.ref("product", Product, required=True, label_missing=_("产品“%(code)s”不存在"))
    c.text("name", max_length=160, required=True)
    c.text("spec", max_length=60)
    if c.has("barcode"):
        barcode = str(c.data["barcode"] or "").strip()
        if not barcode:
            c.values["barcode"] = None
        elif (problem := barcode_error(barcode)) is not None:
            c.add("barcode", problem)
        else:
            taken = Sku.objects.filter(barcode=barcode)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            other = taken.first()
            if other is not None:
                c.add(
                    "barcode",
                    _("条码 %(barcode)s 已被 SKU %(code)s 使用") % {"barcode": barcode, "code": other.code},
                )
            else:
                c.values["barcode"] = barcode
    for key, default in (("piece_unit", "瓶"), ("pack_unit", "提"), ("case_unit", "箱")):
        if c.has(key):
            c.text(key, max_length=10, required=True)
        elif c.creating:
            c.values[key] = default
    _positive_int(c, "pieces_per_pack")
    _positive_int(c, "packs_per_case")
    _price(c, "base_price")
    c.choice("status", ProductStatus, default=ProductStatus.ACTIVE)
    c.unique_code(Sku, instance=instance)
    units = {key: c.values.get(key, getattr(instance, key, None)) for key in ("piece_unit", "pack_unit", "case_unit")}
    seen: list[str] = []
    for key, unit in units.items():
        if unit and unit in seen and key not in c.errors:
            c.add(key, _("件、包、箱的单位名称不能相同"))
        seen.append(unit or "")
    c.raise_if_errors()
    return c.values


@transaction.atomic
def sku_create(*, actor: Any, data: Mapping[str, Any]) -> Sku:
    _require(actor, "catalog.add_sku")
    values = _clean_sku(data, instance=None)
    product = values["product"]
    if not selectors.products_visible(actor).filter(pk=product.pk).exists():
        raise ValidationFailed(_("产品“%(code)s”不存在") % {"code": product.code}, field="product")
    sku = Sku.objects.create(**values)
    audit_create(actor=actor, instance=sku)
    return sku


@transaction.atomic
def sku_update(*, actor: Any, sku_id: int, data: Mapping[str, Any], expected_version: int | None = None) -> Sku:
    sku = _locked(selectors.skus_visible(actor), sku_id, _("SKU 不存在"))
    _require(actor, "catalog.change_sku")
    _check_version(sku, expected_version)
    values = _clean_sku(data, instance=sku)
    before = snapshot(sku)
    changed = _apply(sku, values)
    if changed:
        _save(sku, changed)
        audit_update(actor=actor, instance=sku, before=before)
    return sku


@transaction.atomic
def sku_delete(*, actor: Any, sku_id: int) -> None:
    sku = _locked(selectors.skus_visible(actor), sku_id, _("SKU 不存在"))
    _require(actor, "catalog.delete_sku")
    _delete(
        sku,
        actor=actor,
        in_use_code="sku_in_use",
        in_use_message=_("该 SKU 已被业务单据引用，不能删除；如不再销售，请把状态改为“已停产”"),
    )


# --- unit conversion ---------------------------------------------------------------------------


def sku_unit_key(sku: Sku, unit: str) -> str:
    """``piece`` / ``pack`` / ``case`` for a unit key or one of the SKU's unit names."""
    value = (unit or "").strip()
    if value.lower() in UNIT_KEYS:
        return value.lower()
    for key in UNIT_KEYS:
        if value and value == getattr(sku, f"{key}_unit"):
            return key
    raise ValidationFailed(
        _("未知单位：%(unit)s（可用：piece、pack、case、%(names)s）")
        % {"unit": unit, "names": "、".join([sku.piece_unit, sku.pack_unit, sku.case_unit])},
        code="unknown_unit",
    )


def sku_pieces_per(sku: Sku, key: str) -> int:
    return {"piece": 1, "pack": sku.pieces_per_pack, "case": sku.pieces_per_case}[key]


def _tidy(value: Decimal) -> Decimal:
    """Up to 6 decimals, without trailing zeros and without an exponent."""
    rounded = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def sku_convert(*, sku: Sku, quantity: Decimal | int | str, from_unit: str, to_unit: str) -> Decimal:
    """Convert ``quantity`` of ``sku`` from one unit to another (``piece``/``pack``/``case`` or
    the SKU's unit names, e.g. "箱"). Inexact results are rounded to 6 decimals."""
    errors: dict[str, list[str]] = {}
    keys: dict[str, str] = {}
    for name, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        try:
            keys[name] = sku_unit_key(sku, unit)
        except ValidationFailed as exc:
            errors[name] = [exc.message]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], code="unknown_unit", errors=errors)
    try:
        amount = Decimal(str(quantity).strip())
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation as exc:
        raise ValidationFailed(_("请输入有效的数量"), field="quantity") from exc
    pieces = amount * sku_pieces_per(sku, keys["from_unit"])
    return _tidy(pieces / Decimal(sku_pieces_per(sku, keys["to_unit"])))
