"""Writes for order to cash: price lists, contracts, sales orders and their transitions,
approval rules, payment receipts and allocations, overdue alerts.

Every write checks the record is in the actor's data scope (else NotFound), then the actor's
permission (else PermissionDenied), validates before saving, and writes an audit record.
Order and payment creation are idempotent per user with an ``idempotency_key``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.catalog.models import Sku
from jinggeng.catalog.services import sku_convert, sku_unit_key
from jinggeng.core.audit import audit_create, audit_delete, audit_history, audit_record, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction
from jinggeng.core.notifications import notify
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account, AccountType, Grade
from jinggeng.orders.models import (
    RECEIVABLE_STATUSES,
    ApprovalRule,
    Contract,
    ContractAttachment,
    ContractStatus,
    OrderLine,
    OrderStatus,
    OrderTransition,
    PaymentAllocation,
    PaymentMethod,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)
from jinggeng.orders.pricing import list_specificity, plain, price_for, price_items_for
from jinggeng.org.models import Division, Employee, EmployeeStatus

User = get_user_model()
M = TypeVar("M", bound=models.Model)

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")

PRICELIST_FIELDS = [
    "code",
    "name",
    "valid_from",
    "valid_to",
    "account_type",
    "grade",
    "division",
    "priority",
    "active",
    "notes",
]
CONTRACT_FIELDS = ["account", "code", "title", "period_from", "period_to", "terms", "amount", "status"]
ORDER_FIELDS = ["account", "contract", "order_date", "payment_terms_days", "due_date", "notes"]
ORDER_STATE_FIELDS = [
    *ORDER_FIELDS,
    "status",
    "list_amount",
    "discount_amount",
    "total_amount",
    "approver",
    "needs_credit_approval",
    "approval_reasons",
    "approved_by",
    "version",
]
PAYMENT_FIELDS = ["received_on", "method", "reference", "notes", "amount"]

TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.DRAFT: (OrderStatus.SUBMITTED, OrderStatus.CANCELLED),
    OrderStatus.SUBMITTED: (OrderStatus.APPROVED, OrderStatus.DRAFT, OrderStatus.CANCELLED),
    OrderStatus.APPROVED: (OrderStatus.SHIPPED, OrderStatus.CANCELLED),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED,),
    OrderStatus.COMPLETED: (),
    OrderStatus.CANCELLED: (),
}


# --------------------------------------------------------------------------- small parsers


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"))


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _decimal(
    value: Any,
    name: str,
    errors: dict[str, list[str]],
    *,
    minimum: Decimal | None = None,
    strict: bool = False,
    maximum: Decimal | None = None,
    places: int = 2,
) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        _add(errors, name, _("请输入有效的数字"))
        return None
    if minimum is not None and (number <= minimum if strict else number < minimum):
        _add(
            errors,
            name,
            (_("必须大于 %(min)s") if strict else _("不能小于 %(min)s")) % {"min": minimum},
        )
        return None
    if maximum is not None and number > maximum:
        _add(errors, name, _("不能大于 %(max)s") % {"max": maximum})
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        _add(errors, name, _("最多 %(places)d 位小数") % {"places": places})
        return None
    return number


def _date(value: Any, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        _add(errors, name, _("请输入有效的日期（YYYY-MM-DD）"))
        return None


def _int(value: Any, name: str, errors: dict[str, list[str]], *, minimum: int = 0, maximum: int = 32767) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        _add(errors, name, _("请输入整数"))
        return None
    if number < minimum or number > maximum:
        _add(errors, name, _("应在 %(min)d 到 %(max)d 之间") % {"min": minimum, "max": maximum})
        return None
    return number


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fail(errors: dict[str, list[str]], message: str | None = None) -> None:
    if errors:
        raise ValidationFailed(message or _("提交的数据有误"), errors=errors)


def _version_conflict(instance: models.Model, expected: int, what: str) -> Conflict:
    """A 409 that names the fields changed since version ``expected`` and who changed them."""
    current = int(getattr(instance, "version", 0))
    fields: set[str] = set()
    by: list[str] = []
    for log in audit_history(entity=instance._meta.label_lower, entity_id=instance.pk)[:50]:
        version = (log.changes or {}).get("version")
        if not version or version[1] is None or int(version[1]) <= expected:
            continue
        fields.update(k for k in log.changes if k != "version")
        name = _person(log.actor)
        if name and name not in by:
            by.append(name)
    names = "、".join(sorted(fields)) or _("未知字段")
    return Conflict(
        _("%(what)s已被他人修改（当前版本 %(now)d，您提交的是 %(yours)d）；已变更：%(fields)s。请刷新后重试")
        % {"what": what, "now": current, "yours": expected, "fields": names},
        code="version_conflict",
        extra={"current_version": current, "changed_fields": sorted(fields), "changed_by": by},
    )


def _person(user: Any) -> str:
    if user is None:
        return ""
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


def _request_hash(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def _idempotent(model: type[M], *, actor: Any, key: str, request_hash: str, create: Callable[[], M]) -> tuple[M, bool]:
    """Run ``create`` unless this user already made a record with ``key``; then that record.

    The unique constraint on (created_by, idempotency_key) decides: a concurrent retry's insert
    fails, its savepoint rolls back, and it answers with the record the first request made.
    A key reused for a different request is refused (409 ``idempotency_key_reused``).
    """
    key = key.strip()[:100]
    if not key:
        return create(), True
    if len(key) < 8:
        raise ValidationFailed(_("Idempotency-Key 至少 8 个字符"), field="idempotency_key")
    existing = model._default_manager.filter(created_by=actor, idempotency_key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return create(), True
        except IntegrityError:
            existing = model._default_manager.filter(created_by=actor, idempotency_key=key).first()
            if existing is None:
                raise
    if getattr(existing, "request_hash", "") != request_hash:
        raise Conflict(
            _("该 Idempotency-Key 已用于另一个不同的请求"), code="idempotency_key_reused", field="idempotency_key"
        )
    return existing, False


def _account_in_scope(actor: Any, account_id: Any, *, field_name: str = "account_id") -> Account:
    """An account the actor may see; otherwise a validation error on ``field_name`` (the account
    is named by the input, so it is a bad input, not a missing page)."""
    try:
        pk = int(account_id)
    except (TypeError, ValueError):
        raise ValidationFailed(_("请选择客户"), field=field_name) from None
    scope = account_scope(actor)
    account = Account.objects.filter(pk=pk).select_related("division").first()
    if account is None or not (
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    ):
        raise ValidationFailed(_("客户不存在"), field=field_name)
    return account


def _in_scope(actor: Any, *, owner_id: int | None, unit_id: int | None, account_id: int | None) -> bool:
    scope = account_scope(actor)
    return bool(scope.everything or scope.allows(owner_id=owner_id, unit_id=unit_id) or account_id in scope.account_ids)


# --------------------------------------------------------------------------- price lists


def _pricelist_clean(data: Mapping[str, Any], instance: PriceList | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    current = snapshot(instance, PRICELIST_FIELDS) if instance else {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if given("code"):
        code = _text(data.get("code"))
        if not code:
            _add(errors, "code", _("请填写编码"))
        elif PriceList.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            _add(errors, "code", _("编码已存在：%(code)s") % {"code": code})
        values["code"] = code
    if given("name"):
        values["name"] = _text(data.get("name"))
        if not values["name"]:
            _add(errors, "name", _("请填写名称"))
    if given("valid_from"):
        values["valid_from"] = _date(data.get("valid_from"), "valid_from", errors)
        if values["valid_from"] is None and "valid_from" not in errors:
            _add(errors, "valid_from", _("请填写生效日期"))
    if given("valid_to"):
        values["valid_to"] = _date(data.get("valid_to"), "valid_to", errors)
    if given("account_type"):
        values["account_type"] = _text(data.get("account_type"))
        if values["account_type"] and values["account_type"] not in AccountType.values:
            _add(errors, "account_type", _("无效的客户类型：%(v)s") % {"v": values["account_type"]})
    if given("grade"):
        values["grade"] = _text(data.get("grade")).upper()
        if values["grade"] and values["grade"] not in Grade.values:
            _add(errors, "grade", _("无效的客户等级：%(v)s") % {"v": values["grade"]})
    if given("division"):
        values["division"] = _text(data.get("division"))
        if values["division"] and not Division.objects.filter(code=values["division"]).exists():
            _add(errors, "division", _("无效的行政区划代码：%(v)s") % {"v": values["division"]})
    if given("priority"):
        values["priority"] = _int(data.get("priority") or 0, "priority", errors, minimum=-1000, maximum=1000)
    if given("active"):
        values["active"] = bool(data.get("active", True))
    if given("notes"):
        values["notes"] = _text(data.get("notes"))
    start = values.get("valid_from", instance.valid_from if instance else None)
    end = values.get("valid_to", instance.valid_to if instance else None)
    if start and end and end < start and "valid_to" not in errors:
        _add(errors, "valid_to", _("失效日期不能早于生效日期"))
    _fail(errors, _("价格表资料有误"))
    merged = {**current, **values}
    values["specificity"] = list_specificity(
        account_type=merged.get("account_type") or "",
        grade=merged.get("grade") or "",
        division=merged.get("division") or "",
    )
    return values


@transaction.atomic
def pricelist_create(*, actor: Any, data: Mapping[str, Any]) -> PriceList:
    _require(actor, "orders.add_pricelist")
    values = _pricelist_clean(data, None)
    price_list = PriceList.objects.create(**values)
    audit_create(actor=actor, instance=price_list)
    return price_list


def _locked_pricelist(price_list_id: int) -> PriceList:
    price_list = PriceList.objects.select_for_update().filter(pk=price_list_id).first()
    if price_list is None:
        raise NotFound(_("价格表不存在"))
    return price_list


@transaction.atomic
def pricelist_update(
    *, actor: Any, price_list_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> PriceList:
    price_list = _locked_pricelist(price_list_id)
    _require(actor, "orders.change_pricelist")
    if expected_version is not None and expected_version != price_list.version:
        raise _version_conflict(price_list, expected_version, _("该价格表"))
    before = snapshot(price_list, [*PRICELIST_FIELDS, "version"])
    values = _pricelist_clean(data, price_list)
    for key, value in values.items():
        setattr(price_list, key, value)
    if snapshot(price_list, PRICELIST_FIELDS) == {k: before[k] for k in PRICELIST_FIELDS}:
        return price_list
    price_list.version += 1
    price_list.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=price_list, before=before)
    return price_list


@transaction.atomic
def pricelist_delete(*, actor: Any, price_list_id: int) -> None:
    price_list = _locked_pricelist(price_list_id)
    _require(actor, "orders.delete_pricelist")
    audit_delete(actor=actor, instance=price_list)
    price_list.delete()


def _item_clean(data: Mapping[str, Any], instance: PriceListItem | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "sku" in data or "sku_id" in data or instance is None:
        sku = _sku(data.get("sku_id", data.get("sku")), "sku", errors)
        if sku is not None:
            values["sku"] = sku
    if "price" in data or instance is None:
        price = _decimal(data.get("price"), "price", errors, minimum=ZERO)
        if price is None and "price" not in errors:
            _add(errors, "price", _("请填写单价"))
        values["price"] = price
    if "min_quantity" in data or instance is None:
        values["min_quantity"] = (
            _decimal(data.get("min_quantity"), "min_quantity", errors, minimum=ZERO, places=3) or ZERO
        )
    _fail(errors, _("价格表明细有误"))
    return values


def _sku(value: Any, name: str, errors: dict[str, list[str]], known: Mapping[str, Sku] | None = None) -> Sku | None:
    text = _text(value)
    if not text:
        _add(errors, name, _("请选择 SKU"))
        return None
    if known is not None:
        sku = known.get(text)
    else:  # a code wins over an id
        sku = Sku.objects.filter(code=text).first()
        if sku is None and text.isdigit():
            sku = Sku.objects.filter(pk=int(text)).first()
    if sku is None:
        _add(errors, name, _("SKU 不存在：%(v)s") % {"v": text})
    return sku


def _unique_item(price_list_id: int, values: Mapping[str, Any], exclude: int | None) -> None:
    clash = PriceListItem.objects.filter(
        price_list_id=price_list_id, sku=values["sku"], min_quantity=values["min_quantity"]
    ).exclude(pk=exclude or 0)
    if clash.exists():
        raise ValidationFailed(_("该 SKU 在此起订数量的价格已存在"), field="sku", code="duplicate_item")


@transaction.atomic
def pricelist_item_create(*, actor: Any, price_list_id: int, data: Mapping[str, Any]) -> PriceListItem:
    price_list = _locked_pricelist(price_list_id)
    _require(actor, "orders.change_pricelist")
    values = _item_clean(data, None)
    _unique_item(price_list.pk, values, None)
    item = PriceListItem.objects.create(price_list=price_list, **values)
    audit_create(actor=actor, instance=item)
    return item


@transaction.atomic
def pricelist_item_update(
    *, actor: Any, item_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> PriceListItem:
    item = PriceListItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("价格表明细不存在"))
    _require(actor, "orders.change_pricelist")
    if expected_version is not None and expected_version != item.version:
        raise _version_conflict(item, expected_version, _("该价格"))
    before = snapshot(item, ["sku", "price", "min_quantity", "version"])
    values = _item_clean(data, item)
    for key, value in values.items():
        setattr(item, key, value)
    _unique_item(item.price_list_id, {"sku": item.sku, "min_quantity": item.min_quantity}, item.pk)
    item.version += 1
    item.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=item, before=before)
    return item


@transaction.atomic
def pricelist_item_delete(*, actor: Any, item_id: int) -> None:
    item = PriceListItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("价格表明细不存在"))
    _require(actor, "orders.change_pricelist")
    audit_delete(actor=actor, instance=item)
    item.delete()


# --------------------------------------------------------------------------- contracts

ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF",)),
    "png": ("image/png", (b"\x89PNG",)),
    "jpg": ("image/jpeg", (b"\xff\xd8",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
}


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ORDERS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def _locked_contract(actor: Any, contract_id: int) -> Contract:
    contract = Contract.objects.select_for_update().filter(pk=contract_id).select_related("account").first()
    if contract is None or not _in_scope(
        actor, owner_id=contract.account.owner_id, unit_id=contract.account.org_unit_id, account_id=contract.account_id
    ):
        raise NotFound(_("合同不存在"))
    return contract


def _contract_clean(actor: Any, data: Mapping[str, Any], instance: Contract | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if instance is None or "account_id" in data:
        try:
            values["account"] = _account_in_scope(actor, data.get("account_id"))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if given("code"):
        code = _text(data.get("code"))
        if not code:
            _add(errors, "code", _("请填写合同编号"))
        elif Contract.objects.filter(code=code).exclude(pk=instance.pk if instance else 0).exists():
            _add(errors, "code", _("合同编号已存在：%(code)s") % {"code": code})
        values["code"] = code
    if given("title"):
        values["title"] = _text(data.get("title"))
    for name in ("period_from", "period_to"):
        if given(name):
            values[name] = _date(data.get(name), name, errors)
            if values[name] is None and name not in errors:
                _add(errors, name, _("请填写日期"))
    if given("terms"):
        values["terms"] = _text(data.get("terms"))
    if given("amount"):
        values["amount"] = _decimal(data.get("amount") or 0, "amount", errors, minimum=ZERO)
    if given("status"):
        status = _text(data.get("status")) or ContractStatus.DRAFT
        if status not in ContractStatus.values:
            _add(errors, "status", _("无效的状态：%(v)s") % {"v": status})
        values["status"] = status
    start = values.get("period_from", instance.period_from if instance else None)
    end = values.get("period_to", instance.period_to if instance else None)
    if start and end and end < start and "period_to" not in errors:
        _add(errors, "period_to", _("结束日期不能早于开始日期"))
    _fail(errors, _("合同资料有误"))
    return values


@transaction.atomic
def contract_create(*, actor: Any, data: Mapping[str, Any]) -> Contract:
    _require(actor, "orders.add_contract")
    values = _contract_clean(actor, data, None)
    contract = Contract.objects.create(**values)
    audit_create(actor=actor, instance=contract)
    return contract


@transaction.atomic
def contract_update(
    *, actor: Any, contract_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Contract:
    contract = _locked_contract(actor, contract_id)
    _require(actor, "orders.change_contract")
    if expected_version is not None and expected_version != contract.version:
        raise _version_conflict(contract, expected_version, _("该合同"))
    before = snapshot(contract, [*CONTRACT_FIELDS, "version"])
    values = _contract_clean(actor, data, contract)
    if "account" in values and values["account"].pk != contract.account_id and contract.orders.exists():
        raise ValidationFailed(_("合同已有订单，不能更换客户"), field="account_id")
    for key, value in values.items():
        setattr(contract, key, value)
    contract.version += 1
    contract.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=contract, before=before)
    return contract


@transaction.atomic
def contract_delete(*, actor: Any, contract_id: int) -> None:
    contract = _locked_contract(actor, contract_id)
    _require(actor, "orders.delete_contract")
    if contract.orders.exists():
        raise ValidationFailed(_("合同已有订单，不能删除；请改为“已终止”"), field="status", code="contract_in_use")
    for attachment in contract.attachments.all():
        attachment.file.delete(save=False)
    audit_delete(actor=actor, instance=contract)
    contract.delete()


@transaction.atomic
def contract_attach(*, actor: Any, contract_id: int, upload: UploadedFile[Any]) -> ContractAttachment:
    """Store an attachment through Django's storage after checking its size and type (by the
    extension and by the file's first bytes)."""
    contract = _locked_contract(actor, contract_id)
    _require(actor, "orders.change_contract")
    name = (upload.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    size = int(upload.size or 0)
    if size <= 0:
        raise ValidationFailed(_("文件为空"), field="file", code="empty_file")
    if size > attachment_max_bytes():
        raise ValidationFailed(
            _("文件过大（%(size)d KB），上限 %(max)d KB")
            % {"size": size // 1024, "max": attachment_max_bytes() // 1024},
            field="file",
            code="file_too_large",
        )
    if extension not in ATTACHMENT_TYPES:
        raise ValidationFailed(
            _("不支持的文件类型：%(ext)s（可用：%(allowed)s）")
            % {"ext": extension or "—", "allowed": "、".join(sorted(ATTACHMENT_TYPES))},
            field="file",
            code="file_type",
        )
    content_type, magics = ATTACHMENT_TYPES[extension]
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(m) for m in magics):
        raise ValidationFailed(_("文件内容与扩展名 %(ext)s 不符") % {"ext": extension}, field="file", code="file_type")
    attachment = ContractAttachment(
        contract=contract, name=name, size=size, content_type=content_type, uploaded_by=actor
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=contract,
        changes={"attachments": [None, name]},
    )
    return attachment


@transaction.atomic
def contract_attachment_delete(*, actor: Any, attachment_id: int) -> None:
    attachment = ContractAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("附件不存在"))
    contract = _locked_contract(actor, attachment.contract_id)
    _require(actor, "orders.change_contract")
    name = attachment.name
    path = attachment.file.name
    storage = attachment.file.storage
    attachment.delete()
    if path:
        transaction.on_commit(lambda: storage.delete(path))
    audit_record(actor=actor, action=AuditAction.UPDATE, instance=contract, changes={"attachments": [name, None]})


