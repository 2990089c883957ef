"""Organisation: org units in a tree, roles with data scope, employees, divisions, territories."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from jinggeng.core.models import BusinessModel
from jinggeng.core.scope import ScopeLevel


class OrgUnitKind(models.TextChoices):
    COMPANY = "company", _("公司")
    REGION = "region", _("大区")
    AREA = "area", _("区域")
    TEAM = "team", _("小组")
    OTHER = "other", _("其他")


class OrgUnit(BusinessModel):
    """A node of the org tree. ``path`` is the materialised path of ids, e.g. ``/1/4/9/``."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=OrgUnitKind.choices, default=OrgUnitKind.TEAM)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="/")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class RoleCode(models.TextChoices):
    GENERAL_MANAGER = "general_manager", _("总经理")
    SALES_DIRECTOR = "sales_director", _("销售总监")
    REGIONAL_MANAGER = "regional_manager", _("大区经理")
    AREA_MANAGER = "area_manager", _("区域经理")
    SUPERVISOR = "supervisor", _("督导")
    REP = "rep", _("业务员")
    PROMOTER = "promoter", _("促销员")
    MARKETING = "marketing", _("市场专员")
    SERVICE_AGENT = "service_agent", _("客服专员")
    DISTRIBUTOR_USER = "distributor_user", _("经销商用户")
    ADMINISTRATOR = "administrator", _("系统管理员")


class Role(models.Model):
    """A role: a Django group of permissions plus a default data scope."""

    code = models.CharField(_("编码"), max_length=32, choices=RoleCode.choices, unique=True)
    group = models.OneToOneField(Group, verbose_name=_("权限组"), on_delete=models.PROTECT, related_name="role")
    default_scope = models.CharField(_("默认数据范围"), max_length=16, choices=ScopeLevel.choices)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.get_code_display())


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", _("在职")
    LEFT = "left", _("离职")


class Employee(BusinessModel):
    """The work profile of a user: role, org unit, manager and data scope."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="employee")
    code = models.CharField(_("工号"), max_length=40, unique=True)
    name = models.CharField(_("姓名"), max_length=60)
    role = models.ForeignKey(Role, verbose_name=_("角色"), on_delete=models.PROTECT, related_name="employees")
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("组织单元"), on_delete=models.PROTECT, related_name="employees"
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("上级经理"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    phone = models.CharField(_("手机"), max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=EmployeeStatus.choices, default=EmployeeStatus.ACTIVE)
    start_date = models.DateField(_("入职日期"), null=True, blank=True)
    leave_date = models.DateField(_("离职日期"), null=True, blank=True)
    scope_override = models.CharField(
        _("数据范围（个人设置）"),
        max_length=16,
        choices=ScopeLevel.choices,
        blank=True,
        help_text=_("留空则使用角色的默认数据范围"),
    )

    class Meta:
        verbose_name = _("员工")
        verbose_name_plural = _("员工")
        indexes = [models.Index(fields=["org_unit", "name", "id"], name="employee_unit_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_level(self) -> str:
        return self.scope_override or self.role.default_scope


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("地级")
    COUNTY = "county", _("县级")


class Division(models.Model):
    """A mainland China administrative division with its GB/T 2260 six-digit code."""

    code = models.CharField(_("行政区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=60)
    level = models.CharField(_("级别"), max_length=8, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    full_name = models.CharField(_("全称"), max_length=150)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str:
        return self.code[:4] + "00" if self.level != DivisionLevel.PROVINCE else ""


class Territory(BusinessModel):
    """A named set of divisions assigned to an org unit."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("负责组织"), on_delete=models.PROTECT, related_name="territories"
    )
    divisions = models.ManyToManyField(Division, verbose_name=_("行政区划"), related_name="territories")
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("销售区域")
        verbose_name_plural = _("销售区域")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
