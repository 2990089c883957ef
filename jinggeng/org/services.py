"""Writes of the org app: org units in a tree, employees, roles' default scope, territories.

Every function is keyword-only, atomic, validates before it saves and writes an audit record.
A record outside the actor's data scope does not exist for them (NotFound); a record in scope
without the Django permission for the change is PermissionDenied.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F, Max, Value
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_create, audit_delete, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.scope import ScopeLevel
from jinggeng.org.models import (
    Division,
    DivisionLevel,
    Employee,
    EmployeeStatus,
    OrgUnit,
    OrgUnitKind,
    Role,
    RoleCode,
    Territory,
)
from jinggeng.org.scope import forget_scope, managed_unit_ids, scope_for, visible_unit_ids

# The actor is the logged-in user (django.contrib.auth's User or a swapped model).
Actor = Any

PATH_MAX_LENGTH = 255
SCOPE_RANK = {ScopeLevel.SELF: 0, ScopeLevel.TEAM: 1, ScopeLevel.SUBTREE: 2, ScopeLevel.ALL: 3}
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
DIVISION_CODE_RE = re.compile(r"^\d{6}$")


# --- shared helpers -------------------------------------------------------------------------


class _Errors:
    """Collects field errors so one answer names every bad field."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.code: str | None = None

    def add(self, field: str, message: str, *, code: str | None = None) -> None:
        self.errors.setdefault(field, []).append(str(message))
        if code and self.code is None:
            self.code = code

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        messages = [m for msgs in self.errors.values() for m in msgs]
        message = messages[0] if len(messages) == 1 else _("提交的数据有误，请检查标出的字段")
        raise ValidationFailed(message, code=self.code, errors=self.errors)


def _require_perm(actor: Actor, perm: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"))


def _reject_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        errors = {name: [_("不支持的字段")] for name in unknown}
        raise ValidationFailed(
            _("不支持的字段：%(names)s") % {"names": ", ".join(unknown)},
            code="unknown_field",
            errors=errors,
        )


def _check_version(obj: Any, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != obj.version:
        raise Conflict(
            _("记录已被他人修改（当前版本 %(current)s，您提交的是 %(expected)s），请刷新后重试")
            % {"current": obj.version, "expected": expected_version},
            code="version_conflict",
            extra={"current_version": obj.version},
        )


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value).strip()


def _parse_date(value: Any, field: str, errors: _Errors) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value})
        return None


def _scope_rank(level: str) -> int:
    return SCOPE_RANK.get(ScopeLevel(level), 0) if level in ScopeLevel.values else 0


def _actor_rank(actor: Actor) -> int:
    scope = scope_for(actor)
    return SCOPE_RANK[ScopeLevel.ALL] if scope.everything else _scope_rank(scope.level)


def _in_units(unit_id: int | None, units: frozenset[int] | None) -> bool:
    return units is None or (unit_id is not None and unit_id in units)


def _visible_units_qs(actor: Actor) -> models.QuerySet[OrgUnit]:
    units = visible_unit_ids(actor)
    qs = OrgUnit.objects.all()
    return qs if units is None else qs.filter(pk__in=sorted(units))


def _forget_cached_access(*users: Any) -> None:
    """Drop the cached scope and permissions of users whose role or unit changed."""
    for user in users:
        if user is None:
            continue
        forget_scope(user)
        for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            if hasattr(user, attr):
                delattr(user, attr)


def normalise_phone(raw: str) -> str:
    """A mainland mobile (1[3-9] + 9 digits) or a landline (0 + area code + number).

    Raises ValueError for anything else.
    """
    value = re.sub(r"[\s()（）]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    value = value.lstrip("-")
    if MOBILE_RE.match(value) or LANDLINE_RE.match(value):
        return value
    raise ValueError(raw)


# --- org units ------------------------------------------------------------------------------

ORGUNIT_FIELDS = ("code", "name", "name_en", "kind", "parent", "active")


def _unit_for_write(actor: Actor, unit_id: int, *, lock: bool = True) -> OrgUnit:
    """The unit, locked, if the actor sees it; else NotFound."""
    qs = _visible_units_qs(actor)
    if lock:
        qs = qs.select_for_update()
    unit = qs.filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("组织单元不存在"))
    return unit