# --------------------------------------------------------------------------- order lines


@dataclass
class CleanLine:
    sku: Sku
    unit: str
    quantity: Decimal
    quantity_pieces: Decimal
    list_price: Decimal
    price_list: PriceList | None
    price_reason: str
    discount_percent: Decimal
    net_price: Decimal
    line_total: Decimal

    def summary(self) -> str:
        return f"{self.sku.code} × {plain(self.quantity)} {self.unit} @ {self.net_price}"


@dataclass
class _LineLookups:
    """SKUs (by code and by id as text) and their price-list items, fetched once for all the
    lines of an order."""

    skus: dict[str, Sku]
    prices: dict[int, tuple[PriceListItem, ...]]


def _line_lookups(*, account: Account, on_date: dt.date, rows: Sequence[Any]) -> _LineLookups:
    texts = {_text(row.get("sku_id", row.get("sku"))) for row in rows if isinstance(row, Mapping)} - {""}
    codes = sorted(texts)
    ids = sorted(int(t) for t in texts if t.isdigit())
    query = Q(code__in=codes) | Q(pk__in=ids)
    skus: dict[str, Sku] = {}
    found = list(Sku.objects.filter(query)) if texts else []
    for sku in found:  # a code wins over an id, as in _sku
        skus.setdefault(str(sku.pk), sku)
    for sku in found:
        skus[sku.code] = sku
    prices = price_items_for(account=account, on_date=on_date, sku_ids=[s.pk for s in found]) if found else {}
    return _LineLookups(skus={t: skus[t] for t in texts if t in skus}, prices=prices)


