"""Reads for customers, always for an actor: the actor's data scope is applied first."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_history
from jinggeng.core.compiled import rows_by_pk, rows_where_in
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.core.scope import Scope, apply_scope
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import (
    Account,
    ChannelType,
    Contact,
    CustomFieldDefinition,
    CustomFieldType,
    OwnershipChange,
    SupplyLink,
    Tag,
)
from jinggeng.org.models import OrgUnit

M = TypeVar("M", bound=models.Model)
Row = TypeVar("Row")  # model instances or .values() dicts

ACCOUNT_SORTS = ("name", "created_at", "updated_at", "id")
CONTACT_SORTS = ("name", "created_at", "id")


@dataclass(frozen=True)
class AccountFilters:
    """Filters of the account list. ``division`` may be a province, city or county code: a
    province or city includes everything below it. ``org_unit`` includes its subtree.
    ``custom`` filters custom fields by key (exact match; text fields: contains)."""

    q: str = ""
    name_contains: str = ""
    account_type: str = ""
    grade: str = ""
    status: str = ""
    division: str = ""
    owner: int | None = None
    org_unit: int | None = None
    channel_type: str = ""
    tag: str = ""
    include_merged: bool = False
    custom: dict[str, str] = field(default_factory=dict)


def scoped_accounts(actor: Any) -> QuerySet[Account]:
    scope = account_scope(actor)
    if not actor.has_perm("customers.view_account"):
        return Account.objects.none()
    return _scoped_base(scope).all()


@functools.lru_cache(maxsize=1024)
def _scoped_base(scope: Scope) -> QuerySet[Account]:
    """The accounts of one scope, as a queryset built once per distinct scope: building the
    filter (owner, list of org units, linked accounts) costs about 0.4 ms, a tenth of an API
    request. Never evaluated itself; callers get a fresh clone (``.all()``)."""
    return _apply_account_scope(Account.objects.all(), scope)


def _apply_account_scope(qs: QuerySet[M], scope: Scope, prefix: str = "") -> QuerySet[M]:
    if scope.everything:
        return qs
    if prefix:
        condition = Q(**{f"{prefix}owner_id": scope.user_id}) if scope.user_id else Q(pk__in=[])
        if scope.unit_ids and scope.level in ("team", "subtree"):
            condition |= Q(**{f"{prefix}org_unit_id__in": sorted(scope.unit_ids)})
        if scope.account_ids:
            condition |= Q(**{f"{prefix}id__in": sorted(scope.account_ids)})
        return qs.filter(condition)
    return apply_scope(qs, scope, account_field="id" if scope.account_ids else None)


def _division_q(code: str) -> Q:
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed(_("无效的行政区划代码：%(value)s") % {"value": code}, field="division")
    if code.endswith("0000"):
        return Q(division__code__startswith=code[:2])
    if code.endswith("00"):
        return Q(division__code__startswith=code[:4])
    return Q(division_id=code)


@functools.cache
def codepoint_collation() -> bool:
    """True when text sorts by code point (SQLite's BINARY, PostgreSQL's C collations)."""
    if connection.vendor == "sqlite":
        return True
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return bool(row) and str(row[0]) in {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"}


def account_filter(
    qs: QuerySet[Account, Row], filters: AccountFilters, *, merged_excluded: bool = False
) -> QuerySet[Account, Row]:
    """``filters`` applied to ``qs``; ``merged_excluded``: ``qs`` already leaves merged accounts out."""
    f = filters
    if not f.include_merged and not merged_excluded:
        qs = qs.filter(merged_into__isnull=True)
    if f.q:
        term = f.q.strip()
        # ``name >= term`` lets an index on (name, id) start at the prefix and walk in order;
        # where the collation orders by code point, ``name < next`` also stops the walk at the
        # end of the prefix (a prefix with few matches would otherwise read to the end).
        by_name = Q(name__gte=term, name__startswith=term)
        if codepoint_collation() and ord(term[-1]) < 0x10FFFF:
            by_name &= Q(name__lt=term[:-1] + chr(ord(term[-1]) + 1))
        qs = qs.filter(by_name | Q(code=term) | Q(phone=term) if term.isascii() else by_name)
    if f.name_contains:
        qs = qs.filter(name__contains=f.name_contains.strip())
    if f.account_type:
        qs = qs.filter(account_type=f.account_type)
    if f.grade:
        qs = qs.filter(grade=f.grade)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.division:
        qs = qs.filter(_division_q(f.division))
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.org_unit:
        unit = OrgUnit.objects.filter(pk=f.org_unit).first()
        if unit is None:
            return qs.none()
        qs = qs.filter(org_unit_id__in=OrgUnit.objects.filter(path__startswith=unit.path).values("id"))
    if f.channel_type:
        qs = qs.filter(channel_type__code=f.channel_type)
    if f.tag:
        qs = qs.filter(tags__name=f.tag)
    if f.custom:
        definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(key__in=list(f.custom), active=True)}
        for key, value in f.custom.items():
            definition = definitions.get(key)
            if definition is None:
                raise ValidationFailed(_("未定义的自定义字段：%(key)s") % {"key": key}, field=f"custom.{key}")
            if definition.field_type == CustomFieldType.TEXT:
                qs = qs.filter(**{f"custom__{key}__icontains": value})
            elif definition.field_type == CustomFieldType.NUMBER:
                try:
                    number = float(value)
                except ValueError:
                    raise ValidationFailed(_("应为数字：%(value)s") % {"value": value}, field=f"custom.{key}") from None
                qs = qs.filter(**{f"custom__{key}": int(number) if number.is_integer() else number})
            else:
                qs = qs.filter(**{f"custom__{key}": value})
    return qs


def account_list(
    *, actor: Any, filters: AccountFilters | None = None, sort: str = "name", cursor: str | None = None, limit: int = 50
) -> Page[Account]:
    qs = account_filter(scoped_accounts(actor), filters or AccountFilters())
    qs = qs.select_related("owner__employee", "org_unit", "division", "channel_type")
    return keyset_paginate(qs, sort=sort, allowed_sorts=ACCOUNT_SORTS, cursor=cursor, limit=limit)


LIST_VALUES = (
    "id",
    "code",
    "name",
    "account_type",
    "grade",
    "status",
    "division_id",
    "division__full_name",
    "phone",
    "owner_id",
    "owner__username",
    "owner__employee__name",
    "org_unit_id",
    "org_unit__name",
    "org_unit__name_en",
    "latitude",
    "longitude",
)


def account_list_values(
    *, actor: Any, filters: AccountFilters | None = None, sort: str = "name", cursor: str | None = None, limit: int = 50
) -> Page[dict[str, Any]]:
    """The account list as plain rows (no model instances): what the API's list returns.

    Two steps: the page's ids first, from the accounts table alone (an ordered index walk that
    stops at the page size), then the related names for just those rows. Joining first lets
    the planner misjudge a filter and join thousands of rows before it sorts and cuts. The
    second statement is compiled once and reused (``core.compiled.rows_by_pk``)."""
    field_name = sort.lstrip("-")
    keys = ("id",) if field_name in ("id", "pk") else ("id", field_name)
    f = filters or AccountFilters()
    if actor.has_perm("customers.view_account"):
        base = _list_base(account_scope(actor), keys, f.include_merged).all()
    else:
        base = Account.objects.none().values(*keys)
    qs = account_filter(base, f, merged_excluded=True)
    page = keyset_paginate(qs, sort=sort, allowed_sorts=ACCOUNT_SORTS, cursor=cursor, limit=limit)
    ids = [row["id"] for row in page.items]
    rows = rows_by_pk(Account, LIST_VALUES, ids)
    return Page(items=[rows[i] for i in ids], next_cursor=page.next_cursor, sort=page.sort)


@functools.lru_cache(maxsize=1024)
def _list_base(scope: Scope, keys: tuple[str, ...], include_merged: bool) -> QuerySet[Account, dict[str, Any]]:
    """The scope's accounts as the list's first statement starts: merged ones left out unless
    asked for, only the keys selected. Built once per scope like ``_scoped_base``; never
    evaluated itself."""
    qs = _scoped_base(scope)
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    rows: QuerySet[Account, dict[str, Any]] = qs.values(*keys)
    return rows


def account_export_rows(*, actor: Any, filters: AccountFilters | None = None) -> QuerySet[Account]:
    """Every account an export may contain: scoped and filtered like the list."""
    qs = account_filter(scoped_accounts(actor), filters or AccountFilters())
    return (
        qs.select_related("owner__employee", "org_unit", "division", "channel_type")
        .prefetch_related("tags")
        .order_by("name", "id")
    )


def account_get(*, actor: Any, account_id: int) -> Account:
    # get() rather than first(): first() orders by id, and ordering a select of five related
    # tables made Django compare every selected column with the order (2 ms a request).
    try:
        return (
            scoped_accounts(actor)
            .select_related("owner__employee", "org_unit", "division", "channel_type")
            .prefetch_related("tags")
            .get(pk=account_id)
        )
    except Account.DoesNotExist:
        raise NotFound(_("客户不存在")) from None


DETAIL_VALUES = (
    *LIST_VALUES,
    "short_name",
    "channel_type__code",
    "credit_rating",
    "credit_limit",
    "tax_id",
    "address",
    "custom",
    "notes",
    "merged_into_id",
    "version",
    "created_at",
    "updated_at",
)


TAG_VALUES = ("tag__name",)


def account_row_visible(scope: Scope, *, account_id: int, owner_id: int | None, unit_id: int | None) -> bool:
    """The row-level twin of ``_apply_account_scope``: would the scope's filter keep this row?"""
    return scope.everything or scope.allows(owner_id=owner_id, unit_id=unit_id) or account_id in scope.account_ids


