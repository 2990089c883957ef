"""Import and export of sales orders (with their lines) and payment receipts (with their
allocations): ``jinggeng import orders …``, ``jinggeng import payments …``.

One row per order line (per allocation), the order's (payment's) header columns repeated on
each row, the rows of one record tied together by its number column (see
``jinggeng.pipeline.importers.group_rows``). A record is imported whole or not at all.

Everything goes through the order services, so an imported order is priced, converted,
validated, scoped and audited like one entered by hand:

* **orders** are created as drafts with ``order_create`` (the list price comes from the price
  lists when the price cell is empty). The number column is either an existing order number in
  the actor's scope, or a reference of the file's own: a new order gets its own number, and the
  reference is kept with it (as the importing user's idempotency key ``import:<reference>``),
  so importing the same file again finds the orders it made. An existing order that the file
  describes unchanged is left alone (counted as unchanged); a changed draft is updated with
  ``order_update`` (filled header cells, and its lines replaced); a changed order that is no
  longer a draft is refused.
* **payments** are created with ``payment_create`` and allocated to orders (by order number)
  in the same step: never more than the receipt's or the order's open amount, never to another
  account's order. The number column works as for orders; an existing receipt whose header is
  unchanged gets the file's allocations that it does not have yet (``allocation_create``);
  a file cannot change a receipt's header or undo an allocation (refused).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.catalog.models import Sku
from jinggeng.catalog.services import sku_unit_key
from jinggeng.core.errors import DomainError, ValidationFailed
from jinggeng.core.tabular.registry import register
from jinggeng.core.tabular.spec import UPDATE, Column, CommitResult, RowOutcome, SourceRow, choice_lookup, header_key
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account
from jinggeng.orders import selectors, services
from jinggeng.orders.models import (
    Contract,
    OrderLine,
    OrderStatus,
    PaymentAllocation,
    PaymentMethod,
    PaymentReceipt,
    SalesOrder,
)
from jinggeng.pipeline.importers import RowGroup, column_labels, group_rows, plain_decimal

IMPORT_KEY_PREFIX = "import:"
REF_MAX = 90
INFO = gettext_lazy("仅供参考，导入时忽略")

ORDER_HEADER_COLUMNS = (
    Column(
        "number",
        gettext_lazy("订单号"),
        "Order number",
        required=True,
        help=gettext_lazy("同一订单的各行填相同的值：已有订单号更新该订单（仅草稿），其他值作为参考号新建订单"),
    ),
    Column("account", gettext_lazy("客户编码"), "Account code", required=True),
    Column("order_date", gettext_lazy("下单日期"), "Order date", help=gettext_lazy("YYYY-MM-DD；留空为今天")),
    Column("payment_terms_days", gettext_lazy("账期（天）"), "Payment terms (days)"),
    Column("contract", gettext_lazy("合同编号"), "Contract code"),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
ORDER_LINE_COLUMNS = (
    Column("sku", gettext_lazy("SKU 编码"), "SKU code", required=True),
    Column(
        "unit",
        gettext_lazy("单位"),
        "Unit",
        help=gettext_lazy("piece / pack / case 或 SKU 的单位名称（瓶、提、箱）；留空为件"),
    ),
    Column("quantity", gettext_lazy("数量"), "Quantity", required=True, help=gettext_lazy("大于 0")),
    Column(
        "list_price", gettext_lazy("价目价（每件）"), "List price (per piece)", help=gettext_lazy("留空则按价格表取价")
    ),
    Column("discount_percent", gettext_lazy("折扣（%）"), "Discount (%)", help="0–100"),
)
ORDER_INFO_COLUMNS = (
    Column("status", gettext_lazy("状态"), "Status", help=INFO),
    Column("account_name", gettext_lazy("客户名称"), "Account name", help=INFO),
    Column("due_date", gettext_lazy("到期日"), "Due date", help=INFO),
    Column("line_no", gettext_lazy("行号"), "Line", help=INFO),
    Column("sku_name", gettext_lazy("SKU 名称"), "SKU name", help=INFO),
    Column("quantity_pieces", gettext_lazy("数量（件）"), "Quantity (pieces)", help=INFO),
    Column("net_price", gettext_lazy("折后价（每件）"), "Net price (per piece)", help=INFO),
    Column("line_total", gettext_lazy("行金额"), "Line total", help=INFO),
    Column("total_amount", gettext_lazy("订单金额"), "Order total", help=INFO),
    Column("allocated_amount", gettext_lazy("已回款"), "Paid", help=INFO),
    Column("owner", gettext_lazy("负责人"), "Owner", help=INFO),
    Column("org_unit", gettext_lazy("所属组织"), "Org unit", help=INFO),
)
ORDER_IMPORT_COLUMNS = (*ORDER_HEADER_COLUMNS, *ORDER_LINE_COLUMNS, *ORDER_INFO_COLUMNS)
ORDER_EXPORT_COLUMNS = tuple(
    next(c for c in ORDER_IMPORT_COLUMNS if c.key == key)
    for key in (
        "number",
        "status",
        "account",
        "account_name",
        "order_date",
        "payment_terms_days",
        "due_date",
        "contract",
        "notes",
        "line_no",
        "sku",
        "sku_name",
        "unit",
        "quantity",
        "quantity_pieces",
        "list_price",
        "discount_percent",
        "net_price",
        "line_total",
        "total_amount",
        "allocated_amount",
        "owner",
        "org_unit",
    )
)
ORDER_HEADER_KEYS = tuple(c.key for c in ORDER_HEADER_COLUMNS if c.key != "number")
ORDER_LINE_KEYS = tuple(c.key for c in ORDER_LINE_COLUMNS)
#: The services' field names, as column keys.
ORDER_FIELD_COLUMNS = {
    "account_id": "account",
    "order_date": "order_date",
    "payment_terms_days": "payment_terms_days",
    "contract_id": "contract",
    "notes": "notes",
    "status": "number",
}
LINE_FIELD_COLUMNS = {
    "sku": "sku",
    "sku_id": "sku",
    "unit": "unit",
    "quantity": "quantity",
    "list_price": "list_price",
    "discount_percent": "discount_percent",
}

PAYMENT_HEADER_COLUMNS = (
    Column(
        "number",
        gettext_lazy("回款单号"),
        "Receipt number",
        required=True,
        help=gettext_lazy("同一回款的各行填相同的值：已有回款单号为该回款追加核销，其他值作为参考号新建回款"),
    ),
    Column("account", gettext_lazy("客户编码"), "Account code", required=True),
    Column("amount", gettext_lazy("金额"), "Amount", required=True, help=gettext_lazy("大于 0")),
    Column("received_on", gettext_lazy("回款日期"), "Received on", help=gettext_lazy("YYYY-MM-DD；留空为今天")),
    Column(
        "method",
        gettext_lazy("方式"),
        "Method",
        help=gettext_lazy("银行转账 / 现金 / 承兑汇票 / 支票 / 在线支付 / 其他；留空为银行转账"),
    ),
    Column("reference", gettext_lazy("凭证号"), "Reference"),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
PAYMENT_LINE_COLUMNS = (
    Column("order", gettext_lazy("核销订单号"), "Allocated to order", help=gettext_lazy("每行一笔核销；可留空")),
    Column("allocation", gettext_lazy("核销金额"), "Allocated amount"),
)
PAYMENT_INFO_COLUMNS = (
    Column("account_name", gettext_lazy("客户名称"), "Account name", help=INFO),
    Column("allocated_total", gettext_lazy("已核销"), "Allocated", help=INFO),
    Column("unallocated", gettext_lazy("未核销"), "Unallocated", help=INFO),
    Column("owner", gettext_lazy("负责人"), "Owner", help=INFO),
    Column("org_unit", gettext_lazy("所属组织"), "Org unit", help=INFO),
)
PAYMENT_IMPORT_COLUMNS = (*PAYMENT_HEADER_COLUMNS, *PAYMENT_LINE_COLUMNS, *PAYMENT_INFO_COLUMNS)
PAYMENT_EXPORT_COLUMNS = tuple(
    next(c for c in PAYMENT_IMPORT_COLUMNS if c.key == key)
    for key in (
        "number",
        "account",
        "account_name",
        "amount",
        "received_on",
        "method",
        "reference",
        "notes",
        "allocated_total",
        "unallocated",
        "owner",
        "org_unit",
        "order",
        "allocation",
    )
)
PAYMENT_HEADER_KEYS = tuple(c.key for c in PAYMENT_HEADER_COLUMNS if c.key != "number")
PAYMENT_FIELD_COLUMNS = {
    "account_id": "account",
    "amount": "amount",
    "received_on": "received_on",
    "method": "method",
    "reference": "reference",
    "notes": "notes",
}
ALLOCATION_FIELD_COLUMNS = {"order_id": "order", "amount": "allocation"}


def _person(user: Any) -> str:
    if user is None:
        return ""
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


def _decimal(text: str | None) -> Decimal | None:
    if text in (None, ""):
        return None
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _day(text: str | None) -> dt.date | None:
    """A filter's date (YYYY-MM-DD); anything else is no filter."""
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def _import_key(ref: str) -> str:
    """The idempotency key that keeps a file's reference with the record it made."""
    return f"{IMPORT_KEY_PREFIX}{ref.casefold()}"


