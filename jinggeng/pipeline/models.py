"""Sales process: leads, pipelines with stages, opportunities with lines and stage history,
activities, and the personal calendar feed token."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel


class LeadSource(models.TextChoices):
    CAMPAIGN = "campaign", _("市场活动")
    REFERRAL = "referral", _("转介绍")
    TRADE_SHOW = "trade_show", _("展会")
    PHONE = "phone", _("电话")
    WEB = "web", _("网站")
    OTHER = "other", _("其他")


class LeadStatus(models.TextChoices):
    NEW = "new", _("新线索")
    WORKING = "working", _("跟进中")
    QUALIFIED = "qualified", _("已确认")
    CONVERTED = "converted", _("已转化")
    DISQUALIFIED = "disqualified", _("无效")


class Lead(BusinessModel):
    """A possible customer not yet qualified: who, from where, interested in what."""

    name = models.CharField(_("联系人姓名"), max_length=60)
    company = models.CharField(_("公司名称"), max_length=120, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("邮箱"), blank=True)
    source = models.CharField(_("来源"), max_length=16, choices=LeadSource.choices, default=LeadSource.OTHER)
    status = models.CharField(_("状态"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    interest = models.TextField(_("意向"), blank=True)
    division = models.ForeignKey(
        "org.Division", verbose_name=_("行政区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_leads",
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="pipeline_leads"
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("转化客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_leads",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("转化联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opportunity = models.ForeignKey(
        "Opportunity", verbose_name=_("转化商机"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_at = models.DateTimeField(_("转化时间"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("线索")
        verbose_name_plural = _("线索")
        permissions = [("assign_lead", _("分配线索"))]
        indexes = [
            models.Index(fields=["owner", "status", "id"], name="lead_owner_idx"),
            models.Index(fields=["org_unit", "status", "id"], name="lead_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.company} · {self.name}" if self.company else self.name


class AssignmentRule(models.TextChoices):
    TERRITORY = "territory", _("按区域")
    ROUND_ROBIN = "round_robin", _("轮流分配")
    CREATOR = "creator", _("创建人")
    MANUAL = "manual", _("手工分配")


class LeadAssignment(models.Model):
    """Who a lead was given to, by which rule, by whom and when."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_unit = models.ForeignKey("org.OrgUnit", null=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.CharField(_("规则"), max_length=16, choices=AssignmentRule.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("线索分配记录")
        verbose_name_plural = _("线索分配记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.to_owner_id}"


class RoundRobinState(models.Model):
    """The last rep of an org unit who got a lead, so round robin survives restarts."""

    org_unit = models.OneToOneField("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("轮流分配状态")
        verbose_name_plural = _("轮流分配状态")

    def __str__(self) -> str:
        return f"{self.org_unit_id}: {self.last_user_id}"


class Pipeline(BusinessModel):
    """A sales process with ordered stages, e.g. key-account deals or distributor recruitment."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    stale_days = models.PositiveIntegerField(_("停滞提醒天数"), default=14)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("销售流程")
        verbose_name_plural = _("销售流程")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


# Fields a stage may require before an opportunity enters it.
STAGE_REQUIREMENTS = ("amount", "expected_close_date", "next_step", "competitors", "lines", "lost_reason")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, verbose_name=_("销售流程"), on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("名称"), max_length=60)
    order = models.PositiveSmallIntegerField(_("顺序"))
    probability = models.PositiveSmallIntegerField(
        _("赢率（%）"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    required_fields = models.JSONField(_("进入前必填字段"), default=list, blank=True)
    is_won = models.BooleanField(_("赢单阶段"), default=False)
    is_lost = models.BooleanField(_("丢单阶段"), default=False)

    class Meta:
        verbose_name = _("阶段")
        verbose_name_plural = _("阶段")
        ordering = ["pipeline_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_pipeline_order_uniq"),
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="stage_probability_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost

    def clean(self) -> None:
        """Admin form validation: known required fields, not both won and lost."""
        from django.core.exceptions import ValidationError

        allowed = set(STAGE_REQUIREMENTS)
        fields = self.required_fields if isinstance(self.required_fields, list) else None
        if fields is None or not set(fields) <= allowed:
            raise ValidationError(
                {"required_fields": _("只能填写这些字段：%(fields)s") % {"fields": ", ".join(STAGE_REQUIREMENTS)}}
            )
        if self.is_won and self.is_lost:
            raise ValidationError({"is_lost": _("一个阶段不能既是赢单又是丢单")})


class LossReason(models.Model):
    """An editable list of reasons a deal is lost."""

    name = models.CharField(_("名称"), max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("丢单原因")
        verbose_name_plural = _("丢单原因")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    WON = "won", _("赢单")
    LOST = "lost", _("丢单")


class Opportunity(BusinessModel):
    name = models.CharField(_("商机名称"), max_length=120)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="opportunities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_opportunities",
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="pipeline_opportunities"
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("销售流程"), on_delete=models.PROTECT, related_name="opportunities"
    )
    stage = models.ForeignKey(Stage, verbose_name=_("阶段"), on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(
        _("状态"), max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2, default=Decimal("0"))
    expected_close_date = models.DateField(_("预计成交日期"), null=True, blank=True)
    next_step = models.CharField(_("下一步"), max_length=200, blank=True)
    competitors = models.TextField(_("竞争对手"), blank=True)
    lost_reason = models.ForeignKey(
        LossReason, verbose_name=_("丢单原因"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lost_note = models.CharField(_("丢单说明"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("进入当前阶段时间"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("最近活动时间"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("商机")
        verbose_name_plural = _("商机")
        indexes = [
            models.Index(fields=["pipeline", "stage", "owner"], name="opp_board_owner_idx"),
            models.Index(fields=["pipeline", "stage", "org_unit"], name="opp_board_unit_idx"),
            models.Index(fields=["owner", "status", "id"], name="opp_owner_idx"),
            models.Index(fields=["org_unit", "status", "id"], name="opp_unit_idx"),
            # The funnel and the board's totals read these columns from the index alone; the
            # board's largest cards of a stage come from it in order.
            models.Index(
                fields=["pipeline", "org_unit", "stage", "-amount", "id"],
                include=["status", "created_at", "closed_at", "owner"],
                name="opp_funnel_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityLine(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("数量"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("单位"), max_length=8)
    quantity_pieces = models.DecimalField(_("折合件数"), max_digits=16, decimal_places=3)
    price = models.DecimalField(_("单价"), max_digits=14, decimal_places=2)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("商机产品")
        verbose_name_plural = _("商机产品")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="opp_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="opp_line_price_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} × {self.quantity} {self.unit}"


class StageChange(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        verbose_name = _("阶段变更")
        verbose_name_plural = _("阶段变更")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "at"], name="stagechange_opp_idx"),
            # The funnel: moves back or out of a lost stage (few), and moves into a lost stage
            # by the stage they left (read from the index alone).
            models.Index(fields=["from_stage", "to_stage"], name="stagechange_from_to_idx"),
            models.Index(fields=["to_stage", "from_stage", "opportunity"], name="stagechange_to_from_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("电话")
    MEETING = "meeting", _("会议/拜访")
    NOTE = "note", _("备注")
    EMAIL = "email", _("邮件")
    TASK = "task", _("任务")


class Activity(BusinessModel):
    kind = models.CharField(_("类型"), max_length=8, choices=ActivityKind.choices)
    subject = models.CharField(_("主题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    due_at = models.DateTimeField(_("开始/到期时间"), null=True, blank=True, db_index=True)
    duration_minutes = models.PositiveIntegerField(_("时长（分钟）"), default=30)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("联系人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lead = models.ForeignKey(
        Lead, verbose_name=_("线索"), null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("商机"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="activities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pipeline_activities",
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="pipeline_activities"
    )

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        indexes = [
            models.Index(fields=["owner", "due_at"], name="activity_owner_due_idx"),
            models.Index(fields=["org_unit", "due_at"], name="activity_unit_due_idx"),
        ]

    def __str__(self) -> str:
        return self.subject


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed. Only a SHA-256 hash of the token is stored."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("日历订阅")
        verbose_name_plural = _("日历订阅")

    def __str__(self) -> str:
        return f"{self.user_id}"