def account_detail_values(*, actor: Any, account_id: int) -> tuple[dict[str, Any], list[str]]:
    """One account as plain values, with its tag names: what the API's detail returns.

    The row and the tags come from statements compiled once (``rows_by_pk``, ``rows_where_in``)
    and the scope is checked on the row (``account_row_visible``), so a detail runs two short
    statements and compiles none;
    through ``account_get`` (five related models, every column) Django spent 3 ms compiling.
    Outside the scope: ``NotFound``, as everywhere."""
    row = rows_by_pk(Account, DETAIL_VALUES, [account_id]).get(account_id)
    if (
        row is None
        or not actor.has_perm("customers.view_account")
        or not account_row_visible(
            account_scope(actor), account_id=account_id, owner_id=row["owner_id"], unit_id=row["org_unit_id"]
        )
    ):
        raise NotFound(_("客户不存在"))
    tags = sorted(r["tag__name"] for r in rows_where_in(Account.tags.through, TAG_VALUES, "account_id", [account_id]))
    return row, tags


def account_history(*, actor: Any, account_id: int) -> QuerySet[AuditLog]:
    account = account_get(actor=actor, account_id=account_id)
    return audit_history(entity="customers.account", entity_id=account.pk)


def account_ownership_history(*, actor: Any, account_id: int) -> QuerySet[OwnershipChange]:
    account = account_get(actor=actor, account_id=account_id)
    return account.ownership_changes.select_related(
        "from_owner__employee", "to_owner__employee", "changed_by__employee"
    )


