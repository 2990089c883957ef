"""Import of leads and export of leads and opportunities (``jinggeng import leads …``).

Every imported row creates a lead through `lead_create`, so it is validated, routed by
territory and round robin (or given to the named owner) and audited like one made by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.core.errors import DomainError, ValidationFailed
from jinggeng.core.tabular.registry import register
from jinggeng.core.tabular.spec import (
    CREATE,
    UPDATE,
    Action,
    Column,
    CommitResult,
    RowOutcome,
    SourceRow,
    refuse_with,
)
from jinggeng.pipeline import selectors, services
from jinggeng.pipeline.models import Lead, Opportunity, OpportunityLine

LEAD_COLUMNS = (
    Column("name", gettext_lazy("联系人姓名"), "Contact name", required=True),
    Column("company", gettext_lazy("公司名称"), "Company"),
    Column("phone", gettext_lazy("电话"), "Phone"),
    Column("email", gettext_lazy("邮箱"), "Email"),
    Column("source", gettext_lazy("来源"), "Source", help=gettext_lazy("市场活动、转介绍、展会、电话、网站、其他")),
    Column("interest", gettext_lazy("意向"), "Interest"),
    Column("division", gettext_lazy("行政区划代码"), "Division code", help=gettext_lazy("按区域自动分配负责人")),
    Column("owner", gettext_lazy("负责人"), "Owner", help=gettext_lazy("用户名或工号；留空则自动分配")),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
LEAD_EXPORT_COLUMNS = (
    Column("id", gettext_lazy("编号"), "ID"),
    *LEAD_COLUMNS[:7],
    Column("status", gettext_lazy("状态"), "Status"),
    Column("owner", gettext_lazy("负责人"), "Owner"),
    Column("org_unit", gettext_lazy("所属组织"), "Org unit"),
    Column("created_at", gettext_lazy("创建时间"), "Created at"),
)
OPPORTUNITY_HEADER_COLUMNS = (
    Column("id", gettext_lazy("编号"), "ID", help=gettext_lazy("已有商机的编号：更新该商机；留空则新建")),
    Column(
        "ref",
        gettext_lazy("商机参考号"),
        "Reference",
        help=gettext_lazy("同一商机的多行产品明细填相同的参考号；留空则每行是一个商机"),
    ),
    Column("name", gettext_lazy("商机名称"), "Opportunity", required=True),
    Column("account", gettext_lazy("客户编码"), "Account code", required=True),
    Column("pipeline", gettext_lazy("销售流程"), "Pipeline", help=gettext_lazy("编码或名称；留空为第一个流程")),
    Column("stage", gettext_lazy("阶段"), "Stage", help=gettext_lazy("阶段名称；留空为第一个阶段")),
    Column("amount", gettext_lazy("金额"), "Amount", help=gettext_lazy("留空则为产品明细金额之和")),
    Column("expected_close_date", gettext_lazy("预计成交日期"), "Expected close", help="YYYY-MM-DD"),
    Column("owner", gettext_lazy("负责人"), "Owner", help=gettext_lazy("用户名或工号；留空为本人")),
    Column("next_step", gettext_lazy("下一步"), "Next step"),
    Column("competitors", gettext_lazy("竞争对手"), "Competitors"),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
OPPORTUNITY_LINE_COLUMNS = (
    Column("sku", gettext_lazy("SKU 编码"), "SKU code", help=gettext_lazy("产品明细：每行一个 SKU")),
    Column(
        "unit", gettext_lazy("单位"), "Unit", help=gettext_lazy("piece / pack / case 或 SKU 的单位名称（瓶、提、箱）")
    ),
    Column("quantity", gettext_lazy("数量"), "Quantity", help=gettext_lazy("大于 0")),
    Column("price", gettext_lazy("单价"), "Price", help=gettext_lazy("每个所填单位的价格，不小于 0")),
)
#: Columns the export writes for reading only; an import of the exported file ignores them.
OPPORTUNITY_INFO_COLUMNS = (
    Column("account_name", gettext_lazy("客户名称"), "Account name", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("probability", gettext_lazy("赢率（%）"), "Probability (%)", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("status", gettext_lazy("状态"), "Status", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("owner_name", gettext_lazy("负责人姓名"), "Owner name", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("org_unit", gettext_lazy("所属组织"), "Org unit", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("lost_reason", gettext_lazy("丢单原因"), "Loss reason", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("created_at", gettext_lazy("创建时间"), "Created at", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("closed_at", gettext_lazy("关闭时间"), "Closed at", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("sku_name", gettext_lazy("SKU 名称"), "SKU name", help=gettext_lazy("仅供参考，导入时忽略")),
    Column("line_amount", gettext_lazy("明细金额"), "Line amount", help=gettext_lazy("仅供参考，导入时忽略")),
)
OPPORTUNITY_IMPORT_COLUMNS = (*OPPORTUNITY_HEADER_COLUMNS, *OPPORTUNITY_LINE_COLUMNS, *OPPORTUNITY_INFO_COLUMNS)
_OPP_EXPORT_ORDER = (
    "id",
    "ref",
    "name",
    "account",
    "account_name",
    "pipeline",
    "stage",
    "probability",
    "status",
    "amount",
    "expected_close_date",
    "owner",
    "owner_name",
    "org_unit",
    "next_step",
    "competitors",
    "notes",
    "lost_reason",
    "created_at",
    "closed_at",
    "sku",
    "sku_name",
    "unit",
    "quantity",
    "price",
    "line_amount",
)
OPPORTUNITY_EXPORT_COLUMNS = tuple(
    next(c for c in OPPORTUNITY_IMPORT_COLUMNS if c.key == key) for key in _OPP_EXPORT_ORDER
)


# --------------------------------------------------------------------------- rows grouped into records
#
# A record with lines (an opportunity with products, an order, a payment with allocations) takes
# one row per line, its header columns repeated on each row and its rows tied together by a
# reference column. The engine hands the rows over in batches; a grouped spec sets its batch
# size to its row limit, so the whole file (up to the limit) is one batch and a group is never
# split: rows past the limit's sheet row are refused, and so is every group with such a row.


@dataclass
class RowGroup:
    """The rows of one record, in file order, with one outcome each."""

    key: str
    rows: list[SourceRow] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    header: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> RowOutcome:
        return self.outcomes[0]

    @property
    def refused(self) -> bool:
        return any(o.refused for o in self.outcomes)

    def set_action(self, action: Action) -> None:
        for outcome in self.outcomes:
            if not outcome.refused:
                outcome.action = action

    def refuse_rest(self) -> None:
        """Refuse every row of a group that has a refused row: a record is imported whole or not at all."""
        bad = [o.row for o in self.outcomes if o.refused]
        if not bad:
            return
        for outcome in self.outcomes:
            if not outcome.refused:
                outcome.refuse("", _("同组第 %(rows)s 行有误，整组未导入") % {"rows": "、".join(str(n) for n in bad)})

    def refuse_with(
        self,
        error: DomainError,
        *,
        header: Mapping[str, str],
        nested: str = "",
        nested_rows: Sequence[RowOutcome] = (),
        nested_columns: Mapping[str, str] | None = None,
    ) -> None:
        """Refuse the group with a service's error: ``<nested>.<i>.<field>`` errors go to the i-th
        of ``nested_rows``, the others to the first row; fields are renamed to column keys."""
        if not error.field_errors:
            self.first.refuse("", error.message)
        for name, messages in error.field_errors.items():
            target, column = self.first, header.get(name, "")
            parts = name.split(".")
            if nested and parts[0] == nested and len(parts) >= 2 and parts[1].isdigit():
                index = int(parts[1])
                if index < len(nested_rows):
                    target = nested_rows[index]
                column = (nested_columns or {}).get(parts[2] if len(parts) > 2 else "", "")
            for message in messages:
                target.refuse(column, message)
        self.refuse_rest()


def group_rows(
    rows: Sequence[SourceRow],
    *,
    ref_column: str,
    header_columns: Sequence[str],
    labels: Mapping[str, Any],
    limit: int,
    label: Any = None,
    ref_required: bool = True,
    fallback_column: str = "",
) -> tuple[list[RowOutcome], list[RowGroup]]:
    """Group ``rows`` by ``ref_column`` (rows without one are a group each when the reference is
    optional). The header columns must agree on every row of a group that fills them (a blank
    cell repeats the group's value); a row that disagrees is refused naming its row and column.
    Rows past sheet row ``limit`` are refused (see above). Returns the outcomes, in row order,
    and the groups, in order of their first row."""
    outcomes: list[RowOutcome] = []
    groups: dict[str, RowGroup] = {}
    for row in rows:
        values = row.values
        outcome = RowOutcome(row=row.number, action=CREATE, label=label(values) if label else "")
        outcomes.append(outcome)
        ref = (values.get(ref_column) or "").strip()
        if not ref and ref_required:
            outcome.refuse(ref_column, _("请填写%(column)s") % {"column": labels[ref_column]})
        fallback = (values.get(fallback_column) or "").strip() if fallback_column else ""
        key = ref.casefold() if ref else f"#{fallback_column}:{fallback}" if fallback else f"#row{row.number}"
        group = groups.setdefault(key, RowGroup(key=ref))
        group.rows.append(row)
        group.outcomes.append(outcome)
        if row.number > limit:
            outcome.refuse(
                "",
                _("文件过长：一次最多导入到表格第 %(n)d 行，请拆分文件后分别导入") % {"n": limit},
            )
        for column in header_columns:
            value = (values.get(column) or "").strip()
            if not value:
                continue
            first = group.header.get(column)
            if first is None:
                group.header[column] = value
                group.header[f"#{column}"] = str(row.number)
            elif not same_value(first, value):
                outcome.refuse(
                    column,
                    _("与第 %(row)s 行不一致（“%(first)s”≠“%(value)s”）：同一记录各行的%(column)s须相同")
                    % {"row": group.header[f"#{column}"], "first": first, "value": value, "column": labels[column]},
                )
    result = list(groups.values())
    for group in result:
        group.header = {k: v for k, v in group.header.items() if not k.startswith("#")}
        group.refuse_rest()
    return outcomes, result


def same_value(first: str, value: str) -> bool:
    """Two cells mean the same: equal text, or equal numbers ("100" and "100.00")."""
    if first == value:
        return True
    try:
        return Decimal(first.replace(",", "")) == Decimal(value.replace(",", ""))
    except (InvalidOperation, ValueError):
        return False


def plain_decimal(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent (Decimal("10.000") is 10)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def column_labels(columns: Sequence[Column]) -> dict[str, str]:
    return {c.key: c.label() for c in columns}


def _user_key(user: Any) -> str:
    """How an import names a user: the employee code, else the username."""
    if user is None:
        return ""
    code = getattr(getattr(user, "employee", None), "code", "")
    return str(code or user.username)


def _person(user: Any) -> str:
    if user is None:
        return ""
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


class LeadSpec:
    entity = "leads"
    verbose_name = gettext_lazy("线索")
    permissions = ("pipeline.add_lead",)
    identity = ""
    batch_size = 500
    dry_run_writes = False
    model = Lead

    def columns(self) -> Sequence[Column]:
        return LEAD_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        outcomes = []
        for row in rows:
            values = dict(row.values)
            outcome = RowOutcome(row=row.number, action=CREATE, label=values.get("company") or values.get("name", ""))
            outcomes.append(outcome)
            try:
                services.lead_clean(data=values)
                if values.get("owner"):
                    services.lead_owner_check(actor=actor, owner=values["owner"])
            except ValidationFailed as exc:
                refuse_with(outcome, exc, {"to_owner": "owner"})
                continue
            outcome.payload = values
        return outcomes

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        for outcome in prepared:
            try:
                with transaction.atomic():
                    services.lead_create(actor=actor, data=outcome.payload)
                result.created += 1
            except DomainError as exc:
                refuse_with(outcome, exc)
            except IntegrityError as exc:
                outcome.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
        return result


class LeadExportSpec:
    entity = "leads"
    verbose_name = gettext_lazy("线索")
    permissions = ("pipeline.view_lead",)

    def columns(self) -> Sequence[Column]:
        return LEAD_EXPORT_COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        qs = selectors.scoped_leads(actor)
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        if filters.get("source"):
            qs = qs.filter(source=filters["source"])
        qs = qs.select_related("owner__employee", "org_unit").order_by("-created_at", "-id")
        for lead in qs.iterator(chunk_size=2000):
            yield {
                "id": lead.pk,
                "name": lead.name,
                "company": lead.company,
                "phone": lead.phone,
                "email": lead.email,
                "source": lead.get_source_display(),
                "interest": lead.interest,
                "division": lead.division_id or "",
                "status": lead.get_status_display(),
                "owner": _person(lead.owner),
                "org_unit": lead.org_unit.display_name,
                "created_at": lead.created_at,
            }


OPP_HEADER_KEYS = tuple(c.key for c in OPPORTUNITY_HEADER_COLUMNS if c.key != "ref")
OPP_LINE_KEYS = tuple(c.key for c in OPPORTUNITY_LINE_COLUMNS)
#: The services' field names as column keys ("lines": the stage requires product lines).
OPP_FIELD_COLUMNS = {**{k: k for k in OPP_HEADER_KEYS}, "lines": "sku"}
OPP_DATA_KEYS = ("name", "account", "amount", "expected_close_date", "owner", "next_step", "competitors", "notes")


@dataclass
class _OpportunityPlan:
    group: RowGroup
    data: dict[str, Any]
    line_rows: list[RowOutcome]
    opportunity_id: int | None = None
    version: int | None = None


class OpportunitySpec:
    """Opportunities with their product lines, one row per line (see ``group_rows``): rows with the
    same reference (参考号) are one opportunity; without a reference each row is one. A row with an
    id (编号) of an opportunity in the actor's scope updates it: the filled header cells change,
    and when the group has lines they replace the opportunity's lines. The stage is not changed
    by an import (moves have their own rules): a different pipeline or stage is refused."""

    entity = "opportunities"
    verbose_name = gettext_lazy("商机")
    permissions = ("pipeline.add_opportunity",)
    identity = ""
    batch_size = 20001  # also the last sheet row imported (see group_rows)
    dry_run_writes = True  # the stage requirements are checked on writing
    model = Opportunity

    def columns(self) -> Sequence[Column]:
        return OPPORTUNITY_IMPORT_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        labels = column_labels(OPPORTUNITY_IMPORT_COLUMNS)
        outcomes, groups = group_rows(
            rows,
            ref_column="ref",
            fallback_column="id",
            header_columns=OPP_HEADER_KEYS,
            labels=labels,
            limit=self.batch_size,
            label=lambda v: v.get("name", ""),
            ref_required=False,
        )
        ids = {int(g.header["id"]) for g in groups if g.header.get("id", "").isdigit()}
        existing = {o.pk: o for o in selectors.scoped_opportunities(actor).filter(pk__in=ids)} if ids else {}
        for group in groups:
            if not group.refused:
                self._plan(group, existing, actor)
        return outcomes

    def _plan(self, group: RowGroup, existing: Mapping[int, Opportunity], actor: Any) -> None:
        header = group.header
        data: dict[str, Any] = {k: header[k] for k in OPP_DATA_KEYS if k in header}
        lines: list[dict[str, str]] = []
        line_rows: list[RowOutcome] = []
        for row, outcome in zip(group.rows, group.outcomes, strict=True):
            line = {k: row.values[k] for k in OPP_LINE_KEYS if row.values.get(k)}
            if line:
                lines.append(line)
                line_rows.append(outcome)
        if lines:
            data["lines"] = lines
        plan = _OpportunityPlan(group=group, data=data, line_rows=line_rows)
        instance = None
        if header.get("id"):
            instance = existing.get(int(header["id"])) if header["id"].isdigit() else None
            if instance is None:
                group.first.refuse("id", _("商机不存在：%(value)s") % {"value": header["id"]})
                group.refuse_rest()
                return
            for key, current in (("pipeline", instance.pipeline), ("stage", instance.stage)):
                given = header.get(key)
                if given and given not in {str(current.pk), current.name, getattr(current, "code", current.name)}:
                    group.first.refuse(key, _("导入不改变销售流程和阶段，请用“移动阶段”"))
            plan.opportunity_id, plan.version = instance.pk, instance.version
            group.set_action(UPDATE)
        else:
            for key in ("pipeline", "stage"):
                if key in header:
                    data[key] = header[key]
        if not group.refused:
            try:
                services.opportunity_clean(actor=actor, data=data, instance=instance)
            except ValidationFailed as exc:
                group.refuse_with(
                    exc,
                    header=OPP_FIELD_COLUMNS,
                    nested="lines",
                    nested_rows=line_rows,
                    nested_columns={k: k for k in OPP_LINE_KEYS},
                )
        group.refuse_rest()
        for outcome in group.outcomes:
            outcome.payload = plan

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        plans: dict[int, _OpportunityPlan] = {}
        for outcome in prepared:
            plans.setdefault(id(outcome.payload), outcome.payload)
        for plan in plans.values():
            rows = len(plan.group.outcomes)
            try:
                with transaction.atomic():
                    if plan.opportunity_id is None:
                        services.opportunity_create(actor=actor, data=plan.data)
                        result.created += rows
                    else:
                        opportunity = services.opportunity_update(
                            actor=actor,
                            opportunity_id=plan.opportunity_id,
                            data=plan.data,
                            expected_version=plan.version,
                        )
                        if opportunity.version != plan.version:
                            result.updated += rows
            except DomainError as exc:
                plan.group.refuse_with(
                    exc,
                    header=OPP_FIELD_COLUMNS,
                    nested="lines",
                    nested_rows=plan.line_rows,
                    nested_columns={k: k for k in OPP_LINE_KEYS},
                )
            except IntegrityError as exc:
                plan.group.first.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
                plan.group.refuse_rest()
        return result


class OpportunityExportSpec:
    entity = "opportunities"
    verbose_name = gettext_lazy("商机")
    permissions = ("pipeline.view_opportunity",)

    def columns(self) -> Sequence[Column]:
        return OPPORTUNITY_EXPORT_COLUMNS

    def rows(self, actor: Any, filters: Mapping[str, str]) -> Iterable[Mapping[str, Any]]:
        def number(name: str) -> int | None:
            value = filters.get(name) or ""
            return int(value) if value.isdigit() else None

        f = selectors.OpportunityFilters(
            pipeline=number("pipeline"),
            stage=number("stage"),
            status=filters.get("status") or "",
            owner=number("owner"),
            org_unit=number("org_unit"),
            close_month=filters.get("close_month") or "",
        )
        qs = (
            selectors.opportunity_filter(selectors.scoped_opportunities(actor), f)
            .select_related("account", "pipeline", "stage", "owner__employee", "org_unit", "lost_reason")
            .prefetch_related(Prefetch("lines", queryset=OpportunityLine.objects.select_related("sku").order_by("id")))
            .order_by("-created_at", "-id")
        )
        for o in qs.iterator(chunk_size=1000):
            header = {
                "id": o.pk,
                "ref": "",
                "name": o.name,
                "account": o.account.code or o.account.pk,
                "account_name": o.account.name,
                "pipeline": o.pipeline.code,
                "stage": o.stage.name,
                "probability": o.stage.probability,
                "status": o.get_status_display(),
                "amount": o.amount,
                "expected_close_date": o.expected_close_date,
                "owner": _user_key(o.owner),
                "owner_name": _person(o.owner),
                "org_unit": o.org_unit.display_name,
                "next_step": o.next_step,
                "competitors": o.competitors,
                "notes": o.notes,
                "lost_reason": o.lost_reason.name if o.lost_reason else "",
                "created_at": o.created_at,
                "closed_at": o.closed_at,
            }
            lines = list(o.lines.all())
            if not lines:
                yield header
            for line in lines:
                yield {
                    **header,
                    "sku": line.sku.code,
                    "sku_name": line.sku.name,
                    "unit": line.unit,
                    "quantity": plain_decimal(line.quantity),
                    "price": line.price,
                    "line_amount": line.amount,
                }


register(LeadSpec())
register(LeadExportSpec())
register(OpportunitySpec())
register(OpportunityExportSpec())
