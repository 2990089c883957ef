"""Data scope: what part of the company's records an actor may see.

The org app resolves an actor to a `Scope`; selectors call `apply_scope` on every list before
anything else. A record outside the scope does not exist for the actor (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

M = TypeVar("M", bound=models.Model)


class ScopeLevel(models.TextChoices):
    SELF = "self", _("本人")
    TEAM = "team", _("本部门")
    SUBTREE = "subtree", _("本部门及下级")
    ALL = "all", _("全部")


@dataclass(frozen=True)
class Scope:
    """A resolved data scope.

    ``user_id``: the actor; ``unit_ids``: the org units whose records are visible (team or
    subtree); ``everything``: no limit; ``account_ids``: extra accounts visible regardless of
    owner (a distributor user's own company and the outlets it supplies).
    """

    user_id: int | None
    level: str
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    everything: bool = False
    account_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def nothing(cls) -> Scope:
        return cls(user_id=None, level=ScopeLevel.SELF)

    def q(self, *, owner_field: str | None = "owner", unit_field: str | None = "org_unit") -> Q:
        """A filter for records with an owner and/or an org unit."""
        if self.everything:
            return Q()
        parts: list[Q] = []
        if owner_field and self.user_id is not None:
            parts.append(Q(**{f"{owner_field}_id": self.user_id}))
        if unit_field and self.unit_ids and self.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE):
            parts.append(Q(**{f"{unit_field}_id__in": sorted(self.unit_ids)}))
        if not parts:
            return Q(pk__in=[])  # nothing visible
        condition = parts[0]
        for part in parts[1:]:
            condition |= part
        return condition

    def allows(self, *, owner_id: int | None, unit_id: int | None) -> bool:
        if self.everything:
            return True
        if owner_id is not None and owner_id == self.user_id:
            return True
        return bool(
            unit_id is not None and self.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE) and unit_id in self.unit_ids
        )


def apply_scope(
    queryset: models.QuerySet[M],
    scope: Scope,
    *,
    owner_field: str | None = "owner",
    unit_field: str | None = "org_unit",
    account_field: str | None = None,
) -> models.QuerySet[M]:
    if scope.everything:
        return queryset
    condition = scope.q(owner_field=owner_field, unit_field=unit_field)
    if account_field and scope.account_ids:
        condition |= Q(**{f"{account_field}__in": sorted(scope.account_ids)})
    return queryset.filter(condition)