def _scoped_accounts(actor: Any, keys: Iterable[str]) -> dict[str, Account]:
    """The accounts named by these keys (a code, else an id for an account without code) that
    the actor may see, by key. An account out of scope is left out, so the row says "客户不存在"
    as for a code that does not exist."""
    wanted = {k for k in keys if k}
    if not wanted:
        return {}
    scope = account_scope(actor)
    ids = {int(k) for k in wanted if k.isdigit()}
    found: dict[str, Account] = {}
    by_code = Account.objects.filter(code__in=wanted)
    by_id = Account.objects.filter(pk__in=ids, code__isnull=True) if ids else Account.objects.none()
    for account in [*by_code, *by_id]:
        if (
            scope.everything
            or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
            or account.pk in scope.account_ids
        ):
            found.setdefault(str(account.code) if account.code in wanted else str(account.pk), account)
    return found


def account_key(account: Account) -> str:
    """How a file names an account: its code, or its id when it has none."""
    return str(account.code or account.pk)


def _check_ref(group: RowGroup) -> bool:
    if len(group.key) > REF_MAX:
        group.first.refuse("number", _("最多 %(n)d 个字符") % {"n": REF_MAX})
        group.refuse_rest()
        return False
    return True


def _existing_by_ref(model: Any, actor: Any, scoped: Any, refs: set[str]) -> dict[str, Any]:
    """Records named by the file's numbers: an existing number in the actor's scope, else a
    record this actor imported before with that reference (both whatever the letter case). By
    the reference as written."""
    if not refs:
        return {}
    found: dict[str, Any] = {}
    numbers = {r.upper(): r for r in refs}
    for record in scoped.filter(number__in=list(numbers)):
        found[numbers[record.number.upper()]] = record
    rest = {r for r in refs if r not in found}
    if rest:
        keys = {_import_key(r): r for r in rest}
        for record in scoped.filter(created_by=actor, idempotency_key__in=list(keys)):
            found[keys[record.idempotency_key]] = record
    return found


