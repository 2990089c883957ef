"""HTML forms of the org app. They parse input; the services validate the rules and save.

Choices (parent unit, org unit, manager) are limited to what the actor may see or manage.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jinggeng.core.errors import DomainError
from jinggeng.core.scope import ScopeLevel
from jinggeng.org import selectors
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit, OrgUnitKind, Territory
from jinggeng.org.scope import managed_unit_ids

EMPTY = [("", "—")]


def unit_choices(actor: Any, *, exclude_below: OrgUnit | None = None) -> list[tuple[str, str]]:
    """Units the actor manages, in tree order and indented, as (code, label)."""
    managed = managed_unit_ids(actor)
    result = []
    for unit, level in selectors.orgunit_tree(actor=actor):
        if managed is not None and unit.pk not in managed:
            continue
        if exclude_below is not None and unit.path.startswith(exclude_below.path):
            continue
        result.append((unit.code, "\u3000" * level + f"{unit.display_name} ({unit.code})"))
    return result


def apply_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the form: per field where the form has it, else on top."""
    if not exc.field_errors:
        form.add_error(None, exc.message)
        return
    for name, messages in exc.field_errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class OrgUnitForm(forms.Form):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=100)
    name_en = forms.CharField(label=_("英文名称"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("类型"), choices=OrgUnitKind.choices, initial=OrgUnitKind.TEAM)
    parent = forms.ChoiceField(label=_("上级"), required=False)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actor: Any, unit: OrgUnit | None = None, **kwargs: Any) -> None:
        if unit is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": unit.code,
                "name": unit.name,
                "name_en": unit.name_en,
                "kind": unit.kind,
                "parent": unit.parent.code if unit.parent else "",
                "active": unit.active,
                "version": unit.version,
            }
        super().__init__(*args, **kwargs)
        choices = unit_choices(actor, exclude_below=unit)
        if unit is not None and unit.parent and unit.parent.code not in {c for c, _label in choices}:
            choices.insert(0, (unit.parent.code, unit.parent.display_name))
        self.fields["parent"].choices = EMPTY + choices  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        data["parent"] = data.get("parent") or None
        return data


class EmployeeForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(
        label=_("初始密码"),
        required=False,
        widget=forms.PasswordInput(render_value=True),
        help_text=_("留空则该用户暂不能用密码登录"),
    )
    code = forms.CharField(label=_("工号"), max_length=40)
    name = forms.CharField(label=_("姓名"), max_length=60)
    email = forms.EmailField(label=_("电子邮件"), required=False)
    role = forms.ChoiceField(label=_("角色"))
    org_unit = forms.ChoiceField(label=_("组织单元"))
    manager = forms.ChoiceField(label=_("上级经理"), required=False)
    phone = forms.CharField(label=_("手机"), max_length=20, required=False, help_text=_("手机号或带区号的固定电话"))
    start_date = forms.DateField(label=_("入职日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    scope_override = forms.ChoiceField(
        label=_("数据范围（个人设置）"),
        required=False,
        help_text=_("留空则使用角色的默认数据范围"),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    CREATE_ONLY = ("username", "password")

    def __init__(self, *args: Any, actor: Any, employee: Employee | None = None, **kwargs: Any) -> None:
        if employee is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": employee.code,
                "name": employee.name,
                "email": employee.user.email,
                "role": employee.role.code,
                "org_unit": employee.org_unit.code,
                "manager": employee.manager.code if employee.manager else "",
                "phone": employee.phone,
                "start_date": employee.start_date,
                "scope_override": employee.scope_override,
                "version": employee.version,
            }
        super().__init__(*args, **kwargs)
        self.employee = employee
        if employee is not None:
            for name in self.CREATE_ONLY:
                del self.fields[name]
        self.fields["role"].choices = [(r.code, str(r)) for r in selectors.role_list()]  # type: ignore[attr-defined]
        units = unit_choices(actor)
        if employee is not None and employee.org_unit.code not in {c for c, _label in units}:
            units.insert(0, (employee.org_unit.code, employee.org_unit.display_name))
        self.fields["org_unit"].choices = units  # type: ignore[attr-defined]
        managers = [
            (e.code, f"{e.name} ({e.code})")
            for e in selectors.employee_list(actor=actor, status=EmployeeStatus.ACTIVE).order_by("name", "pk")
            if employee is None or e.pk != employee.pk
        ]
        if employee is not None and employee.manager and employee.manager.code not in {c for c, _l in managers}:
            managers.insert(0, (employee.manager.code, employee.manager.name))
        self.fields["manager"].choices = EMPTY + managers  # type: ignore[attr-defined]
        self.fields["scope_override"].choices = EMPTY + list(ScopeLevel.choices)  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        data["manager"] = data.get("manager") or None
        if "password" in data and not data["password"]:
            data.pop("password")
        return data


class LeaveForm(forms.Form):
    leave_date = forms.DateField(label=_("离职日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=500, required=False)


class TerritoryForm(forms.Form):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=100)
    org_unit = forms.ChoiceField(label=_("负责组织"))
    divisions = forms.CharField(
        label=_("行政区划代码"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("6 位 GB/T 2260 代码，用逗号或空格分隔，例如 320100, 320200"),
    )
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actor: Any, territory: Territory | None = None, **kwargs: Any) -> None:
        if territory is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": territory.code,
                "name": territory.name,
                "org_unit": territory.org_unit.code,
                "divisions": ", ".join(sorted(d.code for d in territory.divisions.all())),
                "active": territory.active,
                "version": territory.version,
            }
        super().__init__(*args, **kwargs)
        units = unit_choices(actor)
        if territory is not None and territory.org_unit.code not in {c for c, _label in units}:
            units.insert(0, (territory.org_unit.code, territory.org_unit.display_name))
        self.fields["org_unit"].choices = units  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}
