"""Field execution (深度分销的终端执行): 七定 routes, visit standards, visits with GPS check-in
and check-out, flags, visit steps, photos, stock counts (进销存 per outlet and SKU), competitor
notes, suggested orders, outlet coverage, daily reports and supervisor audits (稽查).

Scope: every fact row carries the rep (``rep``, the owner) and the rep's org unit at the time
(``org_unit``), so the data scope applies with `apply_scope(qs, scope, owner_field="rep")`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel

ZERO = Decimal("0")


# --------------------------------------------------------------------------- standards


class VisitStepKind(models.TextChoices):
    """The standard visit procedure (拜访八步), in the order a rep does it."""

    CARD = "card", _("查看客户卡")
    POSM = "posm", _("检查海报与助销物")
    SHELF = "shelf", _("理货与货架检查")
    STOCK = "stock", _("盘点库存")
    COMPETITOR = "competitor", _("收集竞品信息")
    ORDER = "order", _("建议订单")
    FAREWELL = "farewell", _("致谢道别")


class VisitStandard(BusinessModel):
    """A visit checklist template (拜访标准), chosen for an outlet by account type, grade and
    channel type: the most specific active standard that matches wins (blank = any)."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    account_type = models.CharField(_("客户类型"), max_length=16, blank=True, help_text=_("留空表示所有类型"))
    grade = models.CharField(_("客户等级"), max_length=1, blank=True, help_text=_("留空表示所有等级"))
    channel_type = models.ForeignKey(
        "customers.ChannelType",
        verbose_name=_("渠道类型"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    required_steps = models.JSONField(_("必做步骤"), default=list, blank=True)
    optional_steps = models.JSONField(_("选做步骤"), default=list, blank=True)
    visit_minutes = models.PositiveSmallIntegerField(
        _("标准拜访时长（分钟）"), default=15, validators=[MinValueValidator(1), MaxValueValidator(480)]
    )
    min_minutes = models.PositiveSmallIntegerField(
        _("最短拜访时长（分钟）"), default=5, validators=[MaxValueValidator(480)]
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("拜访标准")
        verbose_name_plural = _("拜访标准")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- routes (七定)


class VisitCycle(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    BIWEEKLY = "biweekly", _("每两周")
    FOUR_WEEKLY = "four_weekly", _("每四周")
    TIMES_PER_WEEK = "times_per_week", _("每周多次")


class Route(BusinessModel):
    """A fixed route (线路): one rep, one area, an ordered list of outlets, a cycle with
    weekdays (ISO 1 = Monday … 7 = Sunday), a time window and a visit standard.

    ``anchor_date`` fixes which weeks a two- or four-weekly route runs: the weeks whose Monday
    is a whole number of cycles from the anchor's Monday."""

    code = models.CharField(_("线路编码"), max_length=40, unique=True)
    name = models.CharField(_("线路名称"), max_length=100)
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="routes"
    )
    org_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="routes"
    )
    area = models.CharField(_("片区"), max_length=100, blank=True)
    cycle = models.CharField(_("拜访周期"), max_length=16, choices=VisitCycle.choices, default=VisitCycle.WEEKLY)
    weekdays = models.JSONField(_("拜访日"), default=list, help_text=_("ISO 星期：1=周一 … 7=周日"))
    anchor_date = models.DateField(_("周期起始日"), null=True, blank=True)
    start_time = models.TimeField(_("开始时间"), null=True, blank=True)
    end_time = models.TimeField(_("结束时间"), null=True, blank=True)
    standard = models.ForeignKey(
        VisitStandard,
        verbose_name=_("拜访标准"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routes",
        help_text=_("留空则按客户类型与等级选择"),
    )
    start_latitude = models.DecimalField(_("起点纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    start_longitude = models.DecimalField(_("起点经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("线路")
        verbose_name_plural = _("线路")
        ordering = ["code"]
        indexes = [models.Index(fields=["rep", "active"], name="route_rep_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RouteStop(models.Model):
    """An outlet on a route, at its position (1, 2, …) in the visiting order."""

    route = models.ForeignKey(Route, verbose_name=_("线路"), on_delete=models.CASCADE, related_name="stops")
    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.CASCADE, related_name="route_stops"
    )
    position = models.PositiveIntegerField(_("顺序"))
    visit_minutes = models.PositiveSmallIntegerField(_("拜访时长（分钟）"), null=True, blank=True)
    window_start = models.TimeField(_("可拜访开始"), null=True, blank=True)
    window_end = models.TimeField(_("可拜访结束"), null=True, blank=True)

    class Meta:
        verbose_name = _("线路客户")
        verbose_name_plural = _("线路客户")
        ordering = ["route", "position"]
        constraints = [models.UniqueConstraint(fields=["route", "account"], name="routestop_route_account_uniq")]
        indexes = [models.Index(fields=["account"], name="routestop_account_idx")]

    def __str__(self) -> str:
        return f"{self.route_id}#{self.position}"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("已驳回")


class RouteProposal(BusinessModel):
    """An optimiser proposal for one rep's week, shown beside the current routes; a manager
    accepts (the routes are rewritten, with history) or rejects it.

    ``current`` and ``proposed`` hold per-day summaries: ``[{"weekday": 1, "route_id": …,
    "account_ids": [...], "km": 12.3, "travel_minutes": 40, "visit_minutes": 180}]``."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="route_proposals"
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    current = models.JSONField(_("当前方案"), default=list, blank=True)
    proposed = models.JSONField(_("建议方案"), default=list, blank=True)
    unplaced = models.JSONField(_("无法安排的客户"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    reason = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("线路优化方案")
        verbose_name_plural = _("线路优化方案")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"


# --------------------------------------------------------------------------- visits


class VisitKind(models.TextChoices):
    PLANNED = "planned", _("计划拜访")
    AD_HOC = "ad_hoc", _("临时拜访")


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("待拜访")
    IN_PROGRESS = "in_progress", _("拜访中")
    COMPLETED = "completed", _("已完成")
    MISSED = "missed", _("未拜访")
    CANCELLED = "cancelled", _("已取消")


class Visit(BusinessModel):
    """One visit of a rep to an outlet: planned from a route (``planned_date``) or ad hoc.

    ``visit_date`` is the day the visit belongs to (the planned day, or the day of check-in for
    an ad-hoc visit); a missed visit carried over keeps its ``planned_date`` and gets a new row
    for the new day with ``carried_from`` set. Positions and accuracy are in degrees and
    metres; ``*_at`` are server times, ``*_device_at`` what the device said."""

    account = models.ForeignKey(
        "customers.Account", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="visits"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="visits"
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    route = models.ForeignKey(
        Route, verbose_name=_("线路"), null=True, blank=True, on_delete=models.SET_NULL, related_name="visits"
    )
    kind = models.CharField(_("类型"), max_length=10, choices=VisitKind.choices, default=VisitKind.PLANNED)
    status = models.CharField(_("状态"), max_length=12, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    visit_date = models.DateField(_("拜访日期"))
    planned_date = models.DateField(_("计划日期"), null=True, blank=True)
    planned_position = models.PositiveIntegerField(_("计划顺序"), null=True, blank=True)
    actual_position = models.PositiveIntegerField(_("实际顺序"), null=True, blank=True)
    carried_from = models.ForeignKey(
        "self", verbose_name=_("顺延自"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    standard = models.ForeignKey(
        VisitStandard, verbose_name=_("拜访标准"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    check_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    check_in_device_at = models.DateTimeField(_("签到设备时间"), null=True, blank=True)
    check_in_latitude = models.DecimalField(_("签到纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    check_in_longitude = models.DecimalField(_("签到经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    check_in_accuracy_m = models.FloatField(_("签到定位精度（米）"), null=True, blank=True)
    check_in_distance_m = models.FloatField(_("签到距门店（米）"), null=True, blank=True)
    check_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    check_out_device_at = models.DateTimeField(_("签退设备时间"), null=True, blank=True)
    check_out_latitude = models.DecimalField(_("签退纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    check_out_longitude = models.DecimalField(_("签退经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    check_out_accuracy_m = models.FloatField(_("签退定位精度（米）"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("拜访时长（秒）"), null=True, blank=True)
    flag_count = models.PositiveSmallIntegerField(_("异常数"), default=0)
    order = models.ForeignKey(
        "orders.SalesOrder", verbose_name=_("订单"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notes = models.TextField(_("备注"), blank=True)
    client_key = models.CharField(_("设备请求键"), max_length=64, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("拜访")
        verbose_name_plural = _("拜访")
        ordering = ["-visit_date", "rep", "planned_position", "id"]
        indexes = [
            models.Index(fields=["rep", "visit_date"], name="visit_rep_date_idx"),
            models.Index(fields=["org_unit", "visit_date"], name="visit_unit_date_idx"),
            models.Index(fields=["account", "visit_date"], name="visit_account_date_idx"),
            models.Index(fields=["visit_date", "status"], name="visit_date_status_idx"),
            # The rep's previous check-in (impossible-travel rule) without reading their history.
            models.Index(fields=["rep", "check_in_at"], name="visit_rep_checkin_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_date} {self.account_id}"


class VisitFlagCode(models.TextChoices):
    FAR_CHECK_IN = "far_check_in", _("签到距离过远")
    SHORT_VISIT = "short_visit", _("拜访时间过短")
    OUTSIDE_HOURS = "outside_hours", _("非工作时间拜访")
    IMPOSSIBLE_TRAVEL = "impossible_travel", _("行程速度异常")
    POOR_ACCURACY = "poor_accuracy", _("定位精度过低")
    REUSED_PHOTO = "reused_photo", _("照片重复使用")
    NO_POSITION = "no_position", _("门店无坐标")


class VisitFlag(models.Model):
    """A reason to doubt a visit, raised by the rules at check-in, check-out or photo upload;
    ``detail`` holds the measured figures (distance, speed, accuracy, the other visit)."""

    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="flags")
    code = models.CharField(_("异常类型"), max_length=20, choices=VisitFlagCode.choices)
    detail = models.JSONField(_("明细"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("拜访异常")
        verbose_name_plural = _("拜访异常")
        constraints = [models.UniqueConstraint(fields=["visit", "code"], name="visitflag_visit_code_uniq")]
        indexes = [models.Index(fields=["code"], name="visitflag_code_idx")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.code}"


class VisitStep(models.Model):
    """A step of the standard procedure done during a visit; ``data`` holds what the step
    records that has no table of its own (for example POSM checks: ``{"posters": true}``)."""

    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("步骤"), max_length=12, choices=VisitStepKind.choices)
    done_at = models.DateTimeField(_("完成时间"))
    data = models.JSONField(_("内容"), default=dict, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("拜访步骤")
        verbose_name_plural = _("拜访步骤")
        constraints = [models.UniqueConstraint(fields=["visit", "kind"], name="visitstep_visit_kind_uniq")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.kind}"


class PhotoKind(models.TextChoices):
    SHELF = "shelf", _("货架")
    STOREFRONT = "storefront", _("门头")
    POSM = "posm", _("助销物")
    OTHER = "other", _("其他")


class VisitPhoto(models.Model):
    """A photo taken at a visit, stored through Django's storage API; ``sha256`` of the content
    finds a photo already used at another visit (``reused_from``)."""

    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(_("照片类型"), max_length=12, choices=PhotoKind.choices, default=PhotoKind.SHELF)
    file = models.FileField(_("文件"), upload_to="visits/%Y/%m/")
    sha256 = models.CharField(_("内容摘要"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("大小（字节）"))
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    content_type = models.CharField(_("类型"), max_length=40)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    reused_from = models.ForeignKey(
        "self", verbose_name=_("重复自"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_key = models.CharField(_("设备请求键"), max_length=64, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("拜访照片")
        verbose_name_plural = _("拜访照片")
        ordering = ["visit", "id"]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.kind}"


class StockCount(models.Model):
    """One SKU at one visit (一行进销存): stock counted, received since the last visit, facings
    and the price seen on the shelf, in pieces. Sold since the last visit is computed:
    last stock + received − stock."""

    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="stock_counts")
    account = models.ForeignKey("customers.Account", verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    counted_on = models.DateField(_("盘点日期"))
    stock = models.PositiveIntegerField(_("库存（件）"))
    received = models.PositiveIntegerField(_("进货（件）"), default=0)
    facings = models.PositiveSmallIntegerField(_("排面数"), null=True, blank=True)
    price_seen = models.DecimalField(
        _("零售价"), max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        verbose_name = _("库存盘点")
        verbose_name_plural = _("库存盘点")
        constraints = [models.UniqueConstraint(fields=["visit", "sku"], name="stockcount_visit_sku_uniq")]
        indexes = [models.Index(fields=["account", "sku", "counted_on"], name="stockcount_account_sku_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.sku_id} {self.counted_on}"


class SuggestedOrderLine(models.Model):
    """The suggested quantity of one SKU at a visit, with its inputs, and what the rep accepted
    (in ``unit``: piece / pack / case). Accepted lines become a draft order."""

    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="suggested_lines")
    sku = models.ForeignKey("catalog.Sku", verbose_name=_("SKU"), on_delete=models.PROTECT, related_name="+")
    stock = models.PositiveIntegerField(_("当前库存（件）"))
    daily_rate = models.DecimalField(_("日均动销（件）"), max_digits=12, decimal_places=3)
    days_to_next_visit = models.PositiveSmallIntegerField(_("距下次拜访（天）"))
    lead_time_days = models.PositiveSmallIntegerField(_("到货天数"))
    safety_stock = models.PositiveIntegerField(_("安全库存（件）"))
    suggested_pieces = models.PositiveIntegerField(_("建议数量（件）"))
    unit = models.CharField(_("订货单位"), max_length=8, default="case")
    suggested_qty = models.PositiveIntegerField(_("建议数量"))
    accepted_qty = models.PositiveIntegerField(_("确认数量"), null=True, blank=True)
    inputs = models.JSONField(_("计算依据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("建议订单行")
        verbose_name_plural = _("建议订单行")
        constraints = [models.UniqueConstraint(fields=["visit", "sku"], name="suggestedline_visit_sku_uniq")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.sku_id}"


class CompetitorNote(models.Model):
    """Competitor information seen at an outlet: brand, product, price, promotion."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("拜访"), null=True, blank=True, on_delete=models.CASCADE, related_name="competitor_notes"
    )
    account = models.ForeignKey("customers.Account", verbose_name=_("客户"), on_delete=models.CASCADE, related_name="+")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    seen_on = models.DateField(_("日期"))
    brand = models.ForeignKey(
        "catalog.Brand", verbose_name=_("竞品品牌"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    brand_name = models.CharField(_("品牌名称"), max_length=60, blank=True)
    product = models.CharField(_("产品"), max_length=120, blank=True)
    price = models.DecimalField(
        _("价格"), max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    promotion = models.CharField(_("促销"), max_length=200, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("竞品信息")
        verbose_name_plural = _("竞品信息")
        ordering = ["-seen_on", "-id"]
        indexes = [models.Index(fields=["org_unit", "seen_on"], name="competitor_unit_date_idx")]

    def __str__(self) -> str:
        return f"{self.seen_on} {self.brand_name or self.brand_id}"


class OutletCoverage(models.Model):
    """Per outlet on a route: its cycle in days, the last completed visit and the day the next
    one is due; kept current by the visit services so "not visited within its cycle"
    (未访问客户) is one indexed filter: ``due_on < today``."""

    account = models.OneToOneField(
        "customers.Account",
        verbose_name=_("客户"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="coverage",
    )
    route = models.ForeignKey(
        Route, verbose_name=_("线路"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("业务员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    cycle_days = models.PositiveSmallIntegerField(_("周期（天）"))
    last_visited_on = models.DateField(_("最近拜访"), null=True, blank=True)
    due_on = models.DateField(_("应访日期"))

    class Meta:
        verbose_name = _("客户覆盖")
        verbose_name_plural = _("客户覆盖")
        indexes = [models.Index(fields=["org_unit", "due_on"], name="coverage_unit_due_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.due_on}"


# --------------------------------------------------------------------------- reports and audits


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")


class DailyReport(BusinessModel):
    """A rep's daily report (日报 / 晚汇报): figures built from the day's records (a snapshot
    in ``figures`` at submission) plus the rep's own comments; late when submitted after
    ``deadline_at``."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="daily_reports"
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("日期"))
    status = models.CharField(_("状态"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    figures = models.JSONField(_("当日数据"), default=dict, blank=True)
    comments = models.TextField(_("工作总结"), blank=True)
    plan_tomorrow = models.TextField(_("明日计划"), blank=True)
    deadline_at = models.DateTimeField(_("截止时间"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    late = models.BooleanField(_("迟交"), default=False)

    class Meta:
        verbose_name = _("日报")
        verbose_name_plural = _("日报")
        ordering = ["-day", "rep"]
        constraints = [models.UniqueConstraint(fields=["rep", "day"], name="dailyreport_rep_day_uniq")]
        indexes = [models.Index(fields=["org_unit", "day"], name="dailyreport_unit_day_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day}"


class AuditReason(models.TextChoices):
    RANDOM = "random", _("随机抽查")
    RISK = "risk", _("风险抽查")


class AuditStatus(models.TextChoices):
    ASSIGNED = "assigned", _("待稽查")
    DONE = "done", _("已稽查")


class AuditFinding(models.TextChoices):
    CONFIRMED = "confirmed", _("属实")
    OUTLET_CLOSED = "outlet_closed", _("门店已关闭")
    STOCK_MISMATCH = "stock_mismatch", _("库存不符")
    FAKE_PHOTO = "fake_photo", _("照片造假")
    NOT_VISITED = "not_visited", _("未实际拜访")


class VisitAudit(BusinessModel):
    """A supervisor's re-check (稽查) of a visit, sampled at random or by risk; any finding
    other than ``confirmed`` is a problem that counts in the rep's figures."""

    visit = models.OneToOneField(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="audit")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("业务员"), on_delete=models.PROTECT, related_name="+"
    )
    org_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="+")
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("稽查人"), on_delete=models.PROTECT, related_name="visit_audits"
    )
    reason = models.CharField(_("抽查方式"), max_length=8, choices=AuditReason.choices)
    risk_score = models.FloatField(_("风险分"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=AuditStatus.choices, default=AuditStatus.ASSIGNED)
    finding = models.CharField(_("稽查结论"), max_length=16, choices=AuditFinding.choices, blank=True)
    notes = models.TextField(_("稽查说明"), blank=True)
    done_at = models.DateTimeField(_("稽查时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("拜访稽查")
        verbose_name_plural = _("拜访稽查")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supervisor", "status"], name="audit_supervisor_idx"),
            models.Index(fields=["rep", "status"], name="audit_rep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.status}"

    @property
    def is_problem(self) -> bool:
        return self.status == AuditStatus.DONE and self.finding != AuditFinding.CONFIRMED


# --------------------------------------------------------------------------- device requests (visits part)


class VisitRequest(models.Model):
    """An ``Idempotency-Key`` of a device request on a visit (ad-hoc visit, check-in, check-out,
    step, photo): a retry of the same request with the same key answers with the first result
    and changes nothing; the unique (actor, key) decides between concurrent retries.
    ``object_id`` is the step or photo the request made; ``request_hash`` its body's digest."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("设备请求键"), max_length=100)
    action = models.CharField(_("操作"), max_length=16)
    visit = models.ForeignKey(Visit, verbose_name=_("拜访"), on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField(_("对象"), null=True, blank=True)
    request_hash = models.CharField(_("请求摘要"), max_length=64)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("拜访设备请求")
        verbose_name_plural = _("拜访设备请求")
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="visitrequest_actor_key_uniq")]
        indexes = [models.Index(fields=["created_at"], name="visitrequest_created_idx")]  # pruning

    def __str__(self) -> str:
        return f"{self.actor_id} {self.key}"
