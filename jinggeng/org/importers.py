"""Import and export of employees (``jinggeng import employees …``).

One row per employee, identified by the employee code (工号): a known code updates the
employee, a new one creates an employee with a user account (no password: the administrator
sets one, or the person resets it). The writes go through ``employee_create`` /
``employee_update``, so the same rules hold as in the forms; a dry run therefore writes and
rolls back (``dry_run_writes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
from jinggeng.org import selectors, services
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit, RoleCode

COLUMNS = (
    Column(
        "code",
        gettext_lazy("工号"),
        "Employee code",
        required=True,
        help=gettext_lazy("唯一；已存在的工号会被更新"),
    ),
    Column(
        "username",
        gettext_lazy("用户名"),
        "Username",
        help=gettext_lazy("登录名；新员工必填，导入不修改已有用户名"),
    ),
    Column("name", gettext_lazy("姓名"), "Name", help=gettext_lazy("新员工必填")),
    Column("email", gettext_lazy("邮箱"), "Email"),
    Column("phone", gettext_lazy("手机"), "Phone"),
    Column(
        "role",
        gettext_lazy("角色"),
        "Role",
        help=gettext_lazy("角色编码或名称，如 rep / 业务员；新员工必填"),
    ),
    Column("org_unit", gettext_lazy("组织单元编码"), "Org unit code", help=gettext_lazy("新员工必填")),
    Column("manager", gettext_lazy("上级工号"), "Manager code"),
    Column("start_date", gettext_lazy("入职日期"), "Start date", help="YYYY-MM-DD"),
    Column("status", gettext_lazy("状态"), "Status", help=gettext_lazy("在职 / 离职（active / left）")),
)
SERVICE_FIELDS = ("email", "name", "phone", "role", "org_unit", "manager", "start_date", "status")


class EmployeeSpec:
    entity = "employees"
    verbose_name = gettext_lazy("员工")
    permissions = ("org.add_employee", "org.change_employee")
    identity = "code"
    batch_size = 500
    dry_run_writes = True
    model = Employee

    def columns(self) -> Sequence[Column]:
        return COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        codes = [r.values["code"] for r in rows if r.values.get("code")]
        existing = {
            code: (pk, username)
            for code, pk, username in Employee.objects.filter(code__in=codes).values_list(
                "code", "id", "user__username"
            )
        }
        roles = choice_lookup(RoleCode.choices)
        statuses = choice_lookup(EmployeeStatus.choices)
        outcomes = []
        for row in rows:
            values = row.values
            code = values.get("code", "")
            outcome = RowOutcome(
                row=row.number,
                action=CREATE,
                label=" ".join(filter(None, [code, values.get("name")])),
            )
            outcomes.append(outcome)
            if not code:
                outcome.refuse("code", _("请填写工号"))
                continue
            data: dict[str, Any] = {"code": code}
            for key in SERVICE_FIELDS:
                if key in values:
                    data[key] = values[key]
            if "role" in data:
                role = roles.get(header_key(data["role"]))
                if role is None:
                    outcome.refuse("role", _("角色不存在：%(value)s") % {"value": data["role"]})
                data["role"] = role or data["role"]
            if "status" in data:
                status = statuses.get(header_key(data["status"]))
                if status is None:
                    outcome.refuse("status", _("状态无效：%(value)s") % {"value": data["status"]})
                data["status"] = status or data["status"]
            found = existing.get(code)
            if found is not None:
                employee_id, username = found
                given = values.get("username")
                if given and given != username:
                    outcome.refuse(
                        "username",
                        _("导入不能修改已有员工的用户名（现为 %(name)s）") % {"name": username},
                    )
                if not outcome.refused:
                    outcome.action = UPDATE
                outcome.payload = (employee_id, data)
            else:
                for key in ("username", "name", "role", "org_unit"):
                    if not values.get(key):
                        outcome.refuse(key, _("新员工必须填写此项"))
                data["username"] = values.get("username", "")
                outcome.payload = (None, data)
        return outcomes

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        for outcome in prepared:
            employee_id, data = outcome.payload
            try:
                with transaction.atomic():
                    if employee_id is None:
                        services.employee_create(actor=actor, data=data)
                        result.created += 1
                    else:
                        before = Employee.objects.filter(pk=employee_id).values_list("version", flat=True).first()
                        employee = services.employee_update(actor=actor, employee_id=employee_id, data=data)
                        if employee.version != before:
                            result.updated += 1
            except DomainError as exc:
                refuse_with(outcome, exc)
            except IntegrityError as exc:
                outcome.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
        return result


class EmployeeExportSpec:
    """The export half (a separate object: its permission differs from the import's)."""

    entity = EmployeeSpec.entity
    verbose_name = EmployeeSpec.verbose_name
    permissions = ("org.view_employee",)

    def columns(self) -> Sequence[Column]:
        return COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        unit = (filters.get("org_unit") or "").strip()
        if unit and not unit.isdigit():
            unit = str(OrgUnit.objects.filter(code=unit).values_list("id", flat=True).first() or 0)
        qs = selectors.employee_list(
            actor=actor,
            q=filters.get("q") or None,
            role=filters.get("role") or None,
            org_unit=unit or None,
            status=filters.get("status") or None,
        ).order_by("code")
        for employee in qs.iterator(chunk_size=2000):
            yield {
                "code": employee.code,
                "username": employee.user.username,
                "name": employee.name,
                "email": employee.user.email,
                "phone": employee.phone,
                "role": employee.role.code,
                "org_unit": employee.org_unit.code,
                "manager": employee.manager.code if employee.manager else "",
                "start_date": employee.start_date,
                "status": employee.status,
            }


register(EmployeeSpec())
register(EmployeeExportSpec())
