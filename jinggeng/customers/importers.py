"""Import and export of accounts and contacts (``jinggeng import accounts …``).

Accounts are validated in batches with `account_clean` against lookups loaded once per batch
(`AccountLookups.preload`) and written with `accounts_bulk_upsert`, so 100,000 rows take a few
queries per thousand rows. A row with a known ``code`` updates that account (only the cells
filled in change); a row without a code always creates one. Suspected duplicates (same phone,
tax id, or name in the same city) do not refuse a row: they are listed as warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.core.errors import DomainError, ValidationFailed
from jinggeng.core.tabular.registry import register
from jinggeng.core.tabular.spec import (
    CREATE,
    UPDATE,
    Column,
    CommitResult,
    RowOutcome,
    SourceRow,
    refuse_with,
)
from jinggeng.customers import selectors, services
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account, Contact, CustomFieldDefinition
from jinggeng.org.models import Employee, OrgUnit

ACCOUNT_COLUMNS = (
    Column("code", gettext_lazy("客户编码"), "Account code", help=gettext_lazy("已存在的编码会更新该客户；留空则新建")),
    Column("name", gettext_lazy("客户名称"), "Account name", required=True),
    Column("short_name", gettext_lazy("简称"), "Short name"),
    Column(
        "account_type",
        gettext_lazy("客户类型"),
        "Account type",
        required=True,
        help=gettext_lazy("经销商 / 二批 / 终端 / 大客户 / 企业客户"),
    ),
    Column("channel_type", gettext_lazy("渠道类型"), "Channel type", help=gettext_lazy("渠道类型的编码或名称")),
    Column("grade", gettext_lazy("等级"), "Grade", help="A / B / C"),
    Column("credit_rating", gettext_lazy("信用评级"), "Credit rating", help="AAA / AA / A / B / C"),
    Column("credit_limit", gettext_lazy("信用额度"), "Credit limit"),
    Column("tax_id", gettext_lazy("税号"), "Tax ID", help=gettext_lazy("18 位统一社会信用代码")),
    Column("phone", gettext_lazy("电话"), "Phone"),
    Column("address", gettext_lazy("地址"), "Address"),
    Column(
        "division",
        gettext_lazy("行政区划代码"),
        "Division code",
        required=True,
        help=gettext_lazy("6 位 GB/T 2260 代码，如 310115"),
    ),
    Column("latitude", gettext_lazy("纬度"), "Latitude"),
    Column("longitude", gettext_lazy("经度"), "Longitude"),
    Column("owner", gettext_lazy("负责人"), "Owner", help=gettext_lazy("用户名或工号；留空为导入人")),
    Column("org_unit", gettext_lazy("所属组织编码"), "Org unit code"),
    Column("status", gettext_lazy("状态"), "Status", help=gettext_lazy("潜在 / 活跃 / 休眠 / 关闭")),
    Column("tags", gettext_lazy("标签"), "Tags", help=gettext_lazy("多个标签用逗号或顿号分隔")),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
CONTACT_COLUMNS = (
    Column("code", gettext_lazy("联系人编码"), "Contact code", help=gettext_lazy("已存在的编码会更新该联系人")),
    Column("account", gettext_lazy("客户编码"), "Account code", required=True),
    Column("name", gettext_lazy("姓名"), "Name", required=True),
    Column("role", gettext_lazy("职务"), "Title"),
    Column("phone", gettext_lazy("手机"), "Mobile"),
    Column("email", gettext_lazy("邮箱"), "Email"),
    Column("birthday", gettext_lazy("生日"), "Birthday", help="YYYY-MM-DD"),
    Column("is_primary", gettext_lazy("主要联系人"), "Primary contact", help=gettext_lazy("是 / 否")),
    Column("notes", gettext_lazy("备注"), "Notes"),
)


def _in_scope(scope: Any, account: Account) -> bool:
    return bool(
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    )


def _keep_equal_values(result: services.CleanedAccount, instance: Account) -> None:
    """Give values equal to the stored ones the stored representation (Decimal("5000") is
    Decimal("5000.00")), so re-importing an unchanged row records no change."""
    for key, value in result.values.items():
        current = getattr(instance, key, None)
        if value is not None and current is not None and value == current and value is not current:
            result.values[key] = current


def _custom_columns() -> list[Column]:
    columns = []
    seen: set[str] = set()
    for definition in CustomFieldDefinition.objects.filter(active=True).order_by("sort_order", "key"):
        if definition.key in seen:
            continue
        seen.add(definition.key)
        columns.append(
            Column(
                f"custom.{definition.key}",
                definition.label,
                definition.label_en or definition.label,
                required=False,
                help=definition.get_field_type_display(),
            )
        )
    return columns


class AccountSpec:
    entity = "accounts"
    verbose_name = gettext_lazy("客户")
    permissions = ("customers.import_account", "customers.add_account", "customers.change_account")
    identity = "code"
    batch_size = 5000
    dry_run_writes = False
    model = Account

    def columns(self) -> Sequence[Column]:
        return [*ACCOUNT_COLUMNS, *_custom_columns()]

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        lookups = services.AccountLookups.preload()
        scope = account_scope(actor)
        codes = [r.values["code"] for r in rows if r.values.get("code")]
        existing = {a.code: a for a in Account.objects.filter(code__in=codes)}
        outcomes: list[RowOutcome] = []
        cleaned: list[tuple[RowOutcome, services.CleanedAccount, SourceRow]] = []
        for row in rows:
            values = row.values
            outcome = RowOutcome(row=row.number, action=CREATE, label=values.get("name") or values.get("code", ""))
            outcomes.append(outcome)
            instance = existing.get(values.get("code", ""))
            if instance is not None:
                if not _in_scope(scope, instance):
                    outcome.refuse(
                        "code", _("客户编码已被您数据范围以外的客户使用：%(code)s") % {"code": instance.code}
                    )
                    continue
                if instance.merged_into_id:
                    outcome.refuse("code", _("该客户已被合并，不能再导入：%(code)s") % {"code": instance.code})
                    continue
                outcome.action = UPDATE
                outcome.label = values.get("name") or instance.name
            try:
                result = services.account_clean(actor=actor, data=dict(values), lookups=lookups, instance=instance)
            except ValidationFailed as exc:
                refuse_with(outcome, exc)
                continue
            if instance is not None:
                _keep_equal_values(result, instance)
            outcome.payload = result
            cleaned.append((outcome, result, row))
        if cleaned:
            self._warn_duplicates(cleaned)
        return outcomes

    def _warn_duplicates(self, cleaned: list[tuple[RowOutcome, services.CleanedAccount, SourceRow]]) -> None:
        found = services.accounts_find_duplicates_bulk(
            [c[1] for c in cleaned], row_numbers=[c[2].number for c in cleaned]
        )
        for index, messages in found.items():
            cleaned[index][0].warnings.extend(messages)

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        created, updated = services.accounts_bulk_upsert(actor=actor, rows=[o.payload for o in prepared])
        return CommitResult(created=created, updated=updated)


def _account_filters(actor: Any, filters: Mapping[str, str]) -> selectors.AccountFilters:
    owner: int | None = None
    raw_owner = (filters.get("owner") or "").strip()
    if raw_owner:
        if raw_owner.isdigit():
            owner = int(raw_owner)
        else:
            owner = (
                Employee.objects.filter(code=raw_owner).values_list("user_id", flat=True).first()
                or get_user_model().objects.filter(username=raw_owner).values_list("id", flat=True).first()
                or 0
            )
    unit: int | None = None
    raw_unit = (filters.get("org_unit") or "").strip()
    if raw_unit:
        unit = (
            int(raw_unit)
            if raw_unit.isdigit()
            else (OrgUnit.objects.filter(code=raw_unit).values_list("id", flat=True).first() or 0)
        )
    known = ("q", "name_contains", "account_type", "grade", "status", "division", "channel_type", "tag")
    custom = {k.removeprefix("custom."): v for k, v in filters.items() if k.startswith("custom.") and v}
    unknown = sorted(
        k
        for k in filters
        if k not in (*known, "owner", "org_unit", "sort", "cursor", "format") and not k.startswith("custom.")
    )
    if unknown:
        raise ValidationFailed(
            _("未知的筛选条件：%(names)s") % {"names": "、".join(unknown)}, field="filter", code="unknown_filter"
        )
    text = {k: (filters.get(k) or "").strip() for k in known}
    return selectors.AccountFilters(
        q=text["q"],
        name_contains=text["name_contains"],
        account_type=text["account_type"],
        grade=text["grade"],
        status=text["status"],
        division=text["division"],
        owner=owner,
        org_unit=unit,
        channel_type=text["channel_type"],
        tag=text["tag"],
        custom=custom,
    )


class AccountExportSpec:
    entity = "accounts"
    verbose_name = gettext_lazy("客户")
    permissions = ("customers.export_account",)

    def columns(self) -> Sequence[Column]:
        return [*ACCOUNT_COLUMNS, *_custom_columns()]

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        custom_keys = [c.key.removeprefix("custom.") for c in _custom_columns()]
        qs = selectors.account_export_rows(actor=actor, filters=_account_filters(actor, filters))
        for account in qs.iterator(chunk_size=2000):
            owner = account.owner
            owner_code = ""
            if owner is not None:
                employee = getattr(owner, "employee", None)
                owner_code = employee.code if employee is not None else owner.get_username()
            row: dict[str, Any] = {
                "code": account.code or "",
                "name": account.name,
                "short_name": account.short_name,
                "account_type": account.get_account_type_display(),
                "channel_type": str(account.channel_type) if account.channel_type else "",
                "grade": account.grade,
                "credit_rating": account.credit_rating,
                "credit_limit": account.credit_limit,
                "tax_id": account.tax_id,
                "phone": account.phone,
                "address": account.address,
                "division": account.division_id,
                "latitude": account.latitude,
                "longitude": account.longitude,
                "owner": owner_code,
                "org_unit": account.org_unit.code,
                "status": account.get_status_display(),
                "tags": "、".join(t.name for t in account.tags.all()),
                "notes": account.notes,
            }
            for key in custom_keys:
                row[f"custom.{key}"] = (account.custom or {}).get(key, "")
            yield row


class ContactSpec:
    entity = "contacts"
    verbose_name = gettext_lazy("联系人")
    permissions = ("customers.import_account", "customers.add_contact", "customers.change_contact")
    identity = "code"
    batch_size = 1000
    dry_run_writes = False
    model = Contact

    def columns(self) -> Sequence[Column]:
        return CONTACT_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        scope = account_scope(actor)
        account_codes = {r.values["account"] for r in rows if r.values.get("account")}
        accounts = {
            a.code: a
            for a in Account.objects.filter(code__in=account_codes).only("id", "code", "owner_id", "org_unit_id")
        }
        contact_codes = [r.values["code"] for r in rows if r.values.get("code")]
        contacts = {c.code: c for c in Contact.objects.filter(code__in=contact_codes).select_related("account")}
        outcomes = []
        for row in rows:
            values = dict(row.values)
            outcome = RowOutcome(row=row.number, action=CREATE, label=values.get("name", ""))
            outcomes.append(outcome)
            account = accounts.get(values.pop("account", ""))
            if account is None or not _in_scope(scope, account):
                outcome.refuse("account", _("找不到客户：%(code)s") % {"code": row.values.get("account", "")})
            instance = contacts.get(values.get("code", ""))
            if instance is not None:
                if not _in_scope(scope, instance.account):
                    outcome.refuse(
                        "code", _("联系人编码已被您数据范围以外的联系人使用：%(code)s") % {"code": instance.code}
                    )
                    continue
                outcome.action = UPDATE if not outcome.refused else outcome.action
            try:
                cleaned = services.contact_clean(data=values, instance=instance)
            except ValidationFailed as exc:
                refuse_with(outcome, exc)
                continue
            if not outcome.refused and account is not None:
                outcome.payload = (account.pk, instance.pk if instance else None, values, cleaned)
        return outcomes

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        for outcome in prepared:
            account_id, contact_id, data, _cleaned = outcome.payload
            try:
                with transaction.atomic():
                    if contact_id is None:
                        services.contact_create(actor=actor, account_id=account_id, data=data)
                        result.created += 1
                    else:
                        if (
                            account_id
                            != Contact.objects.filter(pk=contact_id).values_list("account_id", flat=True).first()
                        ):
                            raise ValidationFailed(_("导入不能把联系人移到另一个客户"), field="account")
                        version = Contact.objects.filter(pk=contact_id).values_list("version", flat=True).first()
                        contact = services.contact_update(actor=actor, contact_id=contact_id, data=data)
                        if contact.version != version:
                            result.updated += 1
            except DomainError as exc:
                refuse_with(outcome, exc)
            except IntegrityError as exc:
                outcome.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
        return result


class ContactExportSpec:
    entity = "contacts"
    verbose_name = gettext_lazy("联系人")
    permissions = ("customers.export_account", "customers.view_contact")

    def columns(self) -> Sequence[Column]:
        return CONTACT_COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        accounts = selectors.scoped_accounts(actor)
        if filters.get("account"):
            accounts = accounts.filter(code=filters["account"])
        qs = (
            Contact.objects.filter(account__in=accounts.values("id"))
            .select_related("account")
            .order_by("account__name", "name", "id")
        )
        q = (filters.get("q") or "").strip()
        if q:
            qs = qs.filter(name__startswith=q) | qs.filter(phone=q)
        for contact in qs.iterator(chunk_size=2000):
            yield {
                "code": contact.code or "",
                "account": contact.account.code or "",
                "name": contact.name,
                "role": contact.role,
                "phone": contact.phone,
                "email": contact.email,
                "birthday": contact.birthday,
                "is_primary": _("是") if contact.is_primary else _("否"),
                "notes": contact.notes,
            }


register(AccountSpec())
register(AccountExportSpec())
register(ContactSpec())
register(ContactExportSpec())
