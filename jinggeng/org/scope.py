"""Resolve an actor to a data scope (see jinggeng.core.scope)."""

from __future__ import annotations

from typing import Any

from jinggeng.core.scope import Scope, ScopeLevel
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit

_CACHE_ATTR = "_jinggeng_org_scope"


def subtree_unit_ids(unit: OrgUnit) -> frozenset[int]:
    return frozenset(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


def employee_of(user: Any) -> Employee | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        employee: Employee = user.employee
    except Employee.DoesNotExist:
        return None
    return employee


def scope_for(user: Any) -> Scope:
    """The data scope of ``user``; cached on the user object for the request."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    scope = _resolve(user)
    if user is not None:
        setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _resolve(user: Any) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope.nothing()
    if user.is_superuser:
        return Scope(user_id=user.pk, level=ScopeLevel.ALL, everything=True)
    employee = employee_of(user)
    if employee is None or employee.status != EmployeeStatus.ACTIVE:
        return Scope(user_id=user.pk, level=ScopeLevel.SELF)
    level = employee.scope_level
    if level == ScopeLevel.ALL:
        return Scope(user_id=user.pk, level=level, everything=True)
    if level == ScopeLevel.SUBTREE:
        return Scope(user_id=user.pk, level=level, unit_ids=subtree_unit_ids(employee.org_unit))
    if level == ScopeLevel.TEAM:
        return Scope(user_id=user.pk, level=level, unit_ids=frozenset({employee.org_unit_id}))
    return Scope(user_id=user.pk, level=ScopeLevel.SELF)


def visible_unit_ids(user: Any) -> frozenset[int] | None:
    """The org units ``user`` may see as units; ``None`` means every unit.

    All: every unit; subtree / team: the units of the scope; self: the user's own unit.
    """
    scope = scope_for(user)
    if scope.everything:
        return None
    if scope.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE):
        return scope.unit_ids
    employee = employee_of(user)
    if employee is None or employee.status != EmployeeStatus.ACTIVE:
        return frozenset()
    return frozenset({employee.org_unit_id})


def managed_unit_ids(user: Any) -> frozenset[int] | None:
    """The org units ``user`` may change or place people in; ``None`` means every unit.

    Only team and subtree scopes manage units; a self scope manages none.
    """
    scope = scope_for(user)
    if scope.everything:
        return None
    if scope.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE):
        return scope.unit_ids
    return frozenset()