def line_clean(
    *,
    account: Account,
    on_date: dt.date,
    data: Mapping[str, Any],
    prefix: str,
    errors: dict[str, list[str]],
    lookups: _LineLookups | None = None,
) -> CleanLine | None:
    """One order line: SKU, unit (piece / pack / case or the SKU's unit names), quantity > 0,
    discount 0–100 %, list price from `price_for` unless given (never below zero)."""
    before = len(errors)
    sku = _sku(data.get("sku_id", data.get("sku")), f"{prefix}sku", errors, known=lookups.skus if lookups else None)
    quantity = _decimal(data.get("quantity"), f"{prefix}quantity", errors, minimum=ZERO, strict=True, places=3)
    if quantity is None and f"{prefix}quantity" not in errors:
        _add(errors, f"{prefix}quantity", _("请填写数量"))
    discount = _decimal(
        data.get("discount_percent") or 0, f"{prefix}discount_percent", errors, minimum=ZERO, maximum=HUNDRED
    )
    manual_price = _decimal(data.get("list_price"), f"{prefix}list_price", errors, minimum=ZERO)
    unit_key = ""
    unit = _text(data.get("unit")) or "piece"
    if sku is not None:
        try:
            unit_key = sku_unit_key(sku, unit)
        except ValidationFailed as exc:
            _add(errors, f"{prefix}unit", exc.message)
    if len(errors) > before or sku is None or quantity is None or discount is None:
        return None
    pieces = sku_convert(sku=sku, quantity=quantity, from_unit=unit_key, to_unit="piece")
    if manual_price is not None:
        list_price, price_list, reason = manual_price, None, _("手工价格")
    else:
        quote = price_for(
            account=account,
            sku=sku,
            on_date=on_date,
            quantity_pieces=pieces,
            candidates=lookups.prices.get(sku.pk, ()) if lookups else None,
        )
        list_price, price_list, reason = quote.price, quote.price_list, quote.reason
    net_price = _money(list_price * (HUNDRED - discount) / HUNDRED)
    return CleanLine(
        sku=sku,
        unit=unit_key,
        quantity=quantity,
        quantity_pieces=pieces,
        list_price=list_price,
        price_list=price_list,
        price_reason=reason[:200],
        discount_percent=discount,
        net_price=net_price,
        line_total=_money(net_price * pieces),
    )