def account_supply_links(*, actor: Any, account_id: int) -> tuple[list[SupplyLink], list[SupplyLink]]:
    """(suppliers of the account, customers it supplies), limited to accounts in scope."""
    account = account_get(actor=actor, account_id=account_id)
    visible = scoped_accounts(actor).values("id")
    up = list(
        SupplyLink.objects.filter(customer=account, supplier_id__in=visible).select_related("supplier", "product_group")
    )
    down = list(
        SupplyLink.objects.filter(supplier=account, customer_id__in=visible).select_related(
            "customer", "product_group"
        )[:500]
    )
    return up, down


def supply_link_list(
    *, actor: Any, account_id: int | None = None, cursor: str | None = None, limit: int = 50
) -> Page[SupplyLink]:
    visible = scoped_accounts(actor).values("id")
    qs = SupplyLink.objects.filter(supplier_id__in=visible, customer_id__in=visible).select_related(
        "supplier", "customer", "product_group"
    )
    if account_id:
        qs = qs.filter(Q(supplier_id=account_id) | Q(customer_id=account_id))
    return keyset_paginate(qs, sort="id", allowed_sorts=("id",), cursor=cursor, limit=limit)


def account_map_points(
    *, actor: Any, filters: AccountFilters | None = None, limit: int = 20000
) -> list[dict[str, Any]]:
    """Accounts with coordinates for the map: at most ``limit`` points (the map says when cut)."""
    qs = account_filter(scoped_accounts(actor), filters or AccountFilters()).filter(latitude__isnull=False)
    rows = qs.order_by("id").values("id", "name", "account_type", "grade", "latitude", "longitude")[: limit + 1]
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "type": r["account_type"],
            "grade": r["grade"],
            "lat": float(r["latitude"] or 0),
            "lng": float(r["longitude"] or 0),
        }
        for r in rows
    ]


