"""Import of leads and export of leads and opportunities (``jinggeng import leads …``).

Every imported row creates a lead through `lead_create`, so it is validated, routed by
territory and round robin (or given to the named owner) and audited like one made by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.core.errors import DomainError, ValidationFailed
from jinggeng.core.tabular.registry import register
from jinggeng.core.tabular.spec import CREATE, Column, CommitResult, RowOutcome, SourceRow, refuse_with
from jinggeng.pipeline import selectors, services
from jinggeng.pipeline.models import Lead, Opportunity

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
OPPORTUNITY_IMPORT_COLUMNS = (
    Column("name", gettext_lazy("商机名称"), "Opportunity", required=True),
    Column("account", gettext_lazy("客户编码"), "Account code", required=True),
    Column("pipeline", gettext_lazy("销售流程"), "Pipeline", help=gettext_lazy("编码或名称；留空为第一个流程")),
    Column("stage", gettext_lazy("阶段"), "Stage", help=gettext_lazy("阶段名称；留空为第一个阶段")),
    Column("amount", gettext_lazy("金额"), "Amount"),
    Column("expected_close_date", gettext_lazy("预计成交日期"), "Expected close", help="YYYY-MM-DD"),
    Column("owner", gettext_lazy("负责人"), "Owner", help=gettext_lazy("用户名或工号；留空为本人")),
    Column("next_step", gettext_lazy("下一步"), "Next step"),
    Column("competitors", gettext_lazy("竞争对手"), "Competitors"),
    Column("notes", gettext_lazy("备注"), "Notes"),
)
OPPORTUNITY_EXPORT_COLUMNS = (
    Column("id", gettext_lazy("编号"), "ID"),
    Column("name", gettext_lazy("商机名称"), "Opportunity"),
    Column("account", gettext_lazy("客户"), "Account"),
    Column("pipeline", gettext_lazy("销售流程"), "Pipeline"),
    Column("stage", gettext_lazy("阶段"), "Stage"),
    Column("probability", gettext_lazy("赢率（%）"), "Probability (%)"),
    Column("status", gettext_lazy("状态"), "Status"),
    Column("amount", gettext_lazy("金额"), "Amount"),
    Column("expected_close_date", gettext_lazy("预计成交日期"), "Expected close"),
    Column("owner", gettext_lazy("负责人"), "Owner"),
    Column("org_unit", gettext_lazy("所属组织"), "Org unit"),
    Column("lost_reason", gettext_lazy("丢单原因"), "Loss reason"),
    Column("created_at", gettext_lazy("创建时间"), "Created at"),
    Column("closed_at", gettext_lazy("关闭时间"), "Closed at"),
)


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


class OpportunitySpec:
    """Opportunities from a spreadsheet: each row creates one (product lines are added on the page
    or through the API)."""

    entity = "opportunities"
    verbose_name = gettext_lazy("商机")
    permissions = ("pipeline.add_opportunity",)
    identity = ""
    batch_size = 500
    dry_run_writes = False
    model = Opportunity

    def columns(self) -> Sequence[Column]:
        return OPPORTUNITY_IMPORT_COLUMNS

    def prepare(self, rows: Sequence[SourceRow], actor: Any) -> list[RowOutcome]:
        outcomes = []
        for row in rows:
            values = dict(row.values)
            outcome = RowOutcome(row=row.number, action=CREATE, label=values.get("name", ""))
            outcomes.append(outcome)
            try:
                services.opportunity_clean(actor=actor, data=values)
            except ValidationFailed as exc:
                refuse_with(outcome, exc)
                continue
            outcome.payload = values
        return outcomes

    def commit(self, prepared: Sequence[RowOutcome], actor: Any) -> CommitResult:
        result = CommitResult()
        for outcome in prepared:
            try:
                with transaction.atomic():
                    services.opportunity_create(actor=actor, data=outcome.payload)
                result.created += 1
            except DomainError as exc:
                refuse_with(outcome, exc)
            except IntegrityError as exc:
                outcome.refuse("", _("数据库拒绝了这一行：%(error)s") % {"error": exc})
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
            .order_by("-created_at", "-id")
        )
        for o in qs.iterator(chunk_size=2000):
            yield {
                "id": o.pk,
                "name": o.name,
                "account": o.account.name,
                "pipeline": o.pipeline.name,
                "stage": o.stage.name,
                "probability": o.stage.probability,
                "status": o.get_status_display(),
                "amount": o.amount,
                "expected_close_date": o.expected_close_date,
                "owner": _person(o.owner),
                "org_unit": o.org_unit.display_name,
                "lost_reason": o.lost_reason.name if o.lost_reason else "",
                "created_at": o.created_at,
                "closed_at": o.closed_at,
            }


register(LeadSpec())
register(LeadExportSpec())
register(OpportunitySpec())
register(OpportunityExportSpec())