def _lines_clean(*, account: Account, on_date: dt.date, lines: Any, errors: dict[str, list[str]]) -> list[CleanLine]:
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes):
        _add(errors, "lines", _("订单行格式有误"))
        return []
    cleaned = []
    lookups = _line_lookups(account=account, on_date=on_date, rows=lines)
    for index, row in enumerate(lines):
        if not isinstance(row, Mapping):
            _add(errors, f"lines.{index}", _("订单行格式有误"))
            continue
        line = line_clean(
            account=account, on_date=on_date, data=row, prefix=f"lines.{index}.", errors=errors, lookups=lookups
        )
        if line is not None:
            cleaned.append(line)
    return cleaned


def _lines_state(order: SalesOrder) -> list[str]:
    return [
        f"{ln.sku.code} × {plain(ln.quantity)} {ln.unit} @ {ln.net_price}"
        for ln in order.lines.select_related("sku").order_by("line_no")
    ]


def _order_state(order: SalesOrder) -> dict[str, Any]:
    state = snapshot(order, ORDER_STATE_FIELDS)
    state["lines"] = _lines_state(order) if order.pk else []
    return state


def _write_lines(order: SalesOrder, lines: list[CleanLine]) -> None:
    order.lines.all().delete()
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                line_no=i,
                sku=ln.sku,
                unit=ln.unit,
                quantity=ln.quantity,
                quantity_pieces=ln.quantity_pieces,
                list_price=ln.list_price,
                price_list=ln.price_list,
                price_reason=ln.price_reason,
                discount_percent=ln.discount_percent,
                net_price=ln.net_price,
                line_total=ln.line_total,
            )
            for i, ln in enumerate(lines, start=1)
        ]
    )


def _recompute_totals(order: SalesOrder) -> None:
    rows = list(order.lines.values_list("list_price", "quantity_pieces", "line_total"))
    order.list_amount = sum((_money(p * q) for p, q, _t in rows), ZERO)
    order.total_amount = sum((t for _p, _q, t in rows), ZERO)
    order.discount_amount = order.list_amount - order.total_amount


# --------------------------------------------------------------------------- orders


