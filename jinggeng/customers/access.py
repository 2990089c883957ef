"""The data scope of customer records: the actor's org scope, plus, for a distributor's
staff, their own company and the accounts it supplies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jinggeng.core.scope import Scope
from jinggeng.org.models import RoleCode
from jinggeng.org.scope import employee_of, scope_for

_CACHE_ATTR = "_jinggeng_account_scope"


def account_scope(user: Any) -> Scope:
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    scope = scope_for(user)
    employee = employee_of(user)
    may_be_distributor_staff = employee is None or employee.role.code == RoleCode.DISTRIBUTOR_USER
    if (
        may_be_distributor_staff
        and not scope.everything
        and user is not None
        and getattr(user, "is_authenticated", False)
    ):
        from jinggeng.customers.models import AccountUser, SupplyLink

        link = AccountUser.objects.filter(user_id=user.pk).values_list("account_id", flat=True).first()
        if link is not None:
            supplied = SupplyLink.objects.filter(supplier_id=link, active=True).values_list("customer_id", flat=True)
            scope = replace(scope, account_ids=frozenset({link, *supplied}))
    if user is not None:
        setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_account_scope(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