def contact_list(
    *,
    actor: Any,
    q: str = "",
    account_id: int | None = None,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Contact]:
    if not actor.has_perm("customers.view_contact"):
        return Page(items=[], next_cursor=None, sort=sort)
    qs = _apply_account_scope(Contact.objects.all(), account_scope(actor), prefix="account__")
    if account_id:
        qs = qs.filter(account_id=account_id)
    if q:
        term = q.strip()
        qs = qs.filter(Q(name__startswith=term) | Q(phone=term) | Q(account__name__startswith=term))
    qs = qs.select_related("account")
    return keyset_paginate(qs, sort=sort, allowed_sorts=CONTACT_SORTS, cursor=cursor, limit=limit)


def contact_get(*, actor: Any, contact_id: int) -> Contact:
    qs = _apply_account_scope(Contact.objects.all(), account_scope(actor), prefix="account__")
    contact = (
        qs.select_related("account").filter(pk=contact_id).first() if actor.has_perm("customers.view_contact") else None
    )
    if contact is None:
        raise NotFound(_("联系人不存在"))
    return contact


def contact_history(*, actor: Any, contact_id: int) -> QuerySet[AuditLog]:
    contact = contact_get(actor=actor, contact_id=contact_id)
    return audit_history(entity="customers.contact", entity_id=contact.pk)


def channel_type_list() -> QuerySet[ChannelType]:
    """Reference data shared by the whole company."""
    return ChannelType.objects.filter(active=True)


def custom_field_list(*, account_type: str | None = None) -> list[CustomFieldDefinition]:
    defs = CustomFieldDefinition.objects.filter(active=True)
    if account_type:
        defs = defs.filter(Q(account_type="") | Q(account_type=account_type))
    return list(defs)


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.all()


__all__ = ["AccountFilters", "Page"]


def supply_link_get(*, actor: Any, link_id: int) -> SupplyLink:
    visible = scoped_accounts(actor).values("id")
    link = (
        SupplyLink.objects.filter(pk=link_id, supplier_id__in=visible, customer_id__in=visible)
        .select_related("supplier", "customer", "product_group")
        .first()
    )
    if link is None:
        raise NotFound(_("供货关系不存在"))
    return link


def supply_link_history(*, actor: Any, link_id: int) -> QuerySet[AuditLog]:
    link = supply_link_get(actor=actor, link_id=link_id)
    return audit_history(entity="customers.supplylink", entity_id=link.pk)