def _order_header(actor: Any, data: Mapping[str, Any], instance: SalesOrder | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if instance is None or "account_id" in data:
        try:
            values["account"] = _account_in_scope(actor, data.get("account_id"))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    account = values.get("account", instance.account if instance else None)
    if given("order_date"):
        values["order_date"] = _date(data.get("order_date"), "order_date", errors) or timezone.localdate()
    if given("payment_terms_days"):
        terms = data.get("payment_terms_days")
        values["payment_terms_days"] = (
            _int(terms, "payment_terms_days", errors, minimum=0, maximum=3650)
            if terms not in (None, "")
            else int(getattr(settings, "ORDERS_PAYMENT_TERMS_DAYS", 30))
        )
    if given("contract_id"):
        contract_id = data.get("contract_id")
        values["contract"] = None
        if contract_id not in (None, ""):
            contract = Contract.objects.filter(pk=_int(contract_id, "contract_id", errors, maximum=2**31) or 0).first()
            if contract is None or (account is not None and contract.account_id != account.pk):
                _add(errors, "contract_id", _("合同不存在或不属于该客户"))
            elif contract.status not in (ContractStatus.ACTIVE, ContractStatus.DRAFT):
                _add(errors, "contract_id", _("合同状态为“%(s)s”，不能下单") % {"s": contract.get_status_display()})
            else:
                values["contract"] = contract
    elif (
        account is not None
        and instance is not None
        and instance.contract is not None
        and instance.contract.account_id != account.pk
    ):
        _add(errors, "contract_id", _("合同不存在或不属于该客户"))
    if given("notes"):
        values["notes"] = _text(data.get("notes"))
    _fail(errors, _("订单资料有误"))
    order_date = values.get("order_date", instance.order_date if instance else None)
    terms_days = values.get("payment_terms_days", instance.payment_terms_days if instance else 30)
    if order_date is not None:
        values["due_date"] = order_date + dt.timedelta(days=terms_days or 0)
    return values


def _order_number(prefix: str, day: dt.date, pk: int) -> str:
    return f"{prefix}{day:%Y%m%d}{pk:07d}"


def order_create(*, actor: Any, data: Mapping[str, Any], idempotency_key: str = "") -> tuple[SalesOrder, bool]:
    """Create a draft order with its lines. Returns (order, created): with an
    ``idempotency_key`` already used by this actor, the first order and False."""
    _require(actor, "orders.add_salesorder")
    with transaction.atomic():
        return _idempotent(
            SalesOrder,
            actor=actor,
            key=idempotency_key,
            request_hash=_request_hash(data),
            create=lambda: _order_create(actor=actor, data=data, key=idempotency_key),
        )


def _order_create(*, actor: Any, data: Mapping[str, Any], key: str) -> SalesOrder:
    values = _order_header(actor, data, None)
    account: Account = values["account"]
    errors: dict[str, list[str]] = {}
    lines = _lines_clean(account=account, on_date=values["order_date"], lines=data.get("lines") or [], errors=errors)
    _fail(errors, _("订单行有误"))
    order = SalesOrder(
        **values,
        number=uuid.uuid4().hex[:20],
        owner_id=account.owner_id or actor.pk,
        org_unit_id=account.org_unit_id,
        created_by=actor,
        idempotency_key=key.strip()[:100],
        request_hash=_request_hash(data) if key.strip() else "",
    )
    order.save()
    order.number = _order_number("SO", order.order_date, order.pk)
    _write_lines(order, lines)
    _recompute_totals(order)
    order.save(update_fields=["number", "list_amount", "discount_amount", "total_amount"])
    OrderTransition.objects.create(order=order, from_status="", to_status=OrderStatus.DRAFT, by=actor)
    audit_create(actor=actor, instance=order, extra={"lines": [ln.summary() for ln in lines]})
    return order


def _locked_order(actor: Any, order_id: int) -> SalesOrder:
    order = SalesOrder.objects.select_for_update().filter(pk=order_id).first()
    if order is None or not _in_scope(
        actor, owner_id=order.owner_id, unit_id=order.org_unit_id, account_id=order.account_id
    ):
        raise NotFound(_("订单不存在"))
    return order


def _check_version(order: SalesOrder, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != order.version:
        raise _version_conflict(order, expected_version, _("该订单"))


def _require_draft(order: SalesOrder) -> None:
    if order.status != OrderStatus.DRAFT:
        raise ValidationFailed(
            _("订单状态为“%(s)s”，只有草稿可以修改") % {"s": order.get_status_display()},
            field="status",
            code="order_not_editable",
        )


@transaction.atomic
def order_update(
    *, actor: Any, order_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> SalesOrder:
    """Change a draft order's header and, when ``lines`` is given, replace its lines."""
    order = _locked_order(actor, order_id)
    _require(actor, "orders.change_salesorder")
    _check_version(order, expected_version)
    _require_draft(order)
    before = _order_state(order)
    values = _order_header(actor, data, order)
    if "account" in values and values["account"].pk != order.account_id:
        values["owner_id"] = values["account"].owner_id or order.owner_id
        values["org_unit_id"] = values["account"].org_unit_id
    for key, value in values.items():
        setattr(order, key, value)
    reprice = "lines" in data or {"account", "order_date"} & set(values)
    if "lines" in data:
        errors: dict[str, list[str]] = {}
        lines = _lines_clean(account=order.account, on_date=order.order_date, lines=data["lines"], errors=errors)
        _fail(errors, _("订单行有误"))
        _write_lines(order, lines)
    elif reprice:
        _reprice_lines(order)
    _recompute_totals(order)
    if _order_state(order) == before:
        return order
    order.version += 1
    fields = {("owner" if k == "owner_id" else "org_unit" if k == "org_unit_id" else k) for k in values}
    order.save(update_fields=[*fields, "list_amount", "discount_amount", "total_amount", "version", "updated_at"])
    audit_update(actor=actor, instance=order, before=before, after=_order_state(order))
    return order


def _reprice_lines(order: SalesOrder) -> None:
    """Look the prices up again (the account or date changed); manual prices stay."""
    for line in order.lines.select_related("sku"):
        if line.price_reason == _("手工价格"):
            continue
        quote = price_for(
            account=order.account, sku=line.sku, on_date=order.order_date, quantity_pieces=line.quantity_pieces
        )
        line.list_price, line.price_list, line.price_reason = quote.price, quote.price_list, quote.reason[:200]
        line.net_price = _money(line.list_price * (HUNDRED - line.discount_percent) / HUNDRED)
        line.line_total = _money(line.net_price * line.quantity_pieces)
        line.save(update_fields=["list_price", "price_list", "price_reason", "net_price", "line_total"])


def _line_change(
    *, actor: Any, order_id: int, expected_version: int | None, change: Callable[[SalesOrder], None]
) -> SalesOrder:
    order = _locked_order(actor, order_id)
    _require(actor, "orders.change_salesorder")
    _check_version(order, expected_version)
    _require_draft(order)
    before = _order_state(order)
    change(order)
    _recompute_totals(order)
    order.version += 1
    order.save(update_fields=["list_amount", "discount_amount", "total_amount", "version", "updated_at"])
    audit_update(actor=actor, instance=order, before=before, after=_order_state(order))
    return order


@transaction.atomic
def order_line_add(
    *, actor: Any, order_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> SalesOrder:
    def change(order: SalesOrder) -> None:
        errors: dict[str, list[str]] = {}
        line = line_clean(account=order.account, on_date=order.order_date, data=data, prefix="", errors=errors)
        _fail(errors, _("订单行有误"))
        assert line is not None
        last = order.lines.aggregate(n=models.Max("line_no"))["n"] or 0
        OrderLine.objects.create(
            order=order,
            line_no=last + 1,
            sku=line.sku,
            unit=line.unit,
            quantity=line.quantity,
            quantity_pieces=line.quantity_pieces,
            list_price=line.list_price,
            price_list=line.price_list,
            price_reason=line.price_reason,
            discount_percent=line.discount_percent,
            net_price=line.net_price,
            line_total=line.line_total,
        )

    return _line_change(actor=actor, order_id=order_id, expected_version=expected_version, change=change)


@transaction.atomic
def order_line_update(
    *, actor: Any, order_id: int, line_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> SalesOrder:
    def change(order: SalesOrder) -> None:
        line = order.lines.select_related("sku").filter(pk=line_id).first()
        if line is None:
            raise NotFound(_("订单行不存在"))
        merged = {
            "sku_id": line.sku_id,
            "unit": line.unit,
            "quantity": line.quantity,
            "discount_percent": line.discount_percent,
            **({"list_price": line.list_price} if line.price_reason == _("手工价格") else {}),
            **data,
        }
        errors: dict[str, list[str]] = {}
        clean = line_clean(account=order.account, on_date=order.order_date, data=merged, prefix="", errors=errors)
        _fail(errors, _("订单行有误"))
        assert clean is not None
        for name in (
            "sku",
            "unit",
            "quantity",
            "quantity_pieces",
            "list_price",
            "price_list",
            "price_reason",
            "discount_percent",
            "net_price",
            "line_total",
        ):
            setattr(line, name, getattr(clean, name))
        line.save()

    return _line_change(actor=actor, order_id=order_id, expected_version=expected_version, change=change)


@transaction.atomic
def order_line_delete(*, actor: Any, order_id: int, line_id: int, expected_version: int | None = None) -> SalesOrder:
    def change(order: SalesOrder) -> None:
        deleted, _detail = order.lines.filter(pk=line_id).delete()
        if not deleted:
            raise NotFound(_("订单行不存在"))

    return _line_change(actor=actor, order_id=order_id, expected_version=expected_version, change=change)


@transaction.atomic
def order_delete(*, actor: Any, order_id: int) -> None:
    order = _locked_order(actor, order_id)
    _require(actor, "orders.delete_salesorder")
    _require_draft(order)
    audit_delete(actor=actor, instance=order)
    order.delete()


# --------------------------------------------------------------------------- approval


def manager_chain(user: Any, *, limit: int = 20) -> list[Employee]:
    """The active managers above ``user``: direct manager first."""
    chain: list[Employee] = []
    employee = (
        Employee.objects.select_related("manager__role", "manager__user")
        .filter(user_id=getattr(user, "pk", user))
        .first()
    )
    seen: set[int] = set()
    current = employee.manager if employee else None
    while current is not None and current.pk not in seen and len(chain) < limit:
        seen.add(current.pk)
        if current.status == EmployeeStatus.ACTIVE:
            chain.append(current)
        current = (
            Employee.objects.select_related("manager__role", "manager__user").get(pk=current.pk).manager
            if current.manager_id
            else None
        )
    return chain


@dataclass
class ApprovalDecision:
    """What an order needs at submission: the reasons, the manager it is routed to, whether
    the approver needs the over-credit right, and a refusal (credit policy "refuse")."""

    reasons: list[str] = field(default_factory=list)
    approver: Any = None
    needs_credit: bool = False
    refusal: str = ""

    @property
    def needed(self) -> bool:
        return bool(self.reasons)


def account_open_receivables(account_id: int, *, exclude_order: int | None = None) -> Decimal:
    qs = SalesOrder.objects.filter(account_id=account_id, status__in=RECEIVABLE_STATUSES)
    if exclude_order:
        qs = qs.exclude(pk=exclude_order)
    total = qs.aggregate(open=Sum(models.F("total_amount") - models.F("allocated_amount")))["open"]
    return _money(Decimal(total or 0))


def credit_policy() -> str:
    policy = str(getattr(settings, "ORDERS_CREDIT_POLICY", "approve"))
    return policy if policy in ("approve", "refuse") else "approve"


def order_approval_decide(order: SalesOrder) -> ApprovalDecision:
    """Match the active approval rules and the credit check against ``order``.

    A rule matches when every condition it sets holds: total > ``min_amount``, largest line
    discount > ``min_discount_percent``. Each match routes to a manager of the owner (by role or
    level); the most senior of them approves. Credit: open receivables of the account + this
    order > its credit limit (a limit of 0 means no limit is set) → the approver must hold
    ``orders.approve_over_credit`` (the first such manager in the chain), or, with
    ``ORDERS_CREDIT_POLICY = "refuse"``, the order is refused.
    """
    decision = ApprovalDecision()
    chain = manager_chain(order.owner_id)
    max_discount = order.lines.aggregate(m=models.Max("discount_percent"))["m"] or ZERO
    rank = -1
    for rule in ApprovalRule.objects.filter(active=True).order_by("id"):
        if rule.min_amount is None and rule.min_discount_percent is None:
            continue
        texts = []
        if rule.min_amount is not None:
            if order.total_amount <= rule.min_amount:
                continue
            texts.append(
                _("金额 %(total)s 超过 %(limit)s") % {"total": order.total_amount, "limit": plain(rule.min_amount)}
            )
        if rule.min_discount_percent is not None:
            if max_discount <= rule.min_discount_percent:
                continue
            texts.append(
                _("折扣 %(d)s%% 超过 %(limit)s%%")
                % {"d": plain(max_discount), "limit": plain(rule.min_discount_percent)}
            )
        index = _route(chain, rule)
        target = chain[index].name if index >= 0 else _("（无上级，需有审批权限者）")
        decision.reasons.append(
            _("%(what)s（规则“%(rule)s”，由 %(who)s 审批）")
            % {"what": "，".join(texts), "rule": rule.name, "who": target}
        )
        rank = max(rank, index)
    limit = order.account.credit_limit
    if limit and limit > 0:
        open_amount = account_open_receivables(order.account_id, exclude_order=order.pk)
        if open_amount + order.total_amount > limit:
            text = _("信用：未结应收 %(open)s + 本单 %(total)s 超过信用额度 %(limit)s") % {
                "open": open_amount,
                "total": order.total_amount,
                "limit": limit,
            }
            if credit_policy() == "refuse":
                decision.refusal = text
                return decision
            decision.needs_credit = True
            credit_index = next((i for i, e in enumerate(chain) if e.user.has_perm("orders.approve_over_credit")), -1)
            decision.reasons.append(text)
            rank = max(rank, credit_index)
    if decision.reasons and rank >= 0:
        decision.approver = chain[rank].user
    return decision


def _route(chain: list[Employee], rule: ApprovalRule) -> int:
    if not chain:
        return -1
    if rule.approver_role:
        for i, employee in enumerate(chain):
            if employee.role.code == rule.approver_role:
                return i
        return len(chain) - 1
    level = rule.manager_level or 1
    return min(level, len(chain)) - 1


def can_approve(actor: Any, order: SalesOrder) -> bool:
    """The routed approver or anyone above them in the manager chain, with the approval right
    (and the over-credit right when needed); never the owner for their own order unless they
    are the routed approver."""
    if not actor.has_perm("orders.approve_salesorder"):
        return False
    if order.needs_credit_approval and not actor.has_perm("orders.approve_over_credit"):
        return False
    if order.approver_id is None:
        return bool(actor.pk != order.owner_id or actor.is_superuser)
    if actor.pk == order.approver_id or actor.is_superuser:
        return True
    return any(e.user_id == actor.pk for e in manager_chain(order.approver_id))


def _transition(order: SalesOrder, *, actor: Any, to: str, note: str = "") -> None:
    if to not in TRANSITIONS[order.status]:
        raise ValidationFailed(
            _("订单状态为“%(from)s”，不能变为“%(to)s”")
            % {"from": order.get_status_display(), "to": OrderStatus(to).label},
            field="status",
            code="invalid_transition",
        )
    OrderTransition.objects.create(order=order, from_status=order.status, to_status=to, by=actor, note=note[:500])
    order.status = to


def _save_state(order: SalesOrder, *, actor: Any, before: Mapping[str, Any], fields: list[str], note: str) -> None:
    order.version += 1
    order.save(update_fields=[*fields, "status", "version", "updated_at"])
    audit_update(actor=actor, instance=order, before=before, after=_order_state(order), reason=note)


def _order_link(order: SalesOrder) -> str:
    return f"/orders/{order.pk}/"


@transaction.atomic
def order_submit(*, actor: Any, order_id: int, expected_version: int | None = None, note: str = "") -> SalesOrder:
    """Submit a draft: decide the approval it needs and route it. Without one it is approved
    at once ("无需审批"); with credit policy "refuse" an order over the limit is refused."""
    order = _locked_order(actor, order_id)
    _require(actor, "orders.change_salesorder")
    _check_version(order, expected_version)
    if order.status != OrderStatus.DRAFT:
        _transition(order, actor=actor, to=OrderStatus.SUBMITTED)  # raises invalid_transition
    if not order.lines.exists():
        raise ValidationFailed(_("订单没有任何明细行"), field="lines", code="order_empty")
    Account.objects.select_for_update().filter(pk=order.account_id).first()  # one credit check at a time
    decision = order_approval_decide(order)
    if decision.refusal:
        raise ValidationFailed(
            decision.refusal + _("；按设置拒绝提交"), field="total_amount", code="credit_limit_exceeded"
        )
    before = _order_state(order)
    _transition(order, actor=actor, to=OrderStatus.SUBMITTED, note=note)
    order.submitted_at = timezone.now()
    order.approval_reasons = decision.reasons
    order.approver = decision.approver
    order.needs_credit_approval = decision.needs_credit
    fields = ["submitted_at", "approval_reasons", "approver", "needs_credit_approval"]
    if not decision.needed:
        _transition(order, actor=actor, to=OrderStatus.APPROVED, note=_("无需审批"))
        order.approved_at = timezone.now()
        fields.append("approved_at")
    _save_state(order, actor=actor, before=before, fields=fields, note=note)
    if decision.needed and decision.approver is not None:
        notify(
            users=[decision.approver],
            kind="order_approval",
            title=_("订单 %(n)s 待您审批") % {"n": order.number},
            body="\n".join(decision.reasons),
            link=_order_link(order),
            dedupe_key=f"orders.approval:{order.pk}:{order.version}",
        )
    _large_order_alert(order)
    return order


def _large_order_alert(order: SalesOrder) -> None:
    """Large-deal alert: an order above ``ORDERS_LARGE_ORDER_AMOUNT`` notifies the owner's
    manager chain, once per order."""
    threshold = Decimal(str(getattr(settings, "ORDERS_LARGE_ORDER_AMOUNT", "100000")))
    if threshold <= 0 or order.total_amount < threshold:
        return
    chain = manager_chain(order.owner_id)
    if chain:
        notify(
            users=[e.user_id for e in chain],
            kind="large_order",
            title=_("大额订单 %(n)s：%(amount)s") % {"n": order.number, "amount": order.total_amount},
            body=_("客户：%(a)s") % {"a": order.account.name},
            link=_order_link(order),
            dedupe_key=f"orders.large:{order.pk}",
        )


@transaction.atomic
def order_approve(*, actor: Any, order_id: int, note: str = "", expected_version: int | None = None) -> SalesOrder:
    order = _locked_order(actor, order_id)
    _check_version(order, expected_version)
    if order.status != OrderStatus.SUBMITTED:
        _transition(order, actor=actor, to=OrderStatus.APPROVED)
    if not can_approve(actor, order):
        raise PermissionDenied(
            _("此订单需由 %(who)s 或其上级审批%(credit)s")
            % {
                "who": _person(order.approver) or _("有审批权限的经理"),
                "credit": _("（需超信用额度审批权限）") if order.needs_credit_approval else "",
            }
        )
    before = _order_state(order)
    _transition(order, actor=actor, to=OrderStatus.APPROVED, note=note)
    order.approved_by = actor
    order.approved_at = timezone.now()
    _save_state(order, actor=actor, before=before, fields=["approved_by", "approved_at"], note=note)
    notify(
        users=[order.owner_id],
        kind="order_approved",
        title=_("订单 %(n)s 已审批通过") % {"n": order.number},
        body=note,
        link=_order_link(order),
        dedupe_key=f"orders.approved:{order.pk}:{order.version}",
    )
    return order


@transaction.atomic
def order_reject(*, actor: Any, order_id: int, note: str, expected_version: int | None = None) -> SalesOrder:
    """Send a submitted order back to draft, with the reason (required)."""
    order = _locked_order(actor, order_id)
    _check_version(order, expected_version)
    if order.status != OrderStatus.SUBMITTED:
        _transition(order, actor=actor, to=OrderStatus.DRAFT)
    if not can_approve(actor, order):
        raise PermissionDenied(_("您不能审批此订单"))
    if not _text(note):
        raise ValidationFailed(_("请填写驳回原因"), field="note")
    before = _order_state(order)
    _transition(order, actor=actor, to=OrderStatus.DRAFT, note=note)
    order.approver = None
    order.approval_reasons = []
    order.needs_credit_approval = False
    _save_state(
        order, actor=actor, before=before, fields=["approver", "approval_reasons", "needs_credit_approval"], note=note
    )
    notify(
        users=[order.owner_id],
        kind="order_rejected",
        title=_("订单 %(n)s 被驳回") % {"n": order.number},
        body=note,
        link=_order_link(order),
        dedupe_key=f"orders.rejected:{order.pk}:{order.version}",
    )
    return order


def _move_order(*, actor: Any, order_id: int, to: str, note: str, expected_version: int | None) -> SalesOrder:
    """A transition that needs the shipping right and changes nothing but the status."""
    order = _locked_order(actor, order_id)
    _require(actor, "orders.ship_salesorder")
    _check_version(order, expected_version)
    before = _order_state(order)
    _transition(order, actor=actor, to=to, note=note)
    _save_state(order, actor=actor, before=before, fields=[], note=note)
    return order


@transaction.atomic
def order_ship(*, actor: Any, order_id: int, note: str = "", expected_version: int | None = None) -> SalesOrder:
    return _move_order(
        actor=actor, order_id=order_id, to=OrderStatus.SHIPPED, note=note, expected_version=expected_version
    )


@transaction.atomic
def order_complete(*, actor: Any, order_id: int, note: str = "", expected_version: int | None = None) -> SalesOrder:
    return _move_order(
        actor=actor, order_id=order_id, to=OrderStatus.COMPLETED, note=note, expected_version=expected_version
    )


@transaction.atomic
def order_cancel(*, actor: Any, order_id: int, note: str = "", expected_version: int | None = None) -> SalesOrder:
    """Cancel a draft, submitted or approved order (approved: with the approval right) that has
    no payments allocated."""
    order = _locked_order(actor, order_id)
    _require(actor, "orders.approve_salesorder" if order.status == OrderStatus.APPROVED else "orders.change_salesorder")
    _check_version(order, expected_version)
    if order.allocated_amount > 0:
        raise ValidationFailed(_("订单已有回款核销，不能取消"), field="status", code="order_has_payments")
    before = _order_state(order)
    _transition(order, actor=actor, to=OrderStatus.CANCELLED, note=note)
    _save_state(order, actor=actor, before=before, fields=[], note=note)
    return order


ORDER_ACTIONS: dict[str, Callable[..., SalesOrder]] = {
    "submit": order_submit,
    "approve": order_approve,
    "reject": order_reject,
    "ship": order_ship,
    "complete": order_complete,
    "cancel": order_cancel,
}


# --------------------------------------------------------------------------- approval rules


def _rule_clean(data: Mapping[str, Any], instance: ApprovalRule | None) -> dict[str, Any]:
    from jinggeng.org.models import RoleCode

    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if given("name"):
        values["name"] = _text(data.get("name"))
        if not values["name"]:
            _add(errors, "name", _("请填写名称"))
    if given("min_amount"):
        values["min_amount"] = _decimal(data.get("min_amount"), "min_amount", errors, minimum=ZERO)
    if given("min_discount_percent"):
        values["min_discount_percent"] = _decimal(
            data.get("min_discount_percent"), "min_discount_percent", errors, minimum=ZERO, maximum=HUNDRED
        )
    if given("approver_role"):
        values["approver_role"] = _text(data.get("approver_role"))
        if values["approver_role"] and values["approver_role"] not in RoleCode.values:
            _add(errors, "approver_role", _("无效的角色：%(v)s") % {"v": values["approver_role"]})
    if given("manager_level"):
        values["manager_level"] = _int(data.get("manager_level"), "manager_level", errors, minimum=1, maximum=10)
    if given("active"):
        values["active"] = bool(data.get("active", True))
    merged = {**(snapshot(instance) if instance else {}), **values}
    if not errors and merged.get("min_amount") is None and merged.get("min_discount_percent") is None:
        _add(errors, "min_amount", _("金额或折扣条件至少填写一个"))
    _fail(errors, _("审批规则有误"))
    return values


@transaction.atomic
def approval_rule_create(*, actor: Any, data: Mapping[str, Any]) -> ApprovalRule:
    _require(actor, "orders.add_approvalrule")
    rule = ApprovalRule.objects.create(**_rule_clean(data, None))
    audit_create(actor=actor, instance=rule)
    return rule


@transaction.atomic
def approval_rule_update(
    *, actor: Any, rule_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> ApprovalRule:
    rule = ApprovalRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("审批规则不存在"))
    _require(actor, "orders.change_approvalrule")
    if expected_version is not None and expected_version != rule.version:
        raise _version_conflict(rule, expected_version, _("该审批规则"))
    fields = ["name", "min_amount", "min_discount_percent", "approver_role", "manager_level", "active", "version"]
    before = snapshot(rule, fields)
    values = _rule_clean(data, rule)
    for key, value in values.items():
        setattr(rule, key, value)
    rule.version += 1
    rule.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=rule, before=before)
    return rule


@transaction.atomic
def approval_rule_delete(*, actor: Any, rule_id: int) -> None:
    rule = ApprovalRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("审批规则不存在"))
    _require(actor, "orders.delete_approvalrule")
    audit_delete(actor=actor, instance=rule)
    rule.delete()


# --------------------------------------------------------------------------- payments


def _payment_clean(actor: Any, data: Mapping[str, Any], instance: PaymentReceipt | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data or instance is None

    if instance is None:
        try:
            values["account"] = _account_in_scope(actor, data.get("account_id"))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if given("amount"):
        amount = _decimal(data.get("amount"), "amount", errors, minimum=ZERO, strict=True)
        if amount is None and "amount" not in errors:
            _add(errors, "amount", _("请填写金额"))
        if amount is not None and instance is not None and amount < instance.allocated_amount:
            _add(errors, "amount", _("不能小于已核销金额 %(a)s") % {"a": instance.allocated_amount})
        values["amount"] = amount
    if given("received_on"):
        values["received_on"] = _date(data.get("received_on"), "received_on", errors) or timezone.localdate()
    if given("method"):
        method = _text(data.get("method")) or PaymentMethod.BANK_TRANSFER
        if method not in PaymentMethod.values:
            _add(
                errors,
                "method",
                _("无效的回款方式：%(v)s（可选：%(allowed)s）")
                % {"v": method, "allowed": "、".join(PaymentMethod.values)},
            )
        values["method"] = method
    if given("reference"):
        values["reference"] = _text(data.get("reference"))[:100]
    if given("notes"):
        values["notes"] = _text(data.get("notes"))
    _fail(errors, _("回款资料有误"))
    return values


def payment_create(*, actor: Any, data: Mapping[str, Any], idempotency_key: str = "") -> tuple[PaymentReceipt, bool]:
    """Record a payment receipt, optionally allocated at once (``allocations``: order_id and
    amount each). Returns (receipt, created); idempotent per user with ``idempotency_key``."""
    _require(actor, "orders.add_paymentreceipt")
    with transaction.atomic():
        return _idempotent(
            PaymentReceipt,
            actor=actor,
            key=idempotency_key,
            request_hash=_request_hash(data),
            create=lambda: _payment_create(actor=actor, data=data, key=idempotency_key),
        )


def _payment_create(*, actor: Any, data: Mapping[str, Any], key: str) -> PaymentReceipt:
    values = _payment_clean(actor, data, None)
    account: Account = values["account"]
    receipt = PaymentReceipt(
        **values,
        number=uuid.uuid4().hex[:20],
        owner_id=account.owner_id or actor.pk,
        org_unit_id=account.org_unit_id,
        created_by=actor,
        idempotency_key=key.strip()[:100],
        request_hash=_request_hash(data) if key.strip() else "",
    )
    receipt.save()
    receipt.number = _order_number("PR", receipt.received_on, receipt.pk)
    receipt.save(update_fields=["number"])
    audit_create(actor=actor, instance=receipt)
    allocations = data.get("allocations") or []
    if not isinstance(allocations, Sequence):
        raise ValidationFailed(_("核销明细格式有误"), field="allocations")
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(allocations):
        row = row if isinstance(row, Mapping) else {}
        try:
            _allocate(actor=actor, receipt=receipt, order_id=row.get("order_id"), amount=row.get("amount"))
        except ValidationFailed as exc:
            for name, msgs in exc.field_errors.items():
                errors.setdefault(f"allocations.{index}.{name}", []).extend(msgs)
    _fail(errors, _("核销明细有误"))
    return receipt


def _locked_receipt(actor: Any, receipt_id: int) -> PaymentReceipt:
    receipt = PaymentReceipt.objects.select_for_update().filter(pk=receipt_id).first()
    if receipt is None or not _in_scope(
        actor, owner_id=receipt.owner_id, unit_id=receipt.org_unit_id, account_id=receipt.account_id
    ):
        raise NotFound(_("回款不存在"))
    return receipt


@transaction.atomic
def payment_update(
    *, actor: Any, receipt_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> PaymentReceipt:
    receipt = _locked_receipt(actor, receipt_id)
    _require(actor, "orders.change_paymentreceipt")
    if expected_version is not None and expected_version != receipt.version:
        raise _version_conflict(receipt, expected_version, _("该回款"))
    before = snapshot(receipt, [*PAYMENT_FIELDS, "version"])
    values = _payment_clean(actor, data, receipt)
    for key, value in values.items():
        setattr(receipt, key, value)
    receipt.version += 1
    receipt.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=receipt, before=before)
    return receipt


@transaction.atomic
def payment_delete(*, actor: Any, receipt_id: int) -> None:
    receipt = _locked_receipt(actor, receipt_id)
    _require(actor, "orders.delete_paymentreceipt")
    if receipt.allocations.exists():
        raise ValidationFailed(_("回款已核销到订单，请先撤销核销"), field="allocations", code="payment_allocated")
    audit_delete(actor=actor, instance=receipt)
    receipt.delete()


def _allocate(*, actor: Any, receipt: PaymentReceipt, order_id: Any, amount: Any) -> PaymentAllocation:
    """Allocate part of a locked receipt to an order (locked here, after the receipt)."""
    errors: dict[str, list[str]] = {}
    value = _decimal(amount, "amount", errors, minimum=ZERO, strict=True)
    if value is None and "amount" not in errors:
        _add(errors, "amount", _("请填写核销金额"))
    order_pk = _int(order_id, "order_id", errors, minimum=1, maximum=2**62) if order_id not in (None, "") else None
    if order_pk is None and "order_id" not in errors:
        _add(errors, "order_id", _("请选择订单"))
    _fail(errors, _("核销资料有误"))
    order = SalesOrder.objects.select_for_update().filter(pk=order_pk or 0).first()
    if order is None or not _in_scope(
        actor, owner_id=order.owner_id, unit_id=order.org_unit_id, account_id=order.account_id
    ):
        raise ValidationFailed(_("订单不存在"), field="order_id", code="order_not_found")
    if order.account_id != receipt.account_id:
        raise ValidationFailed(
            _("订单 %(n)s 属于另一个客户，不能用此回款核销") % {"n": order.number},
            field="order_id",
            code="allocation_account_mismatch",
        )
    if order.status not in RECEIVABLE_STATUSES:
        raise ValidationFailed(
            _("订单状态为“%(s)s”，只有已审批、已发货或已完成的订单可以核销") % {"s": order.get_status_display()},
            field="order_id",
            code="order_not_receivable",
        )
    assert value is not None
    if value > receipt.unallocated_amount:
        raise ValidationFailed(
            _("超过回款未核销余额 %(a)s") % {"a": receipt.unallocated_amount}, field="amount", code="over_allocated"
        )
    if value > order.open_amount:
        raise ValidationFailed(
            _("超过订单未收金额 %(a)s") % {"a": order.open_amount}, field="amount", code="over_allocated"
        )
    allocation = PaymentAllocation.objects.create(receipt=receipt, order=order, amount=value, created_by=actor)
    before_receipt = snapshot(receipt, ["allocated_amount"])
    before_order = snapshot(order, ["allocated_amount"])
    receipt.allocated_amount += value
    receipt.save(update_fields=["allocated_amount", "updated_at"])
    order.allocated_amount += value
    order.save(update_fields=["allocated_amount", "updated_at"])
    audit_create(actor=actor, instance=allocation)
    audit_update(actor=actor, instance=receipt, before=before_receipt)
    audit_update(actor=actor, instance=order, before=before_order)
    return allocation


@transaction.atomic
def allocation_create(*, actor: Any, receipt_id: int, order_id: Any, amount: Any) -> PaymentAllocation:
    """Allocate ``amount`` of a receipt to an order of the same account: never more than the
    receipt's unallocated balance nor the order's open amount. The receipt row, then the order
    row, are locked, so concurrent allocations cannot over-allocate either."""
    receipt = _locked_receipt(actor, receipt_id)
    _require(actor, "orders.add_paymentallocation")
    return _allocate(actor=actor, receipt=receipt, order_id=order_id, amount=amount)


@transaction.atomic
def allocation_delete(*, actor: Any, allocation_id: int) -> None:
    allocation = PaymentAllocation.objects.filter(pk=allocation_id).first()
    if allocation is None:
        raise NotFound(_("核销记录不存在"))
    receipt = _locked_receipt(actor, allocation.receipt_id)
    _require(actor, "orders.delete_paymentallocation")
    order = SalesOrder.objects.select_for_update().get(pk=allocation.order_id)
    before_receipt = snapshot(receipt, ["allocated_amount"])
    before_order = snapshot(order, ["allocated_amount"])
    receipt.allocated_amount -= allocation.amount
    receipt.save(update_fields=["allocated_amount", "updated_at"])
    order.allocated_amount -= allocation.amount
    order.save(update_fields=["allocated_amount", "updated_at"])
    audit_delete(actor=actor, instance=allocation)
    audit_update(actor=actor, instance=receipt, before=before_receipt)
    audit_update(actor=actor, instance=order, before=before_order)
    allocation.delete()


# --------------------------------------------------------------------------- overdue alerts

BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("d0_30", 0, 30),
    ("d31_60", 31, 60),
    ("d61_90", 61, 90),
    ("d90_plus", 91, None),
)


def overdue_bucket(days_past_due: int) -> str:
    """``not_due`` before the due date, then ``d0_30`` / ``d31_60`` / ``d61_90`` / ``d90_plus``."""
    if days_past_due < 0:
        return "not_due"
    for name, low, high in BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return name
    return "d90_plus"  # pragma: no cover


def receivables_alert_overdue(*, today: dt.date | None = None, batch: int = 2000) -> int:
    """Notify the owner and their direct manager of each order past its due date with an open
    amount: once per order and ageing bucket (``dedupe_key``), however often this runs.
    Returns the number of notifications created."""
    today = today or timezone.localdate()
    sent = 0
    qs = (
        SalesOrder.objects.filter(status__in=RECEIVABLE_STATUSES, due_date__lt=today)
        .filter(total_amount__gt=models.F("allocated_amount"))
        .select_related("account", "owner__employee__manager")
        .order_by("id")
    )
    for order in qs.iterator(chunk_size=batch):
        days = (today - order.due_date).days
        if days < 1:
            continue
        bucket = overdue_bucket(days)
        users: list[int] = [order.owner_id]
        employee = getattr(order.owner, "employee", None)
        if employee is not None and employee.manager is not None:
            users.append(employee.manager.user_id)
        with transaction.atomic():
            created = notify(
                users=users,
                kind="receivable_overdue",
                title=_("订单 %(n)s 逾期 %(d)d 天，未收 %(a)s")
                % {"n": order.number, "d": days, "a": order.open_amount},
                body=_("客户：%(a)s；到期日 %(due)s") % {"a": order.account.name, "due": order.due_date},
                link=_order_link(order),
                dedupe_key=f"orders.overdue:{order.pk}:{bucket}",
            )
        sent += len(created)
    return sent


__all__ = ["User"]