# --------------------------------------------------------------------------- orders


@dataclass
class _OrderPlan:
    group: RowGroup
    data: dict[str, Any]
    line_rows: list[RowOutcome]
    order_id: int | None = None
    version: int | None = None
    ref: str = ""


class OrderSpec:
    entity = "orders"
    verbose_name = gettext_lazy("销售订单")
    permissions = ("orders.add_salesorder",)
    identity = ""  # rows repeat the number on purpose; grouping checks it instead
    batch_size = 20001  # also the last sheet row imported (see group_rows)
    dry_run_writes = True  # a dry run writes and rolls back, so it checks exactly what an import does
    model = SalesOrder

    def columns(self) -> Sequence[Column]:
        return ORDER_IMPORT_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        labels = column_labels(ORDER_IMPORT_COLUMNS)
        outcomes, groups = group_rows(
            rows,
            ref_column="number",
            header_columns=ORDER_HEADER_KEYS,
            labels=labels,
            limit=self.batch_size,
            label=lambda v: " · ".join(x for x in (v.get("number", ""), v.get("sku", "")) if x),
        )
        groups = [g for g in groups if not g.refused and _check_ref(g)]
        accounts = _scoped_accounts(actor, (g.header.get("account", "") for g in groups))
        sku_codes = {r.values.get("sku", "") for g in groups for r in g.rows} - {""}
        skus = {s.code: s for s in Sku.objects.filter(code__in=sku_codes)} if sku_codes else {}
        contract_codes = {g.header["contract"] for g in groups if g.header.get("contract")}
        contracts = (
            {c.code: c for c in Contract.objects.filter(code__in=contract_codes).only("pk", "code", "account_id")}
            if contract_codes
            else {}
        )
        existing = _existing_by_ref(
            SalesOrder,
            actor,
            selectors.scoped_orders(actor).prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.order_by("line_no"))
            ),
            {g.key for g in groups},
        )
        for group in groups:
            self._plan(group, accounts=accounts, skus=skus, contracts=contracts, existing=existing.get(group.key))
        return outcomes

    def _plan(
        self,
        group: RowGroup,
        *,
        accounts: Mapping[str, Account],
        skus: Mapping[str, Sku],
        contracts: Mapping[str, Contract],
        existing: SalesOrder | None,
    ) -> None:
        header = group.header
        data: dict[str, Any] = {}
        if "account" in header:
            account = accounts.get(header["account"])
            if account is None:
                group.first.refuse("account", _("客户不存在：%(value)s") % {"value": header["account"]})
            else:
                data["account_id"] = account.pk
        elif existing is None:
            group.first.refuse("account", _("请填写客户编码"))
        for key in ("order_date", "payment_terms_days", "notes"):
            if key in header:
                data[key] = header[key]
        if "contract" in header:
            contract = contracts.get(header["contract"])
            if contract is None:
                group.first.refuse("contract", _("合同不存在：%(value)s") % {"value": header["contract"]})
            else:
                data["contract_id"] = contract.pk
        lines: list[dict[str, Any]] = []
        line_rows: list[RowOutcome] = []
        for row, outcome in zip(group.rows, group.outcomes, strict=True):
            values = row.values
            code = values.get("sku", "")
            sku = skus.get(code)
            if not code:
                outcome.refuse("sku", _("请填写 SKU 编码"))
            elif sku is None:
                outcome.refuse("sku", _("找不到 SKU：%(value)s") % {"value": code})
            line = {"sku_id": sku.pk if sku else None, "quantity": values.get("quantity", "")}
            for key in ("unit", "list_price", "discount_percent"):
                if values.get(key):
                    line[key] = values[key]
            lines.append(line)
            line_rows.append(outcome)
        data["lines"] = lines
        plan = _OrderPlan(group=group, data=data, line_rows=line_rows, ref=group.key)
        if existing is not None and not group.refused:
            group.set_action(UPDATE)
            plan.order_id, plan.version = existing.pk, existing.version
            if self._unchanged(existing, data, skus):
                plan.data = {}  # nothing to write: counted as unchanged
            elif existing.status != OrderStatus.DRAFT:
                group.first.refuse(
                    "number",
                    _("订单 %(n)s 状态为“%(s)s”，只有草稿可以通过导入修改")
                    % {"n": existing.number, "s": existing.get_status_display()},
                )
        group.refuse_rest()
        for outcome in group.outcomes:
            outcome.payload = plan

    @staticmethod
    def _unchanged(order: SalesOrder, data: Mapping[str, Any], skus: Mapping[str, Sku]) -> bool:
        """The file describes ``order`` as it is: the filled header cells and every line (an
        empty price cell matches any price: a re-import does not reprice)."""
        if "account_id" in data and data["account_id"] != order.account_id:
            return False
        if "contract_id" in data and data["contract_id"] != order.contract_id:
            return False
        if "order_date" in data and str(data["order_date"]).strip() != order.order_date.isoformat():
            return False
        if "payment_terms_days" in data and str(data["payment_terms_days"]).strip() != str(order.payment_terms_days):
            return False
        if "notes" in data and str(data["notes"]).strip() != order.notes.strip():
            return False
        current = list(order.lines.all())
        if len(current) != len(data["lines"]):
            return False
        by_id = {s.pk: s for s in skus.values()}
        for line, wanted in zip(current, data["lines"], strict=True):
            sku = by_id.get(wanted["sku_id"])
            if sku is None or line.sku_id != sku.pk:
                return False
            try:
                unit = sku_unit_key(sku, wanted.get("unit") or "piece")
            except ValidationFailed:
                return False
            price = _decimal(wanted.get("list_price"))
            if (
                unit != line.unit
                or _decimal(wanted["quantity"]) != line.quantity
                or (_decimal(wanted.get("discount_percent")) or Decimal(0)) != line.discount_percent
                or (price is not None and price != line.list_price)
            ):
                return False
        return True

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        plans: dict[int, _OrderPlan] = {}
        for outcome in prepared:
            plans.setdefault(id(outcome.payload), outcome.payload)
        for plan in plans.values():
            rows = len(plan.group.outcomes)
            try:
                with transaction.atomic():
                    if plan.order_id is None:
                        services.order_create(actor=actor, data=plan.data, idempotency_key=_import_key(plan.ref))
                        result.created += rows
                    elif plan.data:
                        order = services.order_update(
                            actor=actor, order_id=plan.order_id, data=plan.data, expected_version=plan.version
                        )
                        if order.version != plan.version:
                            result.updated += rows
            except DomainError as exc:
                plan.group.refuse_with(
                    exc,
                    header=ORDER_FIELD_COLUMNS,
                    nested="lines",
                    nested_rows=plan.line_rows,
                    nested_columns=LINE_FIELD_COLUMNS,
                )
            except IntegrityError as exc:
                plan.group.first.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
                plan.group.refuse_rest()
        return result


