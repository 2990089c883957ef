"""Order to cash: price lists, contracts, sales orders with lines and transitions, approval rules,
payment receipts and their allocations to orders."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel

ZERO = Decimal("0")


# --------------------------------------------------------------------------- price lists


class PriceList(BusinessModel):
    """A list of prices per piece, valid for a period, for all accounts or only for accounts of
    one type, grade and/or division (a province or city code matches the accounts below it).

    ``specificity`` is derived from the criteria (see `jinggeng.orders.pricing`); ``priority``
    breaks ties between lists of the same specificity (higher wins)."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=120)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    account_type = models.CharField(_("客户类型"), max_length=16, blank=True, help_text=_("留空表示所有类型"))
    grade = models.CharField(_("客户等级"), max_length=1, blank=True, help_text=_("留空表示所有等级"))
    division = models.CharField(_("行政区划"), max_length=6, blank=True, help_text=_("省、市或区县代码；留空表示全国"))
    specificity = models.PositiveSmallIntegerField(_("具体程度"), default=0, editable=False)
    priority = models.SmallIntegerField(_("优先级"), default=0, help_text=_("具体程度相同时，数值大者优先"))
    active = models.BooleanField(_("启用"), default=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("价格表")
        verbose_name_plural = _("价格表")
        ordering = ["-specificity", "-priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="pricelist_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceListItem(BusinessModel):
    price_list = models.ForeignKey(PriceList, verbose_name=_("价格表"), on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(
        _("单价（每件）"), max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    min_quantity = models.DecimalField(
        _("起订数量（件）"), max_digits=14, decimal_places=3, default=ZERO, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        verbose_name = _("价格表明细")
        verbose_name_plural = _("价格表明细")
        ordering = ["price_list", "sku", "min_quantity"]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "sku", "min_quantity"], name="pricelist_item_unique"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="pricelist_item_price_not_negative"),
            models.CheckConstraint(condition=models.Q(min_quantity__gte=0), name="pricelist_item_min_qty_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.sku_id}: {self.price}"


# --------------------------------------------------------------------------- contracts


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ACTIVE = "active", _("生效")
    EXPIRED = "expired", _("已到期")
    TERMINATED = "terminated", _("已终止")


class Contract(BusinessModel):
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="contracts"
    )
    code = models.CharField(_("合同编号"), max_length=40, unique=True)
    title = models.CharField(_("合同名称"), max_length=120, blank=True)
    period_from = models.DateField(_("开始日期"))
    period_to = models.DateField(_("结束日期"))
    terms = models.TextField(_("合同条款"), blank=True)
    amount = models.DecimalField(
        _("合同金额"), max_digits=14, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    status = models.CharField(_("状态"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.DRAFT)

    class Meta:
        verbose_name = _("合同")
        verbose_name_plural = _("合同")
        ordering = ["-period_from", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(period_to__gte=models.F("period_from")), name="contract_period"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="contract_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code


class ContractAttachment(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="contracts/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    content_type = models.CharField(_("类型"), max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("合同附件")
        verbose_name_plural = _("合同附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- orders


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审批")
    APPROVED = "approved", _("已审批")
    SHIPPED = "shipped", _("已发货")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


#: Orders in these states are owed by the customer: they count as receivables.
RECEIVABLE_STATUSES = (OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


class OrderUnit(models.TextChoices):
    PIECE = "piece", _("件")
    PACK = "pack", _("包")
    CASE = "case", _("箱")


class SalesOrder(BusinessModel):
    number = models.CharField(_("订单号"), max_length=32, unique=True)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="sales_orders"
    )
    contract = models.ForeignKey(
        Contract, verbose_name=_("合同"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="sales_orders"
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="sales_orders"
    )
    status = models.CharField(_("状态"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    order_date = models.DateField(_("下单日期"))
    payment_terms_days = models.PositiveSmallIntegerField(_("账期（天）"), default=30)
    due_date = models.DateField(_("到期日"))
    list_amount = models.DecimalField(_("原价金额"), max_digits=14, decimal_places=2, default=ZERO)
    discount_amount = models.DecimalField(_("折扣金额"), max_digits=14, decimal_places=2, default=ZERO)
    total_amount = models.DecimalField(_("订单金额"), max_digits=14, decimal_places=2, default=ZERO)
    allocated_amount = models.DecimalField(_("已回款"), max_digits=14, decimal_places=2, default=ZERO)
    notes = models.TextField(_("备注"), blank=True)
    approval_reasons = models.JSONField(_("审批原因"), default=list, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders_to_approve",
    )
    needs_credit_approval = models.BooleanField(_("需信用审批"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("销售订单")
        verbose_name_plural = _("销售订单")
        ordering = ["-order_date", "-id"]
        permissions = [
            ("approve_salesorder", _("可以审批订单")),
            ("approve_over_credit", _("可以审批超信用额度订单")),
            ("ship_salesorder", _("可以发货")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="salesorder_idempotency_unique",
            ),
            models.CheckConstraint(condition=models.Q(total_amount__gte=0), name="salesorder_total_not_negative"),
            models.CheckConstraint(
                condition=models.Q(allocated_amount__gte=0) & models.Q(allocated_amount__lte=models.F("total_amount")),
                name="salesorder_not_over_allocated",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "order_date", "id"], name="order_owner_date_idx"),
            models.Index(fields=["org_unit", "order_date", "id"], name="order_unit_date_idx"),
            models.Index(fields=["account", "order_date", "id"], name="order_account_date_idx"),
            models.Index(fields=["status", "due_date"], name="order_status_due_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def open_amount(self) -> Decimal:
        return self.total_amount - self.allocated_amount


class OrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField(_("行号"))
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    unit = models.CharField(_("单位"), max_length=8, choices=OrderUnit.choices)
    quantity = models.DecimalField(_("数量"), max_digits=14, decimal_places=3)
    quantity_pieces = models.DecimalField(_("数量（件）"), max_digits=16, decimal_places=3)
    list_price = models.DecimalField(_("价目价（每件）"), max_digits=12, decimal_places=2)
    price_list = models.ForeignKey(PriceList, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    price_reason = models.CharField(_("价格来源"), max_length=200, blank=True)
    discount_percent = models.DecimalField(
        _("折扣 %"),
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    net_price = models.DecimalField(_("折后价（每件）"), max_digits=12, decimal_places=2)
    line_total = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("订单行")
        verbose_name_plural = _("订单行")
        ordering = ["order", "line_no"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=models.Q(list_price__gte=0), name="orderline_price_not_negative"),
            models.CheckConstraint(
                condition=models.Q(discount_percent__gte=0) & models.Q(discount_percent__lte=100),
                name="orderline_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no}"


class OrderTransition(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(_("原状态"), max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, choices=OrderStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("订单状态变更")
        verbose_name_plural = _("订单状态变更")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class ApprovalRule(BusinessModel):
    """An order whose total exceeds ``min_amount`` and/or whose largest line discount exceeds
    ``min_discount_percent`` needs the approval of a manager of the owner: the first one in the
    manager chain with ``approver_role``, or the ``manager_level``-th manager (1 = direct)."""

    name = models.CharField(_("名称"), max_length=100)
    min_amount = models.DecimalField(
        _("金额超过"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    min_discount_percent = models.DecimalField(
        _("折扣超过 %"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
    )
    approver_role = models.CharField(_("审批角色"), max_length=32, blank=True)
    manager_level = models.PositiveSmallIntegerField(_("上级层级"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("审批规则")
        verbose_name_plural = _("审批规则")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- payments


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("银行转账")
    CASH = "cash", _("现金")
    ACCEPTANCE = "acceptance", _("承兑汇票")
    CHEQUE = "cheque", _("支票")
    ONLINE = "online", _("在线支付")
    OTHER = "other", _("其他")


class PaymentReceipt(BusinessModel):
    number = models.CharField(_("回款单号"), max_length=32, unique=True)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="payment_receipts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="payment_receipts"
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="payment_receipts"
    )
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("回款日期"))
    method = models.CharField(_("方式"), max_length=16, choices=PaymentMethod.choices)
    reference = models.CharField(_("凭证号"), max_length=100, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    allocated_amount = models.DecimalField(_("已核销"), max_digits=14, decimal_places=2, default=ZERO)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("回款")
        verbose_name_plural = _("回款")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="payment_idempotency_unique",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(allocated_amount__gte=0) & models.Q(allocated_amount__lte=models.F("amount")),
                name="payment_not_over_allocated",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "received_on", "id"], name="payment_owner_date_idx"),
            models.Index(fields=["org_unit", "received_on", "id"], name="payment_unit_date_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def unallocated_amount(self) -> Decimal:
        return self.amount - self.allocated_amount


class PaymentAllocation(models.Model):
    receipt = models.ForeignKey(PaymentReceipt, on_delete=models.PROTECT, related_name="allocations")
    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("核销金额"), max_digits=14, decimal_places=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("回款核销")
        verbose_name_plural = _("回款核销")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id} → {self.order_id}: {self.amount}"
