"""Catalog: brands, a category tree, products and SKUs with unit conversions."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel


class Translated(models.Model):
    name = models.CharField(_("名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class Brand(Translated, BusinessModel):
    code = models.CharField(_("编码"), max_length=40, unique=True)
    is_own = models.BooleanField(_("本公司品牌"), default=True, help_text=_("否：竞品品牌"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("品牌")
        verbose_name_plural = _("品牌")
        ordering = ["code"]


class Category(Translated, BusinessModel):
    """A node of the category tree; ``path`` is the materialised path of ids."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="/")

    class Meta:
        verbose_name = _("品类")
        verbose_name_plural = _("品类")
        ordering = ["path"]


class ProductRole(models.TextChoices):
    IMAGE = "image", _("形象产品")
    MAIN = "main", _("主打产品")
    FOLLOWER = "follower", _("跟进产品")


class ProductStatus(models.TextChoices):
    NEW = "new", _("新品")
    ACTIVE = "active", _("在售")
    PHASING_OUT = "phasing_out", _("淘汰中")
    DISCONTINUED = "discontinued", _("已停产")


class Product(Translated, BusinessModel):
    code = models.CharField(_("编码"), max_length=40, unique=True)
    brand = models.ForeignKey(Brand, verbose_name=_("品牌"), on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, verbose_name=_("品类"), on_delete=models.PROTECT, related_name="products")
    role = models.CharField(_("产品角色"), max_length=16, choices=ProductRole.choices, default=ProductRole.MAIN)
    status = models.CharField(_("状态"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("产品")
        verbose_name_plural = _("产品")
        ordering = ["code"]


class Sku(BusinessModel):
    """A sellable item. Quantities are kept in pieces; a pack holds ``pieces_per_pack`` pieces
    and a case ``packs_per_case`` packs."""

    code = models.CharField(_("SKU 编码"), max_length=40, unique=True)
    product = models.ForeignKey(Product, verbose_name=_("产品"), on_delete=models.PROTECT, related_name="skus")
    name = models.CharField(_("名称"), max_length=160)
    spec = models.CharField(_("规格"), max_length=60, blank=True)
    barcode = models.CharField(_("条码"), max_length=14, unique=True, null=True, blank=True)
    piece_unit = models.CharField(_("基本单位"), max_length=10, default="瓶")
    pack_unit = models.CharField(_("中包单位"), max_length=10, default="提")
    case_unit = models.CharField(_("整箱单位"), max_length=10, default="箱")
    pieces_per_pack = models.PositiveIntegerField(_("每包件数"), default=1, validators=[MinValueValidator(1)])
    packs_per_case = models.PositiveIntegerField(_("每箱包数"), default=1, validators=[MinValueValidator(1)])
    base_price = models.DecimalField(
        _("基准价（每件）"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(_("状态"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKU")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(pieces_per_pack__gt=0), name="sku_pieces_per_pack_positive"),
            models.CheckConstraint(condition=models.Q(packs_per_case__gt=0), name="sku_packs_per_case_positive"),
            models.CheckConstraint(condition=models.Q(base_price__gte=0), name="sku_base_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def pieces_per_case(self) -> int:
        return self.pieces_per_pack * self.packs_per_case

    @property
    def conversion_text(self) -> str:
        """The unit chain, e.g. ``1 箱 = 4 提 = 24 瓶``."""
        return f"1 {self.case_unit} = {self.packs_per_case} {self.pack_unit} = {self.pieces_per_case} {self.piece_unit}"