class OrderExportSpec:
    """One row per order line, the order's columns repeated (an order without lines: one row)."""

    entity = "orders"
    verbose_name = gettext_lazy("销售订单")
    permissions = ("orders.view_salesorder",)

    def columns(self) -> Sequence[Column]:
        return ORDER_EXPORT_COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        def number(name: str) -> int | None:
            value = filters.get(name) or ""
            return int(value) if value.isdigit() else None

        f = selectors.OrderFilters(
            status=filters.get("status") or "",
            account=number("account"),
            owner=number("owner"),
            org_unit=number("org_unit"),
            date_from=_day(filters.get("date_from")),
            date_to=_day(filters.get("date_to")),
            q=filters.get("q") or "",
            contract=number("contract"),
        )
        qs = (
            selectors.order_filter(selectors.scoped_orders(actor), f)
            .select_related("account", "contract", "owner__employee", "org_unit")
            .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("sku").order_by("line_no")))
            .order_by("-order_date", "-id")
        )
        for order in qs.iterator(chunk_size=500):
            header = {
                "number": order.number,
                "status": order.get_status_display(),
                "account": account_key(order.account),
                "account_name": order.account.name,
                "order_date": order.order_date,
                "payment_terms_days": order.payment_terms_days,
                "due_date": order.due_date,
                "contract": order.contract.code if order.contract else "",
                "notes": order.notes,
                "total_amount": order.total_amount,
                "allocated_amount": order.allocated_amount,
                "owner": _person(order.owner),
                "org_unit": order.org_unit.display_name,
            }
            lines = list(order.lines.all())
            if not lines:
                yield header
            for line in lines:
                yield {
                    **header,
                    "line_no": line.line_no,
                    "sku": line.sku.code,
                    "sku_name": line.sku.name,
                    "unit": line.unit,
                    "quantity": plain_decimal(line.quantity),
                    "quantity_pieces": plain_decimal(line.quantity_pieces),
                    "list_price": line.list_price,
                    "discount_percent": plain_decimal(line.discount_percent),
                    "net_price": line.net_price,
                    "line_total": line.line_total,
                }


