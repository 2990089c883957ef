"""Writes for customers: accounts, contacts, supply links, ownership transfer, merge.

Accounts are validated by `account_clean`, which works for one account (forms, API) and for
many (imports) alike: the lookups it needs are loaded once into an `AccountLookups`.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_create, audit_delete, audit_record, audit_update, json_safe, snapshot
from jinggeng.core.bulk import allocate_ids, bulk_insert
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.core.scope import Scope
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import (
    Account,
    AccountMerge,
    AccountStatus,
    AccountType,
    AccountUser,
    ChannelType,
    Contact,
    CreditRating,
    CustomFieldDefinition,
    CustomFieldType,
    Grade,
    OwnershipChange,
    SupplyLink,
    Tag,
)
from jinggeng.customers.normalize import normalize_name, normalize_phone, normalize_tax_id
from jinggeng.org.models import Division, Employee, OrgUnit, Territory

User = get_user_model()

ACCOUNT_FIELDS = [
    "code",
    "name",
    "short_name",
    "account_type",
    "channel_type",
    "grade",
    "credit_rating",
    "credit_limit",
    "tax_id",
    "phone",
    "address",
    "division",
    "latitude",
    "longitude",
    "owner",
    "org_unit",
    "status",
    "notes",
]
AUDITED_ACCOUNT_FIELDS = [*ACCOUNT_FIELDS, "custom", "merged_into"]
FK_FIELDS = {"channel_type", "division", "owner", "org_unit", "merged_into"}
# The columns a cleaned account sets (see account_clean), as attnames.
ACCOUNT_ATTNAMES = [
    "code",
    "name",
    "short_name",
    "name_key",
    "account_type",
    "channel_type_id",
    "grade",
    "credit_rating",
    "credit_limit",
    "tax_id",
    "phone",
    "address",
    "division_id",
    "city_code",
    "latitude",
    "longitude",
    "owner_id",
    "org_unit_id",
    "status",
    "notes",
]


# --------------------------------------------------------------------------- lookups


@functools.cache
def _choice_keys(choices: type, language: str | None) -> dict[str, str]:
    """Every accepted spelling of ``choices`` in lower case -> its code: the codes, then the
    labels in the active language, Chinese and English (earlier spellings win)."""
    keys: dict[str, str] = {}
    pairs = [(str(code), label) for code, label in choices.choices]  # type: ignore[attr-defined]
    for code, label in pairs:
        keys.setdefault(code.lower(), code)
        keys.setdefault(str(label).lower(), code)
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            for code, label in pairs:
                keys.setdefault(str(label).lower(), code)
    return keys


def _choice(value: Any, choices: type, field_name: str, errors: dict[str, list[str]]) -> str | None:
    """Accept a choice by its code or its label in Chinese or English (any case)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    code = _choice_keys(choices, translation.get_language()).get(text.lower())
    if code is not None:
        return code
    allowed = "、".join(str(label) for _code, label in choices.choices)  # type: ignore[attr-defined]
    errors.setdefault(field_name, []).append(
        _("无效的值“%(value)s”，可选：%(allowed)s") % {"value": text, "allowed": allowed}
    )
    return None


@dataclass
class AccountLookups:
    """Everything `account_clean` looks up, loaded once. Build with `preload()` for many rows."""

    divisions: dict[str, str] = field(default_factory=dict)  # code -> level
    channel_types: dict[str, int] = field(default_factory=dict)  # code / name / name_en -> id
    units_by_code: dict[str, int] = field(default_factory=dict)
    users: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # username / employee code -> (user, unit)
    territory_units: dict[str, int] = field(default_factory=dict)  # division code -> org unit
    custom_fields: list[CustomFieldDefinition] = field(default_factory=list)
    unit_of_user: dict[int, int | None] = field(default_factory=dict)
    loaded: bool = False

    @classmethod
    def preload(cls) -> AccountLookups:
        lookups = cls(loaded=True)
        lookups.divisions = dict(Division.objects.values_list("code", "level"))
        for ct in ChannelType.objects.filter(active=True):
            for key in (ct.code, ct.name, ct.name_en):
                if key:
                    lookups.channel_types[key.lower()] = ct.pk
        lookups.units_by_code = dict(OrgUnit.objects.values_list("code", "id"))
        for username, user_id in User.objects.filter(is_active=True).values_list("username", "id"):
            lookups.users[username] = (user_id, None)
        for code, user_id, unit_id, username in Employee.objects.values_list(
            "code", "user_id", "org_unit_id", "user__username"
        ):
            lookups.users[code] = (user_id, unit_id)
            if username in lookups.users:
                lookups.users[username] = (user_id, unit_id)
        lookups.unit_of_user = {user_id: unit for user_id, unit in lookups.users.values()}
        for territory in Territory.objects.filter(active=True).prefetch_related("divisions"):
            for division in territory.divisions.all():
                lookups.territory_units[division.code] = territory.org_unit_id
        lookups.custom_fields = list(CustomFieldDefinition.objects.filter(active=True))
        return lookups

    def user(self, key: str) -> tuple[int, int | None] | None:
        if not self.loaded:
            emp = (
                Employee.objects.filter(Q(code=key) | Q(user__username=key))
                .values_list("user_id", "org_unit_id")
                .first()
            )
            if emp:
                return emp[0], emp[1]
            user_id = User.objects.filter(username=key, is_active=True).values_list("id", flat=True).first()
            return (user_id, None) if user_id else None
        return self.users.get(key)

    def user_unit(self, user_id: int) -> int | None:
        if not self.loaded:
            return Employee.objects.filter(user_id=user_id).values_list("org_unit_id", flat=True).first()
        return self.unit_of_user.get(user_id)

    def division_level(self, code: str) -> str | None:
        if not self.loaded:
            return Division.objects.filter(code=code).values_list("level", flat=True).first()
        return self.divisions.get(code)

    def channel_type(self, key: str) -> int | None:
        if not self.loaded:
            ct = (
                ChannelType.objects.filter(Q(code__iexact=key) | Q(name=key) | Q(name_en__iexact=key), active=True)
                .values_list("id", flat=True)
                .first()
            )
            return ct
        return self.channel_types.get(key.lower())

    def unit(self, code: str) -> int | None:
        if not self.loaded:
            return OrgUnit.objects.filter(code=code).values_list("id", flat=True).first()
        return self.units_by_code.get(code)

    def territory_unit(self, division_code: str) -> int | None:
        """The org unit of the most specific territory holding the division (county, city, province)."""
        candidates = [division_code, division_code[:4] + "00", division_code[:2] + "0000"]
        if not self.loaded:
            for code in candidates:
                unit = (
                    Territory.objects.filter(active=True, divisions__code=code)
                    .values_list("org_unit_id", flat=True)
                    .first()
                )
                if unit:
                    return unit
            return None
        for code in candidates:
            if code in self.territory_units:
                return self.territory_units[code]
        return None

    def fields_for(self, account_type: str | None) -> list[CustomFieldDefinition]:
        defs = self.custom_fields if self.loaded else list(CustomFieldDefinition.objects.filter(active=True))
        return [d for d in defs if not d.account_type or d.account_type == account_type]


