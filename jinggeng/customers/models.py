"""Customers: accounts of every tier, contacts, supply links, ownership history, custom fields."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel


class AccountType(models.TextChoices):
    DISTRIBUTOR = "distributor", _("经销商")
    WHOLESALER = "wholesaler", _("二批")
    OUTLET = "outlet", _("终端")
    KEY_ACCOUNT = "key_account", _("大客户")
    ENTERPRISE = "enterprise", _("企业客户")


class AccountStatus(models.TextChoices):
    PROSPECT = "prospect", _("潜在")
    ACTIVE = "active", _("活跃")
    DORMANT = "dormant", _("休眠")
    CLOSED = "closed", _("关闭")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class ChannelType(models.Model):
    """Channel types (hypermarket, supermarket, …): an administrator edits the list."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=60, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("渠道类型")
        verbose_name_plural = _("渠道类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class Tag(models.Model):
    name = models.CharField(_("名称"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Account(BusinessModel):
    code = models.CharField(_("客户编码"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("客户名称"), max_length=120)
    short_name = models.CharField(_("简称"), max_length=60, blank=True)
    name_key = models.CharField(max_length=120, editable=False, db_index=True)
    account_type = models.CharField(_("客户类型"), max_length=16, choices=AccountType.choices)
    channel_type = models.ForeignKey(
        ChannelType, verbose_name=_("渠道类型"), null=True, blank=True, on_delete=models.PROTECT
    )
    grade = models.CharField(_("等级"), max_length=1, choices=Grade.choices, default=Grade.C)
    credit_rating = models.CharField(_("信用评级"), max_length=3, choices=CreditRating.choices, blank=True)
    credit_limit = models.DecimalField(
        _("信用额度"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    tax_id = models.CharField(_("税号"), max_length=20, blank=True, db_index=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True, db_index=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    division = models.ForeignKey(
        "org.Division", verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="accounts"
    )
    city_code = models.CharField(max_length=6, editable=False, db_index=True)
    latitude = models.DecimalField(
        _("纬度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    longitude = models.DecimalField(
        _("经度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="accounts"
    )
    status = models.CharField(_("状态"), max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    tags = models.ManyToManyField(Tag, verbose_name=_("标签"), blank=True, related_name="accounts")
    custom = models.JSONField(_("自定义字段"), default=dict, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("已合并至"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        permissions = [
            ("transfer_account", _("可以转移客户负责人")),
            ("merge_account", _("可以合并客户")),
            ("import_account", _("可以导入客户")),
            ("export_account", _("可以导出客户")),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="account_name_idx"),
            models.Index(fields=["org_unit", "name", "id"], name="account_unit_name_idx"),
            models.Index(fields=["owner", "name", "id"], name="account_owner_name_idx"),
            models.Index(fields=["name_key", "city_code"], name="account_dupe_idx"),
            # Filter by division and grade, already in list order: the first page is an index walk.
            models.Index(fields=["division", "grade", "name", "id"], name="account_division_grade_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0), name="account_credit_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(BusinessModel):
    account = models.ForeignKey(Account, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contacts")
    code = models.CharField(_("联系人编码"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("姓名"), max_length=60)
    role = models.CharField(_("职务"), max_length=60, blank=True)
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    birthday = models.DateField(_("生日"), null=True, blank=True)
    is_primary = models.BooleanField(_("主要联系人"), default=False)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        indexes = [models.Index(fields=["account", "name", "id"], name="contact_account_name_idx")]

    def __str__(self) -> str:
        return self.name


class SupplyLink(BusinessModel):
    """``supplier`` supplies ``customer`` (optionally for one product group)."""

    supplier = models.ForeignKey(
        Account, verbose_name=_("供货方"), on_delete=models.CASCADE, related_name="supplies_to"
    )
    customer = models.ForeignKey(
        Account, verbose_name=_("进货方"), on_delete=models.CASCADE, related_name="supplied_by"
    )
    product_group = models.ForeignKey(
        "catalog.Category", verbose_name=_("产品组"), null=True, blank=True, on_delete=models.PROTECT
    )
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("供货关系")
        verbose_name_plural = _("供货关系")
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "customer"],
                condition=models.Q(product_group__isnull=True),
                name="supply_link_unique_all_products",
            ),
            models.UniqueConstraint(
                fields=["supplier", "customer", "product_group"],
                condition=models.Q(product_group__isnull=False),
                name="supply_link_unique_per_group",
            ),
            models.CheckConstraint(condition=~models.Q(supplier=models.F("customer")), name="supply_link_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} → {self.customer}"


class OwnershipChange(models.Model):
    """One change of an account's owner: who, when, why (customers belong to the company)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="ownership_changes")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_unit = models.ForeignKey("org.OrgUnit", null=True, on_delete=models.SET_NULL, related_name="+")
    to_unit = models.ForeignKey("org.OrgUnit", null=True, on_delete=models.SET_NULL, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500)
    batch = models.UUIDField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("负责人变更")
        verbose_name_plural = _("负责人变更")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_owner_id} → {self.to_owner_id}"


class AccountMerge(models.Model):
    """Two accounts merged into one: the record of it."""

    survivor = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="merges")
    merged_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("客户合并")
        verbose_name_plural = _("客户合并")

    def __str__(self) -> str:
        return f"{self.merged_account_id} → {self.survivor_id}"


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("文本")
    NUMBER = "number", _("数字")
    DATE = "date", _("日期")
    CHOICE = "choice", _("选项")


class CustomFieldDefinition(models.Model):
    """A field an administrator adds to accounts (of one type, or all) without code changes."""

    key = models.SlugField(_("字段键"), max_length=40)
    label = models.CharField(_("名称"), max_length=60)
    label_en = models.CharField(_("英文名称"), max_length=60, blank=True)
    account_type = models.CharField(
        _("适用客户类型"),
        max_length=16,
        choices=AccountType.choices,
        blank=True,
        help_text=_("留空表示所有类型"),
    )
    field_type = models.CharField(_("类型"), max_length=8, choices=CustomFieldType.choices)
    choices = models.JSONField(_("可选值"), default=list, blank=True, help_text=_("类型为“选项”时的可选值列表"))
    required = models.BooleanField(_("必填"), default=False)
    active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("自定义字段")
        verbose_name_plural = _("自定义字段")
        ordering = ["sort_order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["key", "account_type"], name="custom_field_key_unique"),
        ]

    def __str__(self) -> str:
        if self.label_en and (get_language() or "").startswith("en"):
            return self.label_en
        return self.label


class AccountUser(models.Model):
    """A distributor's staff member: the user works for this account (portal, data scope)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_link")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="users")

    class Meta:
        verbose_name = _("客户用户")
        verbose_name_plural = _("客户用户")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.account_id}"