def _require_managed_unit(actor: Actor, unit: OrgUnit) -> None:
    if not _in_units(unit.pk, managed_unit_ids(actor)):
        raise PermissionDenied(_("您不能修改此组织单元"))


def _parent_from_code(actor: Actor, code: str, errors: _Errors) -> OrgUnit | None:
    """The parent unit named by ``code``; it must be inside the actor's scope."""
    if not code:
        if not scope_for(actor).everything:
            errors.add("parent", _("只有全公司数据范围的用户才能创建顶级组织"), code="parent_required")
        return None
    parent = OrgUnit.objects.filter(code=code).first()
    if parent is None or not _in_units(parent.pk, visible_unit_ids(actor)):
        errors.add("parent", _("上级组织不存在：%(code)s") % {"code": code})
        return None
    if not _in_units(parent.pk, managed_unit_ids(actor)):
        errors.add(
            "parent",
            _("上级组织不在您的数据范围内：%(code)s") % {"code": code},
            code="out_of_scope",
        )
        return None
    return parent


def _clean_orgunit(data: Mapping[str, Any], errors: _Errors, *, instance: OrgUnit | None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "code" in data or instance is None:
        code = _text(data, "code")
        if not code:
            errors.add("code", _("请填写编码"))
        elif len(code) > 40:
            errors.add("code", _("编码最多 40 个字符"))
        elif OrgUnit.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            errors.add("code", _("编码已被使用：%(code)s") % {"code": code}, code="duplicate")
        clean["code"] = code
    if "name" in data or instance is None:
        name = _text(data, "name")
        if not name:
            errors.add("name", _("请填写名称"))
        elif len(name) > 100:
            errors.add("name", _("名称最多 100 个字符"))
        clean["name"] = name
    if "name_en" in data:
        name_en = _text(data, "name_en")
        if len(name_en) > 100:
            errors.add("name_en", _("英文名称最多 100 个字符"))
        clean["name_en"] = name_en
    if "kind" in data or instance is None:
        kind = _text(data, "kind") or OrgUnitKind.TEAM
        if kind not in OrgUnitKind.values:
            errors.add("kind", _("类型无效：%(value)s") % {"value": kind})
        clean["kind"] = kind
    if data.get("active") is not None:
        clean["active"] = bool(data["active"])
    return clean


def _subtree_path_fits(unit: OrgUnit, new_prefix: str) -> bool:
    longest = OrgUnit.objects.filter(path__startswith=unit.path).aggregate(m=Max(Length("path")))["m"]
    return (longest or len(unit.path)) - len(unit.path) + len(new_prefix) <= PATH_MAX_LENGTH


def _lock_tree() -> None:
    """Serialise changes to the tree's shape: creates and moves lock the root units' rows, so
    paths are read after any concurrent move has committed (SQLite serialises writes anyway)."""
    list(OrgUnit.objects.select_for_update().filter(parent__isnull=True).order_by("pk").values_list("pk", flat=True))


def _move(actor: Actor, unit: OrgUnit, new_parent: OrgUnit | None) -> None:
    """Re-hang ``unit`` (already locked) under ``new_parent`` and rewrite its subtree's paths.

    One UPDATE rewrites every descendant's ``path`` prefix and ``depth``, so scope queries on
    ``path__startswith`` keep working for the moved subtree.
    """
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValidationFailed(_("不能把组织移到它自己或它的下级之下"), code="org_cycle", field="parent")
    old_path = unit.path
    new_path = (new_parent.path if new_parent else "/") + f"{unit.pk}/"
    new_depth = new_parent.depth + 1 if new_parent else 0
    if not _subtree_path_fits(unit, new_path):
        raise ValidationFailed(_("组织层级过深"), code="org_too_deep", field="parent")
    delta = new_depth - unit.depth
    OrgUnit.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1), output_field=models.CharField()),
        depth=F("depth") + delta,
    )
    unit.parent = new_parent
    unit.path = new_path
    unit.depth = new_depth
    _forget_cached_access(actor)