@dataclass
class CleanedAccount:
    """A validated account, not saved yet. ``tags`` is None when the input did not mention tags."""

    values: dict[str, Any]
    custom: dict[str, Any]
    tags: list[str] | None
    instance: Account | None = None
    warnings: list[str] = field(default_factory=list)


def _decimal(
    value: Any, field_name: str, errors: dict[str, list[str]], *, low: Decimal, high: Decimal | None = None
) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors.setdefault(field_name, []).append(_("不是有效的数字：%(value)s") % {"value": value})
        return None
    if not number.is_finite() or number < low or (high is not None and number > high):
        if high is None:
            msg = _("不能小于 %(low)s") % {"low": low}
        else:
            msg = _("应在 %(low)s 到 %(high)s 之间") % {"low": low, "high": high}
        errors.setdefault(field_name, []).append(msg)
        return None
    return number


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    return dt.date.fromisoformat(text)


def clean_custom_fields(
    *,
    raw: Mapping[str, Any],
    definitions: list[CustomFieldDefinition],
    errors: dict[str, list[str]],
    partial: bool = False,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate custom field values against their definitions (typed; unknown keys refused)."""
    by_key = {d.key: d for d in definitions}
    result: dict[str, Any] = dict(existing or {}) if partial else {}
    for key, value in raw.items():
        definition = by_key.get(key)
        name = f"custom.{key}"
        if definition is None:
            errors.setdefault(name, []).append(_("未定义的自定义字段：%(key)s") % {"key": key})
            continue
        if value is None or value == "":
            result.pop(key, None)
            continue
        try:
            if definition.field_type == CustomFieldType.NUMBER:
                number = Decimal(str(value).strip())
                if not number.is_finite():
                    raise InvalidOperation
                result[key] = float(number) if number != number.to_integral_value() else int(number)
            elif definition.field_type == CustomFieldType.DATE:
                result[key] = _parse_date(value).isoformat()
            elif definition.field_type == CustomFieldType.CHOICE:
                text = str(value).strip()
                if text not in definition.choices:
                    errors.setdefault(name, []).append(
                        _("“%(value)s”不在可选值中：%(choices)s")
                        % {"value": text, "choices": "、".join(definition.choices)}
                    )
                    continue
                result[key] = text
            else:
                result[key] = str(value).strip()[:500]
        except (InvalidOperation, ValueError):
            label = _("数字") if definition.field_type == CustomFieldType.NUMBER else _("日期（YYYY-MM-DD）")
            errors.setdefault(name, []).append(_("应为%(kind)s：%(value)s") % {"kind": label, "value": value})
    for definition in definitions:
        if definition.required and result.get(definition.key) in (None, ""):
            errors.setdefault(f"custom.{definition.key}", []).append(_("必填"))
    return result


def _split_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = str(value).replace("、", ",").replace("，", ",").replace(";", ",").split(",")
    return sorted({t.strip()[:40] for t in items if t.strip()})


def _unit_allowed(scope: Scope, actor_unit: int | None, unit_id: int) -> bool:
    if scope.everything:
        return True
    return unit_id in scope.unit_ids or unit_id == actor_unit


def _owner_allowed(scope: Scope, owner_id: int, owner_unit: int | None) -> bool:
    if scope.everything or owner_id == scope.user_id:
        return True
    return owner_unit is not None and owner_unit in scope.unit_ids


def account_clean(
    *, actor: Any, data: Mapping[str, Any], lookups: AccountLookups, instance: Account | None = None
) -> CleanedAccount:
    """Validate one account's input. ``data`` uses the account's field names; related records by
    code (``division``, ``org_unit``, ``channel_type``) and the owner by username or employee
    code; custom fields under ``custom`` (a dict) or as ``custom.<key>``. With ``instance`` the
    input is partial (only given fields change). Raises ValidationFailed naming every bad field."""
    errors: dict[str, list[str]] = {}
    scope = account_scope(actor)
    actor_unit = lookups.user_unit(actor.pk) if getattr(actor, "pk", None) else None
    partial = instance is not None
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data and not (partial and data[name] is None)

    def text(name: str, max_length: int) -> None:
        if given(name) or not partial:
            value = str(data.get(name) or "").strip()
            if len(value) > max_length:
                errors.setdefault(name, []).append(_("最多 %(n)d 个字符") % {"n": max_length})
            values[name] = value

    if given("code") or not partial:
        code = str(data.get("code") or "").strip()
        values["code"] = code or (instance.code if instance else None)
        if code and len(code) > 40:
            errors.setdefault("code", []).append(_("最多 %(n)d 个字符") % {"n": 40})
    text("name", 120)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("请填写客户名称"))
    text("short_name", 60)
    text("address", 200)
    text("notes", 5000)

    if given("account_type") or not partial:
        account_type = _choice(data.get("account_type"), AccountType, "account_type", errors)
        if account_type is None and "account_type" not in errors:
            errors.setdefault("account_type", []).append(_("请选择客户类型"))
        values["account_type"] = account_type
    if given("grade") or not partial:
        values["grade"] = _choice(data.get("grade"), Grade, "grade", errors) or Grade.C
    if given("credit_rating") or not partial:
        values["credit_rating"] = _choice(data.get("credit_rating"), CreditRating, "credit_rating", errors) or ""
    if given("status") or not partial:
        values["status"] = _choice(data.get("status"), AccountStatus, "status", errors) or AccountStatus.ACTIVE
    if given("credit_limit") or not partial:
        limit = _decimal(data.get("credit_limit"), "credit_limit", errors, low=Decimal("0")) or Decimal("0")
        values["credit_limit"] = limit.quantize(Decimal("0.01"))

    if given("channel_type") or not partial:
        key = str(data.get("channel_type") or "").strip()
        values["channel_type_id"] = None
        if key:
            ct = lookups.channel_type(key)
            if ct is None:
                errors.setdefault("channel_type", []).append(_("未知的渠道类型：%(value)s") % {"value": key})
            values["channel_type_id"] = ct

    if given("phone") or not partial:
        raw_phone = str(data.get("phone") or "").strip()
        values["phone"] = ""
        if raw_phone:
            try:
                values["phone"] = normalize_phone(raw_phone)
            except ValueError as exc:
                errors.setdefault("phone", []).append(str(exc))
    if given("tax_id") or not partial:
        raw_tax = str(data.get("tax_id") or "").strip()
        values["tax_id"] = ""
        if raw_tax:
            try:
                values["tax_id"] = normalize_tax_id(raw_tax)
            except ValueError as exc:
                errors.setdefault("tax_id", []).append(str(exc))

    if given("division") or not partial:
        code = str(data.get("division") or "").strip()
        if not code:
            errors.setdefault("division", []).append(_("请填写行政区划代码"))
        elif lookups.division_level(code) is None:
            errors.setdefault("division", []).append(
                _("无效的行政区划代码：%(value)s（应为 6 位 GB/T 2260 代码）") % {"value": code}
            )
        else:
            values["division_id"] = code
            values["city_code"] = code[:4] + "00" if not code.endswith("0000") else code

    if given("latitude") or given("longitude") or not partial:
        lat = _decimal(data.get("latitude"), "latitude", errors, low=Decimal("-90"), high=Decimal("90"))
        lng = _decimal(data.get("longitude"), "longitude", errors, low=Decimal("-180"), high=Decimal("180"))
        if (lat is None) != (lng is None) and "latitude" not in errors and "longitude" not in errors:
            errors.setdefault("latitude" if lat is None else "longitude", []).append(_("经纬度需同时填写"))
        values["latitude"] = lat.quantize(Decimal("0.000001")) if lat is not None else None
        values["longitude"] = lng.quantize(Decimal("0.000001")) if lng is not None else None

    owner_id = instance.owner_id if instance else None
    owner_unit = None
    if given("owner") or not partial:
        key = str(data.get("owner") or "").strip()
        if not key and partial:
            pass  # an empty owner on an edit keeps the current owner (use a transfer to change it)
        elif not key:
            owner_id = actor.pk
            owner_unit = actor_unit
        else:
            found = lookups.user(key)
            if found is None:
                errors.setdefault("owner", []).append(_("找不到负责人：%(value)s") % {"value": key})
            else:
                owner_id, owner_unit = found
                if not _owner_allowed(scope, owner_id, owner_unit):
                    errors.setdefault("owner", []).append(_("负责人不在您的数据范围内：%(value)s") % {"value": key})
        values["owner_id"] = owner_id

    if given("org_unit") or not partial:
        key = str(data.get("org_unit") or "").strip()
        unit_id: int | None = None
        if key:
            unit_id = lookups.unit(key)
            if unit_id is None:
                errors.setdefault("org_unit", []).append(_("找不到组织单元：%(value)s") % {"value": key})
        elif instance is not None and owner_id == instance.owner_id:
            unit_id = instance.org_unit_id  # an edit keeps the unit unless the owner changes
        else:
            unit_id = owner_unit if owner_unit else None
            if unit_id is None and "division_id" in values:
                unit_id = lookups.territory_unit(values["division_id"])
            if unit_id is None:
                unit_id = instance.org_unit_id if instance else actor_unit
        if unit_id is not None and not _unit_allowed(scope, actor_unit, unit_id):
            errors.setdefault("org_unit", []).append(_("所属组织不在您的数据范围内"))
        if unit_id is None and "org_unit" not in errors:
            errors.setdefault("org_unit", []).append(_("请填写所属组织"))
        values["org_unit_id"] = unit_id

    account_type = values.get("account_type") or (instance.account_type if instance else None)
    raw_custom: dict[str, Any] = dict(data.get("custom") or {}) if isinstance(data.get("custom"), Mapping) else {}
    for key, value in data.items():
        if key.startswith("custom."):
            raw_custom[key.removeprefix("custom.")] = value
    custom: dict[str, Any] = dict(instance.custom) if instance else {}
    if raw_custom or not partial or given("account_type"):
        custom = clean_custom_fields(
            raw=raw_custom,
            definitions=lookups.fields_for(account_type),
            errors=errors,
            partial=partial,
            existing=instance.custom if instance else None,
        )

    tags = _split_tags(data.get("tags")) if "tags" in data else None
    if tags and any(len(t) > 40 for t in tags):
        errors.setdefault("tags", []).append(_("标签最多 40 个字符"))

    if errors:
        raise ValidationFailed(_("客户资料有误"), errors=errors)
    if "name" in values:
        values["name_key"] = normalize_name(values["name"])
    return CleanedAccount(values=values, custom=custom, tags=tags, instance=instance)


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class DuplicateCandidate:
    account_id: int
    name: str
    reasons: tuple[str, ...]
    visible: bool
    org_unit: str


def account_find_duplicates(
    *, actor: Any, name: str = "", phone: str = "", tax_id: str = "", division: str = "", exclude_id: int | None = None
) -> list[DuplicateCandidate]:
    """Accounts that look like the same customer: same phone, same tax id, or the same
    normalised name in the same city. Candidates outside the actor's scope are reported with
    their org unit only (``visible`` False), so the check works without leaking records."""
    conditions = Q(pk__in=[])
    name_key = normalize_name(name) if name else ""
    city_code = division[:4] + "00" if division and not division.endswith("0000") else division
    if phone:
        conditions |= Q(phone=phone)
    if tax_id:
        conditions |= Q(tax_id=tax_id)
    if name_key and city_code:
        conditions |= Q(name_key=name_key, city_code=city_code)
    qs = Account.objects.filter(conditions, merged_into__isnull=True).exclude(status=AccountStatus.CLOSED)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    scope = account_scope(actor)
    result = []
    for acc in qs.select_related("org_unit")[:20]:
        reasons = []
        if phone and acc.phone == phone:
            reasons.append("phone")
        if tax_id and acc.tax_id == tax_id:
            reasons.append("tax_id")
        if name_key and acc.name_key == name_key and acc.city_code == city_code:
            reasons.append("name_city")
        visible = (
            scope.everything
            or scope.allows(owner_id=acc.owner_id, unit_id=acc.org_unit_id)
            or acc.pk in scope.account_ids
        )
        result.append(
            DuplicateCandidate(
                account_id=acc.pk,
                name=acc.name if visible else "",
                reasons=tuple(reasons),
                visible=visible,
                org_unit=acc.org_unit.display_name,
            )
        )
    return result


def duplicate_message(candidates: Iterable[DuplicateCandidate]) -> str:
    labels = {"phone": _("电话相同"), "tax_id": _("税号相同"), "name_city": _("同城同名")}
    parts = []
    for c in candidates:
        who = c.name if c.visible else _("（%(unit)s 的客户）") % {"unit": c.org_unit}
        parts.append(f"{who}：{'、'.join(labels[r] for r in c.reasons)}")
    return _("疑似重复客户：%(list)s") % {"list": "；".join(parts)}


def accounts_find_duplicates_bulk(
    rows: list[CleanedAccount], *, row_numbers: Sequence[int] | None = None
) -> dict[int, list[str]]:
    """For an import: index in ``rows`` -> warnings about existing accounts or earlier rows of the
    same file. ``row_numbers`` (the spreadsheet's row of each item) names earlier rows by number."""
    phones: set[str] = {str(r.values["phone"]) for r in rows if r.values.get("phone")}
    taxes: set[str] = {str(r.values["tax_id"]) for r in rows if r.values.get("tax_id")}
    keys: set[str] = {str(r.values["name_key"]) for r in rows if r.values.get("name_key")}
    existing = Account.objects.filter(merged_into__isnull=True).exclude(status=AccountStatus.CLOSED)
    by_phone: dict[str, list[tuple[int, str]]] = {}
    by_tax: dict[str, list[tuple[int, str]]] = {}
    by_name: dict[tuple[str, str], list[tuple[int, str]]] = {}
    chunk = 5000
    for values, fields in ((sorted(phones), "phone"), (sorted(taxes), "tax_id"), (sorted(keys), "name_key")):
        for i in range(0, len(values), chunk):
            part = values[i : i + chunk]
            for pk, name, phone, tax, name_key, city in existing.filter(**{f"{fields}__in": part}).values_list(
                "pk", "name", "phone", "tax_id", "name_key", "city_code"
            ):
                if fields == "phone":
                    by_phone.setdefault(phone, []).append((pk, name))
                elif fields == "tax_id":
                    by_tax.setdefault(tax, []).append((pk, name))
                else:
                    by_name.setdefault((name_key, city), []).append((pk, name))
    warnings: dict[int, list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    same = {"phone": _("电话相同"), "tax_id": _("税号相同"), "name_city": _("同城同名")}
    for index, row in enumerate(rows):
        own = row.instance.pk if row.instance else None
        msgs: list[str] = []
        phone = str(row.values.get("phone") or "")
        tax = str(row.values.get("tax_id") or "")
        name_city = (str(row.values.get("name_key") or ""), str(row.values.get("city_code") or ""))
        checks: list[tuple[str, tuple[str, str], list[tuple[int, str]]]] = [
            ("phone", ("phone", phone), by_phone.get(phone, []) if phone else []),
            ("tax_id", ("tax_id", tax), by_tax.get(tax, []) if tax else []),
            ("name_city", name_city, by_name.get(name_city, []) if name_city[0] else []),
        ]
        for reason, file_key, matches in checks:
            others = [name for pk, name in matches if pk != own]
            if others:
                msgs.append(
                    _("疑似重复客户（%(why)s）：%(names)s") % {"why": same[reason], "names": "、".join(others[:3])}
                )
            if not file_key[1] or not file_key[0]:
                continue
            if file_key in seen:
                first = seen[file_key]
                number = row_numbers[first] if row_numbers is not None else first + 1
                msgs.append(_("与第 %(row)d 行疑似重复（%(why)s）") % {"row": number, "why": same[reason]})
            else:
                seen[file_key] = index
        if msgs:
            warnings[index] = msgs
    return warnings


# --------------------------------------------------------------------------- accounts


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"))


def _scoped_account(actor: Any, account_id: int, *, for_update: bool = True) -> Account:
    scope = account_scope(actor)
    qs = Account.objects.all()
    if for_update:
        qs = qs.select_for_update()
    account = qs.filter(pk=account_id).first()
    if account is None or not (
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    ):
        raise NotFound(_("客户不存在"))
    return account


def _set_tags(account: Account, names: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    account.tags.set([existing[n] for n in names])


def _account_state(account: Account) -> dict[str, Any]:
    state = snapshot(account, AUDITED_ACCOUNT_FIELDS)
    state["tags"] = sorted(account.tags.values_list("name", flat=True)) if account.pk else []
    return state


@transaction.atomic
def account_create(
    *, actor: Any, data: Mapping[str, Any], allow_duplicate: bool = False, lookups: AccountLookups | None = None
) -> Account:
    """Create an account. Suspected duplicates raise Conflict (code ``duplicate_suspected``,
    with the candidates) unless ``allow_duplicate``."""
    _require(actor, "customers.add_account")
    cleaned = account_clean(actor=actor, data=data, lookups=lookups or AccountLookups())
    values = cleaned.values
    if values.get("code") and Account.objects.filter(code=values["code"]).exists():
        raise ValidationFailed(
            _("客户资料有误"), errors={"code": [_("客户编码已存在：%(code)s") % {"code": values["code"]}]}
        )
    if not allow_duplicate:
        candidates = account_find_duplicates(
            actor=actor,
            name=values["name"],
            phone=values.get("phone", ""),
            tax_id=values.get("tax_id", ""),
            division=values.get("division_id", ""),
        )
        if candidates:
            raise Conflict(
                duplicate_message(candidates),
                code="duplicate_suspected",
                extra={
                    "candidates": [
                        {
                            "id": c.account_id if c.visible else None,
                            "name": c.name,
                            "reasons": list(c.reasons),
                            "org_unit": c.org_unit,
                        }
                        for c in candidates
                    ]
                },
            )
    account = Account(**values, custom=cleaned.custom)
    account.save()
    if cleaned.tags:
        _set_tags(account, cleaned.tags)
    audit_create(actor=actor, instance=account, extra={"tags": cleaned.tags or []})
    if account.owner_id:
        OwnershipChange.objects.create(
            account=account,
            from_owner=None,
            to_owner_id=account.owner_id,
            to_unit_id=account.org_unit_id,
            changed_by=actor,
            reason=_("新建客户"),
        )
    return account


@transaction.atomic
def account_update(
    *, actor: Any, account_id: int, data: Mapping[str, Any], expected_version: int | None = None, reason: str = ""
) -> Account:
    """Change an account. Owner changes made here are recorded as ownership changes too."""
    account = _scoped_account(actor, account_id)
    _require(actor, "customers.change_account")
    if expected_version is not None and expected_version != account.version:
        raise Conflict(
            _("该客户已被他人修改（版本 %(now)d，您提交的是 %(yours)d），请刷新后重试")
            % {"now": account.version, "yours": expected_version},
            code="version_conflict",
            extra={"current_version": account.version},
        )
    before = _account_state(account)
    cleaned = account_clean(actor=actor, data=data, lookups=AccountLookups(), instance=account)
    values = cleaned.values
    if values.get("code") and Account.objects.filter(code=values["code"]).exclude(pk=account.pk).exists():
        raise ValidationFailed(
            _("客户资料有误"), errors={"code": [_("客户编码已存在：%(code)s") % {"code": values["code"]}]}
        )
    old_owner, old_unit = account.owner_id, account.org_unit_id
    for key, value in values.items():
        setattr(account, key, value)
    account.custom = cleaned.custom
    account.version += 1
    account.save(update_fields=[*values.keys(), "custom", "version", "updated_at"])
    if cleaned.tags is not None:
        _set_tags(account, cleaned.tags)
    audit_update(actor=actor, instance=account, before=before, after=_account_state(account), reason=reason)
    if account.owner_id != old_owner:
        OwnershipChange.objects.create(
            account=account,
            from_owner_id=old_owner,
            to_owner_id=account.owner_id,
            from_unit_id=old_unit,
            to_unit_id=account.org_unit_id,
            changed_by=actor,
            reason=reason or _("编辑客户资料"),
        )
    return account


@transaction.atomic
def account_delete(*, actor: Any, account_id: int, reason: str = "") -> None:
    """Delete an account that nothing refers to; otherwise close it instead (status closed)."""
    account = _scoped_account(actor, account_id)
    _require(actor, "customers.delete_account")
    if SupplyLink.objects.filter(Q(supplier=account) | Q(customer=account)).exists() or account.users.exists():
        raise ValidationFailed(
            _("该客户有供货关系或用户，不能删除；请改为“关闭”状态"), code="account_in_use", field="status"
        )
    audit_delete(actor=actor, instance=account, reason=reason)
    account.delete()


def accounts_bulk_upsert(*, actor: Any, rows: list[CleanedAccount], batch_size: int = 2000) -> tuple[int, int]:
    """Write many cleaned accounts at once (imports): creates, updates, tags, ownership
    history and one audit record per account. Returns (created, updated). Call inside a
    transaction; the caller has checked permissions and validated every row."""
    now = timezone.now()
    created = 0
    updated = 0
    to_create = [r for r in rows if r.instance is None]
    to_update = [r for r in rows if r.instance is not None]
    all_tags = sorted({t for r in rows for t in (r.tags or [])})
    tag_ids: dict[str, int] = {}
    if all_tags:
        Tag.objects.bulk_create([Tag(name=t) for t in all_tags], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=all_tags).values_list("name", "id"))
    through = Account.tags.through
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None

    audited = {name: (name + "_id" if name in FK_FIELDS else name) for name in AUDITED_ACCOUNT_FIELDS}
    account_columns = ["id", *ACCOUNT_ATTNAMES, "custom", "merged_into_id", "created_at", "updated_at", "version"]
    import_reason = _("导入")
    owner_reason = _("导入新建客户")
    for start in range(0, len(to_create), batch_size):
        batch = to_create[start : start + batch_size]
        ids = allocate_ids(Account, len(batch))
        account_rows: list[tuple[Any, ...]] = []
        links: list[tuple[Any, ...]] = []
        log_rows: list[tuple[Any, ...]] = []
        change_rows: list[tuple[Any, ...]] = []
        log_ids = allocate_ids(AuditLog, len(batch))
        for account_id, log_id, row in zip(ids, log_ids, batch, strict=True):
            values = row.values
            account_rows.append((account_id, *(values.get(a) for a in ACCOUNT_ATTNAMES), row.custom, None, now, now, 1))
            for t in row.tags or []:
                links.append((account_id, tag_ids[t]))
            audit_values: dict[str, Any] = {"custom": row.custom} if row.custom else {}
            for name, attname in audited.items():
                value = values.get(attname)
                if value not in (None, "") and name != "custom":
                    audit_values[name] = value
            if row.tags:
                audit_values["tags"] = row.tags
            log_rows.append(
                (
                    log_id,
                    now,
                    actor_id,
                    AuditAction.CREATE,
                    "customers.account",
                    str(account_id),
                    values["name"][:255],
                    json_safe({k: [None, v] for k, v in audit_values.items()}),
                    import_reason,
                )
            )
            if values.get("owner_id"):
                change_rows.append(
                    (
                        account_id,
                        None,
                        values["owner_id"],
                        None,
                        values.get("org_unit_id"),
                        actor_id,
                        now,
                        owner_reason,
                        None,
                    )
                )
        bulk_insert(Account, account_columns, account_rows)
        bulk_insert(through, ["account_id", "tag_id"], links)
        bulk_insert(
            AuditLog,
            ["id", "at", "actor_id", "action", "entity", "entity_id", "entity_repr", "changes", "reason"],
            log_rows,
        )
        bulk_insert(
            OwnershipChange,
            [
                "account_id",
                "from_owner_id",
                "to_owner_id",
                "from_unit_id",
                "to_unit_id",
                "changed_by_id",
                "changed_at",
                "reason",
                "batch",
            ],
            change_rows,
        )
        created += len(batch)

    fields = sorted({k for r in to_update for k in r.values} | {"custom", "version", "updated_at"})
    for start in range(0, len(to_update), batch_size):
        batch = to_update[start : start + batch_size]
        objs = []
        logs = []
        changes = []
        tag_batch = {r.instance.pk: r.tags for r in batch if r.instance is not None and r.tags is not None}
        old_tags: dict[int, list[str]] = {}
        for account_id, name in through.objects.filter(account_id__in=list(tag_batch)).values_list(
            "account_id", "tag__name"
        ):
            old_tags.setdefault(account_id, []).append(name)
        for row in batch:
            if row.instance is None:
                continue
            obj = row.instance
            before = snapshot(obj, AUDITED_ACCOUNT_FIELDS)
            old_owner, old_unit = obj.owner_id, obj.org_unit_id
            for key, value in row.values.items():
                setattr(obj, key, value)
            obj.custom = row.custom
            after = snapshot(obj, AUDITED_ACCOUNT_FIELDS)
            if obj.pk in tag_batch:
                before["tags"] = sorted(old_tags.get(obj.pk, []))
                after["tags"] = sorted(tag_batch[obj.pk] or [])
            diff = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
            if not diff:
                continue
            obj.version += 1
            obj.updated_at = now
            objs.append(obj)
            logs.append(
                AuditLog(
                    actor_id=actor_id,
                    action=AuditAction.UPDATE,
                    entity="customers.account",
                    entity_id=str(obj.pk),
                    entity_repr=obj.name[:255],
                    changes=json_safe(diff),
                    reason=_("导入"),
                )
            )
            if obj.owner_id != old_owner:
                changes.append(
                    OwnershipChange(
                        account_id=obj.pk,
                        from_owner_id=old_owner,
                        to_owner_id=obj.owner_id,
                        from_unit_id=old_unit,
                        to_unit_id=obj.org_unit_id,
                        changed_by_id=actor_id,
                        reason=_("导入更新负责人"),
                    )
                )
        if objs:
            Account.objects.bulk_update(objs, fields, batch_size=500)
            changed_ids = [o.pk for o in objs if o.pk in tag_batch]
            if changed_ids:
                through.objects.filter(account_id__in=changed_ids).delete()
                through.objects.bulk_create(
                    [through(account_id=pk, tag_id=tag_ids[t]) for pk in changed_ids for t in tag_batch[pk] or []],
                    ignore_conflicts=True,
                )
        AuditLog.objects.bulk_create(logs)
        OwnershipChange.objects.bulk_create(changes)
        updated += len(objs)
    return created, updated


# --------------------------------------------------------------------------- ownership


def _owner_target(actor: Any, to_owner: str | int) -> tuple[Any, int]:
    qs = User.objects.filter(is_active=True)
    user = (
        qs.filter(pk=to_owner).first()
        if isinstance(to_owner, int)
        else qs.filter(Q(username=str(to_owner)) | Q(employee__code=str(to_owner))).first()
    )
    if user is None:
        raise ValidationFailed(_("找不到新负责人"), field="to_owner")
    unit = Employee.objects.filter(user=user).values_list("org_unit_id", flat=True).first()
    if unit is None:
        raise ValidationFailed(_("新负责人没有员工档案"), field="to_owner")
    scope = account_scope(actor)
    if not _owner_allowed(scope, user.pk, unit):
        raise ValidationFailed(_("新负责人不在您的数据范围内"), field="to_owner")
    return user, unit


@transaction.atomic
def account_transfer(*, actor: Any, account_id: int, to_owner: str | int, reason: str) -> Account:
    """Give one account a new owner (and the new owner's org unit), with history."""
    account = _scoped_account(actor, account_id)
    _require(actor, "customers.transfer_account")
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写转移原因"), field="reason")
    user, unit = _owner_target(actor, to_owner)
    if user.pk == account.owner_id:
        raise ValidationFailed(_("新负责人与当前负责人相同"), field="to_owner")
    before = snapshot(account, ["owner", "org_unit"])
    change = OwnershipChange.objects.create(
        account=account,
        from_owner_id=account.owner_id,
        to_owner=user,
        from_unit_id=account.org_unit_id,
        to_unit_id=unit,
        changed_by=actor,
        reason=reason.strip()[:500],
    )
    account.owner = user
    account.org_unit_id = unit
    account.version += 1
    account.save(update_fields=["owner", "org_unit", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TRANSFER,
        instance=account,
        changes={k: [before[k], v] for k, v in snapshot(account, ["owner", "org_unit"]).items()},
        reason=change.reason,
    )
    return account


@transaction.atomic
def accounts_transfer_all(*, actor: Any, from_owner: str | int, to_owner: str | int, reason: str) -> int:
    """Move every account of one employee (for example one who leaves) to another, in one
    atomic step, each with its ownership history. Returns how many moved."""
    _require(actor, "customers.transfer_account")
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写转移原因"), field="reason")
    source_qs = User.objects.all()
    source = (
        source_qs.filter(pk=from_owner).first()
        if isinstance(from_owner, int)
        else source_qs.filter(Q(username=str(from_owner)) | Q(employee__code=str(from_owner))).first()
    )
    if source is None:
        raise ValidationFailed(_("找不到原负责人"), field="from_owner")
    user, unit = _owner_target(actor, to_owner)
    if user.pk == source.pk:
        raise ValidationFailed(_("新负责人与原负责人相同"), field="to_owner")
    scope = account_scope(actor)
    accounts = list(Account.objects.select_for_update().filter(owner=source).order_by("pk"))
    outside = [
        a for a in accounts if not (scope.everything or scope.allows(owner_id=a.owner_id, unit_id=a.org_unit_id))
    ]
    if outside:
        raise PermissionDenied(
            _("有 %(n)d 个客户不在您的数据范围内，无法整体转移") % {"n": len(outside)}, code="transfer_out_of_scope"
        )
    batch = uuid.uuid4()
    text = reason.strip()[:500]
    changes = []
    logs = []
    actor_id = actor.pk
    for account in accounts:
        changes.append(
            OwnershipChange(
                account=account,
                from_owner_id=account.owner_id,
                to_owner_id=user.pk,
                from_unit_id=account.org_unit_id,
                to_unit_id=unit,
                changed_by_id=actor_id,
                reason=text,
                batch=batch,
            )
        )
        logs.append(
            AuditLog(
                actor_id=actor_id,
                action=AuditAction.TRANSFER,
                entity="customers.account",
                entity_id=str(account.pk),
                entity_repr=account.name[:255],
                changes={"owner": [account.owner_id, user.pk], "org_unit": [account.org_unit_id, unit]},
                reason=text,
            )
        )
    OwnershipChange.objects.bulk_create(changes, batch_size=1000)
    AuditLog.objects.bulk_create(logs, batch_size=1000)
    from django.db.models import F

    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(
        owner_id=user.pk, org_unit_id=unit, version=F("version") + 1, updated_at=timezone.now()
    )
    return len(accounts)


# --------------------------------------------------------------------------- merge


@transaction.atomic
def account_merge(*, actor: Any, survivor_id: int, merged_id: int, reason: str = "") -> Account:
    """Merge ``merged_id`` into ``survivor_id``: contacts, supply links, ownership history,
    users and tags move to the survivor; blank fields of the survivor are filled; the merged
    account is closed and points to the survivor. Recorded as an AccountMerge and in the audit."""
    _require(actor, "customers.merge_account")
    if survivor_id == merged_id:
        raise ValidationFailed(_("不能把客户与自己合并"), field="merged_id")
    first, second = sorted([survivor_id, merged_id])
    _scoped_account(actor, first)
    _scoped_account(actor, second)
    survivor = Account.objects.get(pk=survivor_id)
    merged = Account.objects.get(pk=merged_id)
    if merged.merged_into_id or survivor.merged_into_id:
        raise ValidationFailed(_("已合并过的客户不能再合并"), field="merged_id")
    before_survivor = _account_state(survivor)
    before_merged = _account_state(merged)

    moved_contacts = []
    merge_reason = _("合并到客户 %(name)s") % {"name": survivor.name}
    for contact in Contact.objects.select_for_update().filter(account=merged).order_by("pk"):
        changes: dict[str, list[Any]] = {"account": [merged.pk, survivor.pk]}
        if contact.is_primary:
            changes["is_primary"] = [True, False]
        contact.account = survivor
        contact.is_primary = False
        contact.version += 1
        contact.save(update_fields=["account", "is_primary", "version", "updated_at"])
        audit_record(actor=actor, action=AuditAction.MERGE, instance=contact, changes=changes, reason=merge_reason)
        moved_contacts.append(contact.pk)
    moved_links = 0
    dropped_links = 0
    for link in SupplyLink.objects.filter(Q(supplier=merged) | Q(customer=merged)):
        supplier_id = survivor.pk if link.supplier_id == merged.pk else link.supplier_id
        customer_id = survivor.pk if link.customer_id == merged.pk else link.customer_id
        clash = (
            SupplyLink.objects.filter(
                supplier_id=supplier_id, customer_id=customer_id, product_group_id=link.product_group_id
            )
            .exclude(pk=link.pk)
            .exists()
        )
        if supplier_id == customer_id or clash:
            audit_delete(actor=actor, instance=link, reason=merge_reason)
            link.delete()
            dropped_links += 1
        else:
            changes = {
                key: [old, new]
                for key, old, new in (
                    ("supplier", link.supplier_id, supplier_id),
                    ("customer", link.customer_id, customer_id),
                )
                if old != new
            }
            SupplyLink.objects.filter(pk=link.pk).update(
                supplier_id=supplier_id, customer_id=customer_id, version=F("version") + 1
            )
            audit_record(actor=actor, action=AuditAction.MERGE, instance=link, changes=changes, reason=merge_reason)
            moved_links += 1
    OwnershipChange.objects.filter(account=merged).update(account=survivor)
    AccountUser.objects.filter(account=merged).update(account=survivor)
    survivor.tags.add(*merged.tags.all())

    filled = []
    for name in (
        "short_name",
        "phone",
        "tax_id",
        "address",
        "credit_rating",
        "channel_type",
        "latitude",
        "longitude",
        "notes",
    ):
        attname = name + "_id" if name == "channel_type" else name
        if getattr(survivor, attname) in (None, "") and getattr(merged, attname) not in (None, ""):
            setattr(survivor, attname, getattr(merged, attname))
            filled.append(name)
    for key, value in merged.custom.items():
        if survivor.custom.get(key) in (None, ""):
            survivor.custom[key] = value
            filled.append(f"custom.{key}")
    merged_code = merged.code
    if not survivor.code and merged_code:
        merged.code = None
        merged.save(update_fields=["code"])
        survivor.code = merged_code
        filled.append("code")
    survivor.version += 1
    survivor.save()
    merged.status = AccountStatus.CLOSED
    merged.merged_into = survivor
    merged.version += 1
    merged.save(update_fields=["status", "merged_into", "version", "updated_at"])

    details = {
        "merged_name": merged.name,
        "merged_code": merged_code,
        "contacts": moved_contacts,
        "links_moved": moved_links,
        "links_dropped": dropped_links,
        "filled": filled,
    }
    AccountMerge.objects.create(
        survivor=survivor, merged_account=merged, merged_by=actor, reason=reason[:500], details=details
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=survivor,
        changes={
            **{k: v for k, v in _diff(before_survivor, _account_state(survivor)).items()},
            "merged_from": [None, merged.pk],
        },
        reason=reason,
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=merged,
        changes={**_diff(before_merged, _account_state(merged)), "merged_into": [None, survivor.pk]},
        reason=reason,
    )
    return survivor


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


# --------------------------------------------------------------------------- contacts

CONTACT_FIELDS = ["code", "name", "role", "phone", "email", "birthday", "is_primary", "notes"]


def contact_clean(*, data: Mapping[str, Any], instance: Contact | None = None) -> dict[str, Any]:
    """Validate one contact's input (partial when ``instance`` is given)."""
    errors: dict[str, list[str]] = {}
    partial = instance is not None
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data and not (partial and data[name] is None)

    for name, limit in (("name", 60), ("role", 60), ("notes", 5000), ("code", 40)):
        if given(name) or not partial:
            value = str(data.get(name) or "").strip()
            if len(value) > limit:
                errors.setdefault(name, []).append(_("最多 %(n)d 个字符") % {"n": limit})
            values[name] = value if (value or name != "code") else None
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("请填写姓名"))
    if given("phone") or not partial:
        raw = str(data.get("phone") or "").strip()
        values["phone"] = ""
        if raw:
            try:
                values["phone"] = normalize_phone(raw)
            except ValueError as exc:
                errors.setdefault("phone", []).append(str(exc))
    if given("email") or not partial:
        raw = str(data.get("email") or "").strip()
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        if raw:
            try:
                validate_email(raw)
            except ValidationError:
                errors.setdefault("email", []).append(_("邮箱格式不正确：%(value)s") % {"value": raw})
        values["email"] = raw
    if given("birthday") or not partial:
        raw_b = data.get("birthday")
        values["birthday"] = None
        if raw_b not in (None, ""):
            try:
                birthday = _parse_date(raw_b)
                if birthday > timezone.localdate() or birthday.year < 1900:
                    raise ValueError
                values["birthday"] = birthday
            except ValueError:
                errors.setdefault("birthday", []).append(
                    _("生日应为有效日期（YYYY-MM-DD）：%(value)s") % {"value": raw_b}
                )
    if given("is_primary") or not partial:
        raw_p = data.get("is_primary")
        values["is_primary"] = raw_p in (True, 1, "1", "true", "True", "是", "yes", "on")
    if errors:
        raise ValidationFailed(_("联系人资料有误"), errors=errors)
    return values


@transaction.atomic
def contact_create(*, actor: Any, account_id: int, data: Mapping[str, Any]) -> Contact:
    account = _scoped_account(actor, account_id)
    _require(actor, "customers.add_contact")
    values = contact_clean(data=data)
    if values.get("code") and Contact.objects.filter(code=values["code"]).exists():
        raise ValidationFailed(_("联系人资料有误"), errors={"code": [_("联系人编码已存在")]})
    contact = Contact.objects.create(account=account, **values)
    if contact.is_primary:
        _unflag_other_primary_contacts(actor=actor, contact=contact)
    audit_create(actor=actor, instance=contact)
    return contact


def _unflag_other_primary_contacts(*, actor: Any, contact: Contact) -> None:
    """One primary contact per account: the others lose the flag, each with its audit record."""
    others = Contact.objects.select_for_update().filter(account_id=contact.account_id, is_primary=True)
    for other in others.exclude(pk=contact.pk):
        other.is_primary = False
        other.version += 1
        other.save(update_fields=["is_primary", "version", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=other,
            changes={"is_primary": [True, False]},
            reason=_("%(name)s 设为主要联系人") % {"name": contact.name},
        )


def _scoped_contact(actor: Any, contact_id: int) -> Contact:
    contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("联系人不存在"))
    try:
        _scoped_account(actor, contact.account_id, for_update=False)
    except NotFound:
        raise NotFound(_("联系人不存在")) from None
    return contact


@transaction.atomic
def contact_update(
    *, actor: Any, contact_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Contact:
    contact = _scoped_contact(actor, contact_id)
    _require(actor, "customers.change_contact")
    if expected_version is not None and expected_version != contact.version:
        raise Conflict(
            _("该联系人已被他人修改，请刷新后重试"), code="version_conflict", extra={"current_version": contact.version}
        )
    before = snapshot(contact, CONTACT_FIELDS)
    values = contact_clean(data=data, instance=contact)
    if values.get("code") and Contact.objects.filter(code=values["code"]).exclude(pk=contact.pk).exists():
        raise ValidationFailed(_("联系人资料有误"), errors={"code": [_("联系人编码已存在")]})
    for key, value in values.items():
        setattr(contact, key, value)
    contact.version += 1
    contact.save(update_fields=[*values.keys(), "version", "updated_at"])
    if contact.is_primary:
        _unflag_other_primary_contacts(actor=actor, contact=contact)
    audit_update(actor=actor, instance=contact, before=before)
    return contact


@transaction.atomic
def contact_delete(*, actor: Any, contact_id: int) -> None:
    contact = _scoped_contact(actor, contact_id)
    _require(actor, "customers.delete_contact")
    audit_delete(actor=actor, instance=contact)
    contact.delete()


# --------------------------------------------------------------------------- supply links


def supply_chain_has_path(*, start_id: int, target_id: int) -> bool:
    """True if ``target`` is ``start`` or already supplies ``start`` (directly or through others)."""
    seen = {start_id}
    frontier = [start_id]
    while frontier:
        if target_id in frontier:
            return True
        upstream = list(
            SupplyLink.objects.filter(customer_id__in=frontier, active=True).values_list("supplier_id", flat=True)
        )
        frontier = [a for a in upstream if a not in seen]
        seen.update(frontier)
    return target_id in seen


@transaction.atomic
def supply_link_create(
    *, actor: Any, supplier_id: int, customer_id: int, product_group: str | None = None
) -> SupplyLink:
    """``supplier`` supplies ``customer``. Both must be in the actor's scope; cycles are refused."""
    _require(actor, "customers.add_supplylink")
    first, second = sorted([supplier_id, customer_id])
    _scoped_account(actor, first)
    if second != first:
        _scoped_account(actor, second)
    if supplier_id == customer_id:
        raise ValidationFailed(_("客户不能给自己供货"), field="customer_id", code="supply_cycle")
    group_id = None
    if product_group:
        from jinggeng.catalog.models import Category

        group_id = Category.objects.filter(code=product_group).values_list("id", flat=True).first()
        if group_id is None:
            raise ValidationFailed(_("找不到产品组：%(code)s") % {"code": product_group}, field="product_group")
    if supply_chain_has_path(start_id=supplier_id, target_id=customer_id):
        raise ValidationFailed(
            _("不能建立该供货关系：进货方已直接或间接向供货方供货，会形成循环"),
            field="customer_id",
            code="supply_cycle",
        )
    if SupplyLink.objects.filter(supplier_id=supplier_id, customer_id=customer_id, product_group_id=group_id).exists():
        raise ValidationFailed(_("该供货关系已存在"), field="customer_id", code="supply_link_exists")
    link = SupplyLink.objects.create(supplier_id=supplier_id, customer_id=customer_id, product_group_id=group_id)
    audit_create(actor=actor, instance=link)
    return link


@transaction.atomic
def supply_link_delete(*, actor: Any, link_id: int) -> None:
    _require(actor, "customers.delete_supplylink")
    link = SupplyLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise NotFound(_("供货关系不存在"))
    try:
        _scoped_account(actor, link.customer_id, for_update=False)
        _scoped_account(actor, link.supplier_id, for_update=False)
    except NotFound:
        raise NotFound(_("供货关系不存在")) from None
    audit_delete(actor=actor, instance=link)
    link.delete()


@transaction.atomic
def supply_link_update(*, actor: Any, link_id: int, active: bool, expected_version: int | None = None) -> SupplyLink:
    """Switch a supply link on or off (history is kept; delete removes it)."""
    _require(actor, "customers.change_supplylink")
    link = SupplyLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise NotFound(_("供货关系不存在"))
    try:
        _scoped_account(actor, link.customer_id, for_update=False)
        _scoped_account(actor, link.supplier_id, for_update=False)
    except NotFound:
        raise NotFound(_("供货关系不存在")) from None
    if expected_version is not None and expected_version != link.version:
        raise Conflict(_("该供货关系已被他人修改，请刷新后重试"), code="version_conflict")
    if active and not link.active and supply_chain_has_path(start_id=link.supplier_id, target_id=link.customer_id):
        raise ValidationFailed(_("重新启用会形成供货循环"), field="active", code="supply_cycle")
    before = snapshot(link, ["active"])
    link.active = active
    link.version += 1
    link.save(update_fields=["active", "version", "updated_at"])
    audit_update(actor=actor, instance=link, before=before)
    return link