# --------------------------------------------------------------------------- payments


@dataclass
class _PaymentPlan:
    group: RowGroup
    data: dict[str, Any]
    allocation_rows: list[RowOutcome]
    receipt_id: int | None = None
    new_allocations: list[tuple[RowOutcome, int, str]] = field(default_factory=list)
    ref: str = ""


class PaymentSpec:
    entity = "payments"
    verbose_name = gettext_lazy("回款")
    permissions = ("orders.add_paymentreceipt",)
    identity = ""
    batch_size = 20001  # also the last sheet row imported (see group_rows)
    dry_run_writes = True  # allocations are checked against the open amounts by writing them
    model = PaymentReceipt

    def columns(self) -> Sequence[Column]:
        return PAYMENT_IMPORT_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        labels = column_labels(PAYMENT_IMPORT_COLUMNS)
        outcomes, groups = group_rows(
            rows,
            ref_column="number",
            header_columns=PAYMENT_HEADER_KEYS,
            labels=labels,
            limit=self.batch_size,
            label=lambda v: " · ".join(x for x in (v.get("number", ""), v.get("order", "")) if x),
        )
        groups = [g for g in groups if not g.refused and _check_ref(g)]
        accounts = _scoped_accounts(actor, (g.header.get("account", "") for g in groups))
        numbers = {r.values.get("order", "") for g in groups for r in g.rows} - {""}
        orders = (
            dict(selectors.scoped_orders(actor).filter(number__in=numbers).values_list("number", "pk"))
            if numbers
            else {}
        )
        existing = _existing_by_ref(
            PaymentReceipt,
            actor,
            selectors.scoped_payments(actor).prefetch_related(
                Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("order"))
            ),
            {g.key for g in groups},
        )
        methods = choice_lookup(PaymentMethod.choices)
        for group in groups:
            self._plan(group, accounts=accounts, orders=orders, methods=methods, existing=existing.get(group.key))
        return outcomes

    def _plan(
        self,
        group: RowGroup,
        *,
        accounts: Mapping[str, Account],
        orders: Mapping[str, int],
        methods: Mapping[str, str],
        existing: PaymentReceipt | None,
    ) -> None:
        header = group.header
        data: dict[str, Any] = {}
        account = accounts.get(header.get("account", ""))
        if account is None:
            group.first.refuse("account", _("客户不存在：%(value)s") % {"value": header.get("account", "")})
        else:
            data["account_id"] = account.pk
        if not header.get("amount"):
            group.first.refuse("amount", _("请填写金额"))
        for key in ("amount", "received_on", "reference", "notes"):
            if key in header:
                data[key] = header[key]
        if "method" in header:
            method = methods.get(header_key(header["method"]))
            if method is None:
                group.first.refuse(
                    "method",
                    _("无效的回款方式：%(v)s（可选：%(allowed)s）")
                    % {"v": header["method"], "allowed": "、".join(str(label) for label in PaymentMethod.labels)},
                )
            data["method"] = method
        allocations: list[dict[str, Any]] = []
        allocation_rows: list[RowOutcome] = []
        wanted: list[tuple[RowOutcome, int, str]] = []
        for row, outcome in zip(group.rows, group.outcomes, strict=True):
            number, amount = row.values.get("order", ""), row.values.get("allocation", "")
            if not number and not amount:
                continue
            if not number:
                outcome.refuse("order", _("请填写核销订单号"))
                continue
            order_id = orders.get(number)
            if order_id is None:
                outcome.refuse("order", _("订单不存在：%(value)s") % {"value": number})
                continue
            allocations.append({"order_id": order_id, "amount": amount})
            allocation_rows.append(outcome)
            wanted.append((outcome, order_id, amount))
        data["allocations"] = allocations
        plan = _PaymentPlan(group=group, data=data, allocation_rows=allocation_rows, ref=group.key)
        if existing is not None and not group.refused:
            group.set_action(UPDATE)
            plan.receipt_id = existing.pk
            self._plan_existing(plan, existing, wanted)
        group.refuse_rest()
        for outcome in group.outcomes:
            outcome.payload = plan

    @staticmethod
    def _plan_existing(plan: _PaymentPlan, receipt: PaymentReceipt, wanted: list[tuple[RowOutcome, int, str]]) -> None:
        """A receipt imported before (or named by its number): its header must be as in the
        file; the file's allocations it already has are kept, the others are added."""
        data, group = plan.data, plan.group
        different = []
        if data.get("account_id") != receipt.account_id:
            different.append("account")
        if _decimal(data.get("amount")) != receipt.amount:
            different.append("amount")
        if "received_on" in data and str(data["received_on"]).strip() != receipt.received_on.isoformat():
            different.append("received_on")
        if "method" in data and data["method"] != receipt.method:
            different.append("method")
        for key in ("reference", "notes"):
            if key in data and str(data[key]).strip() != getattr(receipt, key).strip():
                different.append(key)
        for key in different:
            group.first.refuse(
                key,
                _("回款 %(n)s 已存在，导入不修改已有回款（请在回款页面修改）") % {"n": receipt.number},
            )
        have = Counter((a.order_id, a.amount) for a in receipt.allocations.all())
        for outcome, order_id, amount in wanted:
            value = _decimal(amount)
            if value is not None and have[(order_id, value)] > 0:
                have[(order_id, value)] -= 1
            else:
                plan.new_allocations.append((outcome, order_id, amount))
        missing = [
            f"{a.order.number} {a.amount}" for a in receipt.allocations.all() if have[(a.order_id, a.amount)] > 0
        ]
        if missing:
            group.first.refuse(
                "order",
                _("导入不撤销已有核销：回款 %(n)s 已核销 %(list)s，请把这些核销也列在文件中")
                % {"n": receipt.number, "list": "、".join(missing)},
            )

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        plans: dict[int, _PaymentPlan] = {}
        for outcome in prepared:
            plans.setdefault(id(outcome.payload), outcome.payload)
        for plan in plans.values():
            rows = len(plan.group.outcomes)
            current: RowOutcome | None = None
            try:
                with transaction.atomic():
                    if plan.receipt_id is None:
                        services.payment_create(actor=actor, data=plan.data, idempotency_key=_import_key(plan.ref))
                        result.created += rows
                    elif plan.new_allocations:
                        for outcome, order_id, amount in plan.new_allocations:
                            current = outcome
                            services.allocation_create(
                                actor=actor, receipt_id=plan.receipt_id, order_id=order_id, amount=amount
                            )
                        result.updated += rows
            except DomainError as exc:
                if current is not None:  # an added allocation: its row and columns
                    for name, messages in (exc.field_errors or {"": [exc.message]}).items():
                        for message in messages:
                            current.refuse(ALLOCATION_FIELD_COLUMNS.get(name, ""), message)
                    plan.group.refuse_rest()
                else:
                    plan.group.refuse_with(
                        exc,
                        header=PAYMENT_FIELD_COLUMNS,
                        nested="allocations",
                        nested_rows=plan.allocation_rows,
                        nested_columns=ALLOCATION_FIELD_COLUMNS,
                    )
            except IntegrityError as exc:
                plan.group.first.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
                plan.group.refuse_rest()
        return result