@transaction.atomic
def orgunit_sync_path(*, actor: Actor, unit: OrgUnit) -> None:
    """After ``unit`` was saved outside these services (the Django admin), bring its path and
    its subtree's paths in line with its parent. Raises org_cycle when the parent is inside the
    unit's own subtree."""
    _lock_tree()
    parent = OrgUnit.objects.filter(pk=unit.parent_id).first() if unit.parent_id else None
    stored = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    if stored.path in ("", "/"):  # just created
        stored.path = (parent.path if parent else "/") + f"{stored.pk}/"
        stored.depth = parent.depth + 1 if parent else 0
        stored.save(update_fields=["path", "depth"])
    elif stored.path != (parent.path if parent else "/") + f"{stored.pk}/":
        _move(actor, stored, parent)
    unit.path, unit.depth = stored.path, stored.depth


@transaction.atomic
def orgunit_create(*, actor: Actor, data: Mapping[str, Any]) -> OrgUnit:
    _require_perm(actor, "org.add_orgunit")
    _reject_unknown(data, ORGUNIT_FIELDS)
    _lock_tree()
    errors = _Errors()
    clean = _clean_orgunit(data, errors, instance=None)
    parent = _parent_from_code(actor, _text(data, "parent"), errors)
    errors.raise_if_any()
    unit = OrgUnit(**clean, parent=parent)
    unit.save()
    unit.path = (parent.path if parent else "/") + f"{unit.pk}/"
    unit.depth = parent.depth + 1 if parent else 0
    if len(unit.path) > PATH_MAX_LENGTH:
        raise ValidationFailed(_("组织层级过深"), code="org_too_deep", field="parent")
    unit.save(update_fields=["path", "depth"])
    audit_create(actor=actor, instance=unit)
    _forget_cached_access(actor)
    return unit


@transaction.atomic
def orgunit_update(
    *, actor: Actor, unit_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> OrgUnit:
    _lock_tree()
    unit = _unit_for_write(actor, unit_id)
    _require_perm(actor, "org.change_orgunit")
    _require_managed_unit(actor, unit)
    _check_version(unit, expected_version)
    _reject_unknown(data, ORGUNIT_FIELDS)
    errors = _Errors()
    clean = _clean_orgunit(data, errors, instance=unit)
    new_parent = unit.parent
    if "parent" in data:
        parent_code = _text(data, "parent")
        current_code = unit.parent.code if unit.parent else ""
        if parent_code != current_code:
            new_parent = _parent_from_code(actor, parent_code, errors)
    errors.raise_if_any()
    changed = {name: value for name, value in clean.items() if getattr(unit, name) != value}
    moving = new_parent != unit.parent
    if not changed and not moving:
        return unit
    before = snapshot(unit)
    if moving:
        if new_parent is not None:
            new_parent = OrgUnit.objects.select_for_update().get(pk=new_parent.pk)
        _move(actor, unit, new_parent)
    for name, value in changed.items():
        setattr(unit, name, value)
    unit.version += 1
    unit.save(update_fields=[*changed, "parent", "path", "depth", "version", "updated_at"])
    audit_update(actor=actor, instance=unit, before=before)
    return unit


@transaction.atomic
def orgunit_move(*, actor: Actor, unit_id: int, new_parent_id: int | None) -> OrgUnit:
    _lock_tree()
    unit = _unit_for_write(actor, unit_id)
    _require_perm(actor, "org.change_orgunit")
    _require_managed_unit(actor, unit)
    new_parent: OrgUnit | None = None
    if new_parent_id is None:
        if not scope_for(actor).everything:
            raise ValidationFailed(
                _("只有全公司数据范围的用户才能创建顶级组织"),
                code="parent_required",
                field="parent",
            )
    else:
        new_parent = OrgUnit.objects.select_for_update().filter(pk=new_parent_id).first()
        if new_parent is None or not _in_units(new_parent.pk, visible_unit_ids(actor)):
            raise ValidationFailed(_("上级组织不存在"), code="not_found", field="parent")
        if not _in_units(new_parent.pk, managed_unit_ids(actor)):
            raise ValidationFailed(
                _("上级组织不在您的数据范围内：%(code)s") % {"code": new_parent.code},
                code="out_of_scope",
                field="parent",
            )
    if new_parent == unit.parent:
        return unit
    before = snapshot(unit, ["parent", "path", "depth"])
    _move(actor, unit, new_parent)
    unit.version += 1
    unit.save(update_fields=["parent", "path", "depth", "version", "updated_at"])
    audit_update(actor=actor, instance=unit, before=before)
    return unit


@transaction.atomic
def orgunit_delete(*, actor: Actor, unit_id: int) -> None:
    unit = _unit_for_write(actor, unit_id)
    _require_perm(actor, "org.delete_orgunit")
    _require_managed_unit(actor, unit)
    if unit.children.exists():
        raise ValidationFailed(_("该组织还有下级组织，不能删除"), code="orgunit_has_children", field="children")
    if unit.employees.exists():
        raise ValidationFailed(_("该组织还有员工，不能删除"), code="orgunit_has_employees", field="employees")
    accounts = getattr(unit, "accounts", None)
    if accounts is not None and accounts.exists():
        raise ValidationFailed(_("该组织还有客户，不能删除"), code="orgunit_has_accounts", field="accounts")
    if unit.territories.exists():
        raise ValidationFailed(_("该组织还负责销售区域，不能删除"), code="orgunit_has_territories", field="territories")
    audit_delete(actor=actor, instance=unit)
    try:
        with transaction.atomic():
            unit.delete()
    except ProtectedError as exc:
        names = sorted({str(obj._meta.verbose_name) for obj in exc.protected_objects})
        raise ValidationFailed(
            _("该组织仍被其他记录引用（%(names)s），不能删除") % {"names": "、".join(names)},
            code="orgunit_in_use",
        ) from exc
    _forget_cached_access(actor)


# --- employees ------------------------------------------------------------------------------

EMPLOYEE_UPDATE_FIELDS = (
    "email",
    "code",
    "name",
    "role",
    "org_unit",
    "manager",
    "phone",
    "start_date",
    "status",
    "scope_override",
)
EMPLOYEE_CREATE_FIELDS = ("username", "password", *EMPLOYEE_UPDATE_FIELDS)


def _visible_employees_qs(actor: Actor) -> models.QuerySet[Employee]:
    scope = scope_for(actor)
    qs = Employee.objects.all()
    if scope.everything:
        return qs
    return qs.filter(scope.q(owner_field="user", unit_field="org_unit"))


def _employee_for_write(actor: Actor, employee_id: int, perm: str) -> Employee:
    employee = (
        _visible_employees_qs(actor)
        .select_for_update(of=("self", "user"))
        .select_related("user", "role", "org_unit")
        .filter(pk=employee_id)
        .first()
    )
    if employee is None:
        raise NotFound(_("员工不存在"))
    _require_perm(actor, perm)
    if not _in_units(employee.org_unit_id, managed_unit_ids(actor)):
        raise PermissionDenied(_("您不能修改此员工"))
    return employee


def _clean_employee(
    actor: Actor, data: Mapping[str, Any], errors: _Errors, *, instance: Employee | None
) -> dict[str, Any]:
    """Validate employee fields; returns model values (role, org_unit, manager as objects)."""
    creating = instance is None
    clean: dict[str, Any] = {}
    if "code" in data or creating:
        code = _text(data, "code")
        if not code:
            errors.add("code", _("请填写工号"))
        elif len(code) > 40:
            errors.add("code", _("工号最多 40 个字符"))
        elif Employee.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            errors.add("code", _("工号已被使用：%(code)s") % {"code": code}, code="duplicate")
        clean["code"] = code
    if "name" in data or creating:
        name = _text(data, "name")
        if not name:
            errors.add("name", _("请填写姓名"))
        elif len(name) > 60:
            errors.add("name", _("姓名最多 60 个字符"))
        clean["name"] = name
    if "role" in data or creating:
        role_code = _text(data, "role")
        role = Role.objects.select_related("group").filter(code=role_code).first() if role_code else None
        unchanged = instance is not None and role is not None and role.pk == instance.role_id
        if role is None:
            errors.add(
                "role",
                _("角色不存在：%(code)s") % {"code": role_code} if role_code else _("请选择角色"),
            )
        elif not unchanged and _scope_rank(role.default_scope) > _actor_rank(actor):
            errors.add(
                "role",
                _("不能授予比您自己更大的数据范围：%(role)s") % {"role": role},
                code="scope_exceeds_actor",
            )
        clean["role"] = role
    if "org_unit" in data or creating:
        unit_code = _text(data, "org_unit")
        unit = OrgUnit.objects.filter(code=unit_code).first() if unit_code else None
        if unit is None or not _in_units(unit.pk, visible_unit_ids(actor)):
            errors.add(
                "org_unit",
                _("组织单元不存在：%(code)s") % {"code": unit_code} if unit_code else _("请选择组织单元"),
            )
        elif not _in_units(unit.pk, managed_unit_ids(actor)):
            errors.add(
                "org_unit",
                _("组织单元不在您的数据范围内：%(code)s") % {"code": unit_code},
                code="out_of_scope",
            )
        clean["org_unit"] = unit
    if "manager" in data:
        manager_code = _text(data, "manager")
        manager = None
        current = instance.manager if instance is not None else None
        if current is not None and manager_code == current.code:
            manager = current  # unchanged: kept even when the actor cannot see the manager
        elif manager_code:
            manager = _visible_employees_qs(actor).filter(code=manager_code).first()
            if manager is None:
                errors.add("manager", _("上级经理不存在：%(code)s") % {"code": manager_code})
            elif instance is not None and _manager_chain_reaches(manager, instance.pk):
                errors.add("manager", _("上级经理关系形成了循环"), code="manager_cycle")
        clean["manager"] = manager
    if "phone" in data:
        raw = _text(data, "phone")
        phone = ""
        if raw:
            try:
                phone = normalise_phone(raw)
            except ValueError:
                errors.add(
                    "phone",
                    _("电话号码无效：%(value)s（应为手机号或带区号的固定电话）") % {"value": raw},
                    code="bad_phone",
                )
        clean["phone"] = phone
    if "start_date" in data:
        clean["start_date"] = _parse_date(data["start_date"], "start_date", errors)
    if "status" in data:
        status = _text(data, "status") or EmployeeStatus.ACTIVE
        if status not in EmployeeStatus.values:
            errors.add("status", _("状态无效：%(value)s") % {"value": status})
        elif (
            instance is not None
            and status == EmployeeStatus.LEFT
            and instance.status != status
            and instance.user_id == getattr(actor, "pk", None)
        ):
            errors.add("status", _("不能为自己办理离职"), code="cannot_leave_self")
        clean["status"] = status
    if "scope_override" in data:
        override = _text(data, "scope_override")
        if override and override not in ScopeLevel.values:
            errors.add("scope_override", _("数据范围无效：%(value)s") % {"value": override})
        elif (
            override
            and (instance is None or override != instance.scope_override)
            and _scope_rank(override) > _actor_rank(actor)
        ):
            errors.add("scope_override", _("不能授予比您自己更大的数据范围"), code="scope_exceeds_actor")
        clean["scope_override"] = override
    if "email" in data:
        email = _text(data, "email")
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                errors.add("email", _("电子邮件地址无效：%(value)s") % {"value": email})
        clean["email"] = email
    return clean


def _manager_chain_reaches(manager: Employee, employee_id: int) -> bool:
    """True when ``employee_id`` is ``manager`` or one of its managers (a cycle)."""
    seen: set[int] = set()
    current: int | None = manager.pk
    while current is not None and current not in seen:
        if current == employee_id:
            return True
        seen.add(current)
        current = Employee.objects.filter(pk=current).values_list("manager_id", flat=True).first()
    return False


def employee_sync_role_group(*, user: Any, role: Role) -> None:
    """The user belongs to exactly one role group: the group of ``role`` (also used by the
    admin after it saves an employee)."""
    other_role_groups = Group.objects.filter(role__isnull=False).exclude(pk=role.group_id)
    user.groups.remove(*other_role_groups)
    user.groups.add(role.group)


def _employee_snapshot(employee: Employee) -> dict[str, Any]:
    values = snapshot(employee)
    values["email"] = employee.user.email
    values["is_active"] = employee.user.is_active
    return values


@transaction.atomic
def employee_create(*, actor: Actor, data: Mapping[str, Any]) -> Employee:
    _require_perm(actor, "org.add_employee")
    _reject_unknown(data, EMPLOYEE_CREATE_FIELDS)
    user_model = get_user_model()
    errors = _Errors()
    username = _text(data, "username")
    if not username:
        errors.add("username", _("请填写用户名"))
    else:
        try:
            user_model.username_validator(username)
        except DjangoValidationError:
            errors.add("username", _("用户名只能包含字母、数字和 @ . + - _"))
        if len(username) > 150:
            errors.add("username", _("用户名最多 150 个字符"))
        elif user_model.objects.filter(username=username).exists():
            errors.add("username", _("用户名已被使用：%(name)s") % {"name": username}, code="duplicate")
    clean = _clean_employee(actor, data, errors, instance=None)
    password = data.get("password") or None
    if password and "username" not in errors:
        try:
            validate_password(password, user_model(username=username, email=clean.get("email", "")))
        except DjangoValidationError as exc:
            for message in exc.messages:
                errors.add("password", message)
    errors.raise_if_any()

    email = clean.pop("email", "")
    status = clean.get("status", EmployeeStatus.ACTIVE)
    user = user_model.objects.create_user(username=username, email=email, password=password)
    if status == EmployeeStatus.LEFT:
        user.is_active = False
        user.save(update_fields=["is_active"])
    employee = Employee(user=user, **clean)
    employee.save()
    employee_sync_role_group(user=user, role=employee.role)
    audit_create(actor=actor, instance=employee, extra={"username": username, "email": email})
    return employee


@transaction.atomic
def employee_update(
    *, actor: Actor, employee_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Employee:
    employee = _employee_for_write(actor, employee_id, "org.change_employee")
    _check_version(employee, expected_version)
    _reject_unknown(data, EMPLOYEE_UPDATE_FIELDS)
    errors = _Errors()
    clean = _clean_employee(actor, data, errors, instance=employee)
    errors.raise_if_any()

    user = employee.user
    email = clean.pop("email", user.email)
    changed = {name: value for name, value in clean.items() if getattr(employee, name) != value}
    if not changed and email == user.email:
        return employee  # nothing to do: no new version, no audit record

    before = _employee_snapshot(employee)
    user_fields: list[str] = []
    if email != user.email:
        user.email = email
        user_fields.append("email")
    if changed.get("status") == EmployeeStatus.ACTIVE:  # reinstated
        user.is_active = True
        user_fields.append("is_active")
        changed["leave_date"] = None
    elif changed.get("status") == EmployeeStatus.LEFT:  # left, as with employee_leave
        user.is_active = False
        user_fields.append("is_active")
        changed.setdefault("leave_date", employee.leave_date or timezone.localdate())
    if user_fields:
        user.save(update_fields=user_fields)
    role_changed = "role" in changed
    for name, value in changed.items():
        setattr(employee, name, value)
    employee.version += 1
    employee.save(update_fields=[*changed, "version", "updated_at"])
    if role_changed:
        employee_sync_role_group(user=user, role=employee.role)
    _forget_cached_access(user, actor if getattr(actor, "pk", None) == user.pk else None)
    audit_update(actor=actor, instance=employee, before=before, after=_employee_snapshot(employee))
    return employee


@transaction.atomic
def employee_leave(*, actor: Actor, employee_id: int, leave_date: dt.date | str, reason: str = "") -> Employee:
    employee = _employee_for_write(actor, employee_id, "org.change_employee")
    errors = _Errors()
    when = _parse_date(leave_date, "leave_date", errors)
    if when is None and "leave_date" not in errors:
        errors.add("leave_date", _("请填写离职日期"))
    if employee.status == EmployeeStatus.LEFT:
        errors.add("status", _("该员工已离职"), code="already_left")
    if employee.user_id == getattr(actor, "pk", None):
        errors.add("employee", _("不能为自己办理离职"), code="cannot_leave_self")
    if when and employee.start_date and when < employee.start_date:
        errors.add("leave_date", _("离职日期不能早于入职日期"))
    errors.raise_if_any()

    before = _employee_snapshot(employee)
    employee.status = EmployeeStatus.LEFT
    employee.leave_date = when
    employee.version += 1
    employee.save(update_fields=["status", "leave_date", "version", "updated_at"])
    employee.user.is_active = False
    employee.user.save(update_fields=["is_active"])
    _forget_cached_access(employee.user)
    audit_update(
        actor=actor,
        instance=employee,
        before=before,
        after=_employee_snapshot(employee),
        reason=(reason or "").strip(),
    )
    return employee


def employee_create_administrator(*, username: str, password: str, name: str, email: str = "") -> Employee:
    """Set-up only (``jinggeng createadmin``): a superuser with an administrator employee profile
    in the root org unit; the root company unit "总部" (HQ) is created when there is none."""
    from jinggeng.org.roles import ensure_default_roles

    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise ValidationFailed(_("用户名已存在：%(name)s") % {"name": username}, code="duplicate", field="username")
        errors = _Errors()
        try:
            user_model.username_validator(username)
        except DjangoValidationError:
            errors.add("username", _("用户名只能包含字母、数字和 @ . + - _"))
        if not password:
            errors.add("password", _("请设置密码"))
        else:
            try:
                validate_password(password, user_model(username=username, email=email))
            except DjangoValidationError as exc:
                for message in exc.messages:
                    errors.add("password", message)
        errors.raise_if_any()
        ensure_default_roles()
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
        if root is None:
            root = OrgUnit.objects.create(code="HQ", name="总部", kind=OrgUnitKind.COMPANY)
            root.path = f"/{root.pk}/"
            root.save(update_fields=["path"])
            audit_create(actor=None, instance=root)
        user = user_model.objects.create_superuser(username=username, email=email, password=password)
        role = Role.objects.select_related("group").get(code=RoleCode.ADMINISTRATOR)
        code = username.upper()[:40]
        if Employee.objects.filter(code=code).exists():
            code = f"ADMIN-{user.pk}"
        employee = Employee.objects.create(user=user, code=code, name=name, role=role, org_unit=root)
        employee_sync_role_group(user=user, role=role)
        audit_create(actor=None, instance=employee, extra={"username": username, "email": email})
    return employee


# --- roles ----------------------------------------------------------------------------------


@transaction.atomic
def role_set_default_scope(*, actor: Actor, role_code: str, scope: str) -> Role:
    """Administrators change the default data scope of a role (people without an override)."""
    role = Role.objects.select_for_update().filter(code=role_code).first()
    if role is None:
        raise NotFound(_("角色不存在：%(code)s") % {"code": role_code})
    _require_perm(actor, "org.change_role")
    if not scope_for(actor).everything:
        raise PermissionDenied(_("只有系统管理员可以修改角色的数据范围"))
    if scope not in ScopeLevel.values:
        raise ValidationFailed(_("数据范围无效：%(value)s") % {"value": scope}, field="default_scope")
    before = snapshot(role)
    if role.default_scope != scope:
        role.default_scope = scope
        role.save(update_fields=["default_scope"])
        audit_update(actor=actor, instance=role, before=before)
    _forget_cached_access(actor)
    return role


# --- territories ----------------------------------------------------------------------------

TERRITORY_FIELDS = ("code", "name", "org_unit", "divisions", "active")


def _territory_snapshot(territory: Territory) -> dict[str, Any]:
    values = snapshot(territory)
    values["divisions"] = sorted(territory.divisions.values_list("code", flat=True))
    return values


def _clean_divisions(raw: Any, errors: _Errors) -> list[Division]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[\s,，;；]+", raw) if part]
    codes = [str(c).strip() for c in raw if str(c).strip()]
    bad_format = [c for c in codes if not DIVISION_CODE_RE.match(c)]
    for code in bad_format:
        errors.add(
            "divisions",
            _("行政区划代码应为 6 位数字：%(code)s") % {"code": code},
            code="bad_division",
        )
    wanted = sorted({c for c in codes if c not in bad_format})
    found = {d.code: d for d in Division.objects.filter(code__in=wanted)}
    for code in wanted:
        if code not in found:
            errors.add("divisions", _("行政区划代码不存在：%(code)s") % {"code": code}, code="bad_division")
    return [found[c] for c in wanted if c in found]


def _clean_territory(
    actor: Actor, data: Mapping[str, Any], errors: _Errors, *, instance: Territory | None
) -> dict[str, Any]:
    creating = instance is None
    clean: dict[str, Any] = {}
    if "code" in data or creating:
        code = _text(data, "code")
        if not code:
            errors.add("code", _("请填写编码"))
        elif len(code) > 40:
            errors.add("code", _("编码最多 40 个字符"))
        elif Territory.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            errors.add("code", _("编码已被使用：%(code)s") % {"code": code}, code="duplicate")
        clean["code"] = code
    if "name" in data or creating:
        name = _text(data, "name")
        if not name:
            errors.add("name", _("请填写名称"))
        elif len(name) > 100:
            errors.add("name", _("名称最多 100 个字符"))
        clean["name"] = name
    if "org_unit" in data or creating:
        unit_code = _text(data, "org_unit")
        unit = OrgUnit.objects.filter(code=unit_code).first() if unit_code else None
        if unit is None or not _in_units(unit.pk, visible_unit_ids(actor)):
            errors.add(
                "org_unit",
                _("组织单元不存在：%(code)s") % {"code": unit_code} if unit_code else _("请选择负责组织"),
            )
        elif not _in_units(unit.pk, managed_unit_ids(actor)):
            errors.add(
                "org_unit",
                _("组织单元不在您的数据范围内：%(code)s") % {"code": unit_code},
                code="out_of_scope",
            )
        clean["org_unit"] = unit
    if data.get("active") is not None:
        clean["active"] = bool(data["active"])
    return clean


def _territory_for_write(actor: Actor, territory_id: int, perm: str) -> Territory:
    units = visible_unit_ids(actor)
    qs = Territory.objects.select_for_update().filter(pk=territory_id)
    if units is not None:
        qs = qs.filter(org_unit_id__in=sorted(units))
    territory = qs.first()
    if territory is None:
        raise NotFound(_("销售区域不存在"))
    _require_perm(actor, perm)
    if not _in_units(territory.org_unit_id, managed_unit_ids(actor)):
        raise PermissionDenied(_("您不能修改此销售区域"))
    return territory


@transaction.atomic
def territory_create(*, actor: Actor, data: Mapping[str, Any]) -> Territory:
    _require_perm(actor, "org.add_territory")
    _reject_unknown(data, TERRITORY_FIELDS)
    errors = _Errors()
    clean = _clean_territory(actor, data, errors, instance=None)
    divisions = _clean_divisions(data.get("divisions"), errors)
    errors.raise_if_any()
    territory = Territory.objects.create(**clean)
    territory.divisions.set(divisions)
    audit_create(actor=actor, instance=territory, extra={"divisions": [d.code for d in divisions]})
    return territory


@transaction.atomic
def territory_update(
    *, actor: Actor, territory_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Territory:
    territory = _territory_for_write(actor, territory_id, "org.change_territory")
    _check_version(territory, expected_version)
    _reject_unknown(data, TERRITORY_FIELDS)
    errors = _Errors()
    clean = _clean_territory(actor, data, errors, instance=territory)
    divisions = _clean_divisions(data.get("divisions"), errors) if "divisions" in data else None
    errors.raise_if_any()
    before = _territory_snapshot(territory)
    changed = {name: value for name, value in clean.items() if getattr(territory, name) != value}
    divisions_changed = divisions is not None and sorted(d.code for d in divisions) != before["divisions"]
    if not changed and not divisions_changed:
        return territory
    for name, value in changed.items():
        setattr(territory, name, value)
    territory.version += 1
    territory.save(update_fields=[*changed, "version", "updated_at"])
    if divisions is not None and divisions_changed:
        territory.divisions.set(divisions)
    audit_update(actor=actor, instance=territory, before=before, after=_territory_snapshot(territory))
    return territory


@transaction.atomic
def territory_delete(*, actor: Actor, territory_id: int) -> None:
    territory = _territory_for_write(actor, territory_id, "org.delete_territory")
    audit_delete(actor=actor, instance=territory)
    territory.delete()


def territory_for_division(division_code: str) -> Territory | None:
    """The most specific active territory containing the division: one listing the county
    itself wins over one listing its city, which wins over one listing its province."""
    division = Division.objects.filter(code=division_code).first()
    if division is None:
        return None
    chain: list[str] = []
    current: Division | None = division
    while current is not None and len(chain) < 4:
        chain.append(current.code)
        current = current.parent if current.parent_id else None
    if division.level != DivisionLevel.PROVINCE and division.province_code not in chain:
        chain.append(division.province_code)
    candidates = list(
        Territory.objects.filter(active=True, divisions__code__in=chain)
        .annotate(matched=F("divisions__code"))
        .order_by("code", "pk")
    )
    if not candidates:
        return None
    rank = {code: index for index, code in enumerate(chain)}
    best: Territory = min(candidates, key=lambda t: (rank[t.matched], t.code))
    return best