class PaymentExportSpec:
    """One row per allocation, the receipt's columns repeated (a receipt without: one row)."""

    entity = "payments"
    verbose_name = gettext_lazy("回款")
    permissions = ("orders.view_paymentreceipt",)

    def columns(self) -> Sequence[Column]:
        return PAYMENT_EXPORT_COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        qs = selectors.scoped_payments(actor)
        account = filters.get("account") or ""
        if account.isdigit():
            qs = qs.filter(account_id=int(account))
        owner = filters.get("owner") or ""
        if owner.isdigit():
            qs = qs.filter(owner_id=int(owner))
        if filters.get("unallocated") in ("1", "true", "yes"):
            qs = qs.filter(amount__gt=F("allocated_amount"))
        for key, lookup in (("date_from", "received_on__gte"), ("date_to", "received_on__lte")):
            day = _day(filters.get(key))
            if day is not None:
                qs = qs.filter(Q(**{lookup: day}))
        qs = (
            qs.select_related("account", "owner__employee", "org_unit")
            .prefetch_related(
                Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("order").order_by("id"))
            )
            .order_by("-received_on", "-id")
        )
        for receipt in qs.iterator(chunk_size=500):
            header = {
                "number": receipt.number,
                "account": account_key(receipt.account),
                "account_name": receipt.account.name,
                "amount": receipt.amount,
                "received_on": receipt.received_on,
                "method": receipt.get_method_display(),
                "reference": receipt.reference,
                "notes": receipt.notes,
                "allocated_total": receipt.allocated_amount,
                "unallocated": receipt.unallocated_amount,
                "owner": _person(receipt.owner),
                "org_unit": receipt.org_unit.display_name,
            }
            allocations = list(receipt.allocations.all())
            if not allocations:
                yield header
            for allocation in allocations:
                yield {**header, "order": allocation.order.number, "allocation": allocation.amount}


register(OrderSpec())
register(OrderExportSpec())
register(PaymentSpec())
register(PaymentExportSpec())
