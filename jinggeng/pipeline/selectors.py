"""Reads for the sales process, always for an actor: the actor's data scope comes first.

Leads, opportunities and activities are scoped like accounts: the actor's own records plus
those of the org units in their scope (jinggeng.org.scope). Out of scope: NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_history
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import Page, keyset_paginate
from jinggeng.core.scope import ScopeLevel, apply_scope
from jinggeng.org.models import OrgUnit
from jinggeng.org.scope import scope_for
from jinggeng.pipeline.models import (
    Activity,
    Lead,
    LeadAssignment,
    LossReason,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageChange,
)

LEAD_SORTS = ("created_at", "updated_at", "name", "id")
OPPORTUNITY_SORTS = ("created_at", "updated_at", "name", "amount", "id")
ACTIVITY_SORTS = ("created_at", "id")


def _subtree(unit_id: int) -> list[int]:
    """The ids of the unit and the units below it, as a list: as a subquery the planner joins it
    and sorts every row of a board column, instead of walking the ordered index of each unit."""
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return []
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


# --------------------------------------------------------------------------- leads


@dataclass(frozen=True)
class LeadFilters:
    q: str = ""
    status: str = ""
    source: str = ""
    owner: int | None = None
    org_unit: int | None = None


def scoped_leads(actor: Any) -> QuerySet[Lead]:
    if not actor.has_perm("pipeline.view_lead"):
        return Lead.objects.none()
    return apply_scope(Lead.objects.all(), scope_for(actor))


def lead_list(
    *,
    actor: Any,
    filters: LeadFilters | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Lead]:
    f = filters or LeadFilters()
    qs = scoped_leads(actor)
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(name__startswith=term) | Q(company__startswith=term) | Q(phone=term))
    if f.status:
        qs = qs.filter(status=f.status)
    if f.source:
        qs = qs.filter(source=f.source)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.org_unit:
        qs = qs.filter(org_unit_id__in=_subtree(f.org_unit))
    qs = qs.select_related("owner__employee", "org_unit", "division")
    return keyset_paginate(qs, sort=sort, allowed_sorts=LEAD_SORTS, cursor=cursor, limit=limit)


def lead_get(*, actor: Any, lead_id: int) -> Lead:
    lead = (
        scoped_leads(actor)
        .select_related("owner__employee", "org_unit", "division", "account", "contact", "opportunity")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise NotFound(_("线索不存在"))
    return lead


def lead_history(*, actor: Any, lead_id: int) -> QuerySet[AuditLog]:
    lead = lead_get(actor=actor, lead_id=lead_id)
    return audit_history(entity="pipeline.lead", entity_id=lead.pk)


def lead_assignments(*, actor: Any, lead_id: int) -> QuerySet[LeadAssignment]:
    lead = lead_get(actor=actor, lead_id=lead_id)
    return lead.assignments.select_related("from_owner__employee", "to_owner__employee", "to_unit", "by__employee")


# --------------------------------------------------------------------------- opportunities


@dataclass(frozen=True)
class OpportunityFilters:
    """``period_from`` / ``period_to`` limit the expected close date; ``created_from`` /
    ``created_to`` the creation date (the funnel's cohort); ``reached_stage`` keeps the
    opportunities that ever entered that stage or a later one (the funnel's drill-down)."""

    q: str = ""
    pipeline: int | None = None
    stage: int | None = None
    status: str = ""
    owner: int | None = None
    org_unit: int | None = None
    account: int | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    close_month: str = ""
    reached_stage: int | None = None
    lost_reason: int | None = None


def scoped_opportunities(actor: Any) -> QuerySet[Opportunity]:
    if not actor.has_perm("pipeline.view_opportunity"):
        return Opportunity.objects.none()
    return apply_scope(Opportunity.objects.all(), scope_for(actor))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def opportunity_filter(qs: QuerySet[Opportunity], f: OpportunityFilters) -> QuerySet[Opportunity]:
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(name__startswith=term) | Q(account__name__startswith=term))
    if f.pipeline:
        qs = qs.filter(pipeline_id=f.pipeline)
    if f.stage:
        qs = qs.filter(stage_id=f.stage)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.org_unit:
        qs = qs.filter(org_unit_id__in=_subtree(f.org_unit))
    if f.account:
        qs = qs.filter(account_id=f.account)
    if f.period_from:
        qs = qs.filter(expected_close_date__gte=f.period_from)
    if f.period_to:
        qs = qs.filter(expected_close_date__lte=f.period_to)
    if f.created_from:
        qs = qs.filter(created_at__gte=_day_start(f.created_from))
    if f.created_to:
        qs = qs.filter(created_at__lt=_day_start(f.created_to + dt.timedelta(days=1)))
    if f.close_month:
        try:
            first = dt.date.fromisoformat(f"{f.close_month}-01")
        except ValueError:
            raise ValidationFailed(_("月份格式应为 YYYY-MM"), field="close_month") from None
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        qs = qs.filter(expected_close_date__gte=first, expected_close_date__lt=following)
    if f.reached_stage:
        stage = Stage.objects.filter(pk=f.reached_stage).first()
        if stage is None:
            return qs.none()
        reached = StageChange.objects.filter(
            to_stage__pipeline_id=stage.pipeline_id, to_stage__is_lost=False, to_stage__order__gte=stage.order
        ).values("opportunity_id")
        qs = qs.filter(pk__in=reached)
    if f.lost_reason:
        qs = qs.filter(lost_reason_id=f.lost_reason)
    return qs


def opportunity_list(
    *,
    actor: Any,
    filters: OpportunityFilters | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Opportunity]:
    qs = opportunity_filter(scoped_opportunities(actor), filters or OpportunityFilters())
    qs = qs.select_related("account", "owner__employee", "org_unit", "pipeline", "stage", "lost_reason")
    return keyset_paginate(qs, sort=sort, allowed_sorts=OPPORTUNITY_SORTS, cursor=cursor, limit=limit)


def opportunity_get(*, actor: Any, opportunity_id: int) -> Opportunity:
    opportunity = (
        scoped_opportunities(actor)
        .select_related("account", "owner__employee", "org_unit", "pipeline", "stage", "lost_reason")
        .prefetch_related("lines__sku")
        .filter(pk=opportunity_id)
        .first()
    )
    if opportunity is None:
        raise NotFound(_("商机不存在"))
    return opportunity


def opportunity_history(*, actor: Any, opportunity_id: int) -> QuerySet[AuditLog]:
    opportunity = opportunity_get(actor=actor, opportunity_id=opportunity_id)
    return audit_history(entity="pipeline.opportunity", entity_id=opportunity.pk)


@dataclass(frozen=True)
class StageSpell:
    stage: Stage
    entered_at: dt.datetime
    left_at: dt.datetime | None
    by: Any

    @property
    def duration(self) -> dt.timedelta:
        return (self.left_at or timezone.now()) - self.entered_at

    @property
    def days(self) -> float:
        return round(self.duration.total_seconds() / 86400, 1)


def opportunity_stage_history(*, actor: Any, opportunity_id: int) -> list[StageSpell]:
    """Each stage the opportunity was in, when it entered and left, and who moved it."""
    opportunity = opportunity_get(actor=actor, opportunity_id=opportunity_id)
    changes = list(opportunity.stage_changes.select_related("to_stage", "by__employee").order_by("at", "id"))
    spells = []
    for index, change in enumerate(changes):
        left = changes[index + 1].at if index + 1 < len(changes) else None
        spells.append(StageSpell(stage=change.to_stage, entered_at=change.at, left_at=left, by=change.by))
    return spells


def opportunity_cycle_days(opportunity: Opportunity) -> float | None:
    """Sales cycle length: from creation to closing (won or lost), in days."""
    if opportunity.closed_at is None:
        return None
    return round((opportunity.closed_at - opportunity.created_at).total_seconds() / 86400, 1)


def pipeline_list() -> QuerySet[Pipeline]:
    """Pipelines are company-wide configuration."""
    return Pipeline.objects.filter(active=True).prefetch_related("stages")


def pipeline_get(*, pipeline_id: int) -> Pipeline:
    pipeline = pipeline_list().filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound(_("销售流程不存在"))
    return pipeline


def loss_reason_list(*, include_inactive: bool = False) -> QuerySet[LossReason]:
    qs = LossReason.objects.all()
    return qs if include_inactive else qs.filter(active=True)


@dataclass(frozen=True)
class BoardCard:
    """What a board card shows (API and page), read as plain values: building 300 cards as
    model instances (opportunity, account, user, employee each) cost about 20 ms a board."""

    pk: int
    name: str
    version: int
    status: str
    stage_id: int
    amount: Decimal
    expected_close_date: dt.date | None
    account_id: int
    account_name: str
    owner_id: int | None
    owner_name: str | None

    @property
    def id(self) -> int:
        return self.pk

    @classmethod
    def from_values(cls, row: Sequence[Any]) -> BoardCard:
        """The card of one ``values_list(*CARD_VALUES)`` row."""
        pk, name, version, status, stage_id, amount, close, account_id, account, owner_id, username, who = row
        return cls(
            pk=pk,
            name=name,
            version=version,
            status=status,
            stage_id=stage_id,
            amount=amount,
            expected_close_date=close,
            account_id=account_id,
            account_name=account,
            owner_id=owner_id,
            owner_name=(who or username) if owner_id is not None else None,
        )

    @classmethod
    def of(cls, opportunity: Opportunity) -> BoardCard:
        """The card of one opportunity the caller has already found in scope (a moved card
        re-rendered on its own)."""
        return cls.from_values(Opportunity.objects.filter(pk=opportunity.pk).values_list(*CARD_VALUES).get())


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[BoardCard]
    count: int
    amount: Decimal
    weighted: Decimal


CARD_VALUES = (
    "id",
    "name",
    "version",
    "status",
    "stage_id",
    "amount",
    "expected_close_date",
    "account_id",
    "account__name",
    "owner_id",
    "owner__username",
    "owner__employee__name",
)


def _scope_parts(actor: Any, pipeline: Pipeline, f: OpportunityFilters) -> list[QuerySet[Opportunity]]:
    """The actor's opportunities of ``pipeline`` (as `scoped_opportunities` and ``f``) as disjoint
    parts an index serves one by one: those of the org units in scope, and the actor's own in
    other units (the scope's "owner OR unit" split in two)."""
    if not actor.has_perm("pipeline.view_opportunity"):
        return []
    scope = scope_for(actor)
    base = opportunity_filter(Opportunity.objects.filter(pipeline=pipeline), f)
    if scope.everything:
        return [base]
    units = sorted(scope.unit_ids) if scope.unit_ids and scope.level in (ScopeLevel.TEAM, ScopeLevel.SUBTREE) else []
    parts = [base.filter(org_unit_id__in=units)] if units else []
    if scope.user_id is not None:
        own = base.filter(owner_id=scope.user_id)
        parts.append(own.exclude(org_unit_id__in=units) if units else own)
    return parts


def opportunity_board(
    *, actor: Any, pipeline_id: int, filters: OpportunityFilters | None = None, per_column: int = 50
) -> list[BoardColumn]:
    """The kanban board: per stage the first cards (largest first) and the stage totals.

    The actor's opportunities are read as disjoint parts (`_scope_parts`) so each is served by
    the (pipeline, org unit, stage, amount) index: totals from the index alone, and per stage the
    largest cards by an ordered index scan that stops after ``per_column`` rows."""
    pipeline = pipeline_get(pipeline_id=pipeline_id)
    f = filters or OpportunityFilters()
    totals: dict[int, dict[str, Any]] = defaultdict(lambda: {"n": 0, "total": Decimal("0")})
    candidates: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    for part in _scope_parts(actor, pipeline, f):
        counts = part.order_by().values("stage_id").annotate(n=Count("id"), total=Sum("amount")).order_by("stage_id")
        small: list[int] = []
        tops = []
        for agg in counts:
            totals[agg["stage_id"]]["n"] += agg["n"]
            totals[agg["stage_id"]]["total"] += agg["total"] or Decimal("0")
            if agg["n"] <= per_column:
                small.append(agg["stage_id"])
            else:
                ordered = part.filter(stage_id=agg["stage_id"]).order_by("-amount", "id")
                tops.append(ordered.values_list("id", "stage_id", "amount")[:per_column])
        if small:
            tops.append(part.filter(stage_id__in=small).order_by().values_list("id", "stage_id", "amount"))
        # One round trip where the database can (the columns' ordered scans as one UNION ALL).
        if len(tops) > 1 and connection.features.supports_slicing_ordering_in_compound:
            tops = [tops[0].union(*tops[1:], all=True)]
        for top in tops:
            for pk, stage_id, amount in top:
                candidates[stage_id].append((amount, pk))
    top_ids = [
        pk
        for rows in candidates.values()
        for _amount, pk in sorted(rows, key=lambda row: (-row[0], row[1]))[:per_column]
    ]
    columns = []
    ranked = Opportunity.objects.filter(pk__in=top_ids).values_list(*CARD_VALUES).order_by("stage_id", "-amount", "id")
    cards_by_stage: dict[int, list[BoardCard]] = defaultdict(list)
    for values in ranked:
        card = BoardCard.from_values(values)
        cards_by_stage[card.stage_id].append(card)
    for stage in pipeline.stages.all():
        cards = cards_by_stage.get(stage.pk, [])
        row: dict[str, Any] = dict(totals.get(stage.pk, {}))
        amount = row.get("total") or Decimal("0")
        columns.append(
            BoardColumn(
                stage=stage,
                cards=cards,
                count=row.get("n", 0),
                amount=amount,
                weighted=(amount * stage.probability / 100).quantize(Decimal("0.01")),
            )
        )
    return columns


# --------------------------------------------------------------------------- activities


@dataclass(frozen=True)
class ActivityFilters:
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    owner: int | None = None
    kind: str = ""
    open_only: bool = False
    account: int | None = None
    lead: int | None = None
    opportunity: int | None = None
    team: bool = True


def scoped_activities(actor: Any) -> QuerySet[Activity]:
    if not actor.has_perm("pipeline.view_activity"):
        return Activity.objects.none()
    return apply_scope(Activity.objects.all(), scope_for(actor))


def activity_filter(actor: Any, qs: QuerySet[Activity], f: ActivityFilters) -> QuerySet[Activity]:
    if not f.team:
        qs = qs.filter(owner_id=actor.pk)
    if f.owner:
        qs = qs.filter(owner_id=f.owner)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.open_only:
        qs = qs.filter(done_at__isnull=True)
    if f.start:
        qs = qs.filter(due_at__gte=f.start)
    if f.end:
        qs = qs.filter(due_at__lt=f.end)
    if f.account:
        qs = qs.filter(account_id=f.account)
    if f.lead:
        qs = qs.filter(lead_id=f.lead)
    if f.opportunity:
        qs = qs.filter(opportunity_id=f.opportunity)
    return qs


def activity_list(
    *,
    actor: Any,
    filters: ActivityFilters | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Activity]:
    qs = activity_filter(actor, scoped_activities(actor), filters or ActivityFilters())
    qs = qs.select_related("owner__employee", "account", "lead", "opportunity", "contact")
    return keyset_paginate(qs, sort=sort, allowed_sorts=ACTIVITY_SORTS, cursor=cursor, limit=limit)


def activity_get(*, actor: Any, activity_id: int) -> Activity:
    activity = (
        scoped_activities(actor)
        .select_related("owner__employee", "account", "lead", "opportunity", "contact", "org_unit")
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise NotFound(_("活动不存在"))
    return activity


def activity_history(*, actor: Any, activity_id: int) -> QuerySet[AuditLog]:
    activity = activity_get(actor=actor, activity_id=activity_id)
    return audit_history(entity="pipeline.activity", entity_id=activity.pk)


def activity_calendar(
    *, actor: Any, start: dt.datetime, end: dt.datetime, team: bool = False, owner: int | None = None, limit: int = 2000
) -> list[Activity]:
    """Scheduled activities between ``start`` and ``end``: one's own, or (``team``) everyone's in
    the actor's scope — a manager's team."""
    f = ActivityFilters(start=start, end=end, team=team, owner=owner)
    qs = activity_filter(actor, scoped_activities(actor), f).select_related("owner__employee", "account")
    return list(qs.order_by("due_at", "id")[:limit])


def activity_feed_items(*, user: Any, days_back: int = 90, days_ahead: int = 365) -> list[Activity]:
    """The user's own scheduled activities for their calendar feed."""
    now = timezone.now()
    return list(
        Activity.objects.filter(
            owner_id=user.pk,
            due_at__isnull=False,
            due_at__gte=now - dt.timedelta(days=days_back),
            due_at__lte=now + dt.timedelta(days=days_ahead),
        )
        .select_related("account")
        .order_by("due_at", "id")[:5000]
    )


# --------------------------------------------------------------------------- funnel and forecast


@dataclass(frozen=True)
class FunnelStage:
    stage_id: int
    name: str
    order: int
    probability: int
    is_won: bool
    is_lost: bool
    count: int
    amount: Decimal
    reached: int
    conversion: float | None  # share of those who reached this stage who reached the next


@dataclass(frozen=True)
class Funnel:
    pipeline_id: int
    stages: list[FunnelStage]
    total: int
    won: int
    lost: int
    win_rate: float | None
    avg_cycle_days: float | None
    won_amount: Decimal
    filters: OpportunityFilters = field(default_factory=OpportunityFilters)


IRREGULAR_LIST = 20_000


def _reached_max(
    pipeline: Pipeline, qs: QuerySet[Opportunity] | None, now_in: dict[int, tuple[int, Decimal]]
) -> dict[int, int]:
    """{highest non-lost stage order an opportunity reached: how many opportunities}.

    Read from the stage history without grouping it per opportunity (millions of rows): every
    opportunity has a history from its creation (`opportunity_create` writes the first change).
    A history is *regular* when it only moves up the stage order and, if it is lost, ends there.
    A regular opportunity in a non-lost stage reached exactly that stage (``now_in`` counts them);
    a regular lost one reached the stage it was lost from (its move into the lost stage says
    which). Only the irregular few (moved back, or reopened after being lost) are aggregated
    from their whole history. ``qs`` limits the opportunities (None: the whole pipeline)."""
    stages = list(pipeline.stages.all())
    order = {s.pk: s.order for s in stages}
    open_ids = sorted(s.pk for s in stages if not s.is_lost)
    lost_ids = sorted(s.pk for s in stages if s.is_lost)
    if not open_ids:
        return {}
    back = Q(pk__in=[])
    for source in stages:
        if source.is_lost:
            back |= Q(from_stage_id=source.pk)
        else:
            lower = [t.pk for t in stages if not t.is_lost and t.order <= source.order]
            back |= Q(from_stage_id=source.pk, to_stage_id__in=lower)
    moved = StageChange.objects.filter(back).order_by().values("opportunity_id")
    # Few, as a rule: a literal list keeps the planner's estimates right; many: a subquery.
    # (No DISTINCT / LIMIT: either makes PostgreSQL walk the whole history in id order.)
    found = sorted(set(moved.values_list("opportunity_id", flat=True)))
    irregular: Any = found if len(found) <= IRREGULAR_LIST else moved
    opportunities = qs.order_by() if qs is not None else Opportunity.objects.filter(pipeline=pipeline)
    reached: dict[int, int] = defaultdict(int)
    # Regular opportunities in a non-lost stage: the stage they are in.
    moved_back = (
        dict(opportunities.filter(pk__in=irregular).values_list("stage_id").annotate(n=Count("id")).order_by())
        if found
        else {}
    )
    for stage_id, (count, _amount) in now_in.items():
        if stage_id in order and stage_id not in lost_ids:
            reached[order[stage_id]] += count - moved_back.get(stage_id, 0)
    # Regular lost opportunities: the stage they were lost from (all moves into a lost stage,
    # less those of the irregular few; two counts the index answers alone).
    if lost_ids:
        lost_moves = StageChange.objects.filter(to_stage_id__in=lost_ids, from_stage_id__in=open_ids)
        if qs is not None:
            lost_moves = lost_moves.filter(opportunity_id__in=qs.order_by().filter(stage_id__in=lost_ids).values("id"))
        parts = [(lost_moves, 1)] + ([(lost_moves.filter(opportunity_id__in=irregular), -1)] if found else [])
        for moves, sign in parts:
            for from_stage, count in moves.order_by().values_list("from_stage_id").annotate(n=Count("*")):
                reached[order[from_stage]] += sign * count
    if not found:
        return {k: n for k, n in reached.items() if n}
    # The irregular few: the highest non-lost stage in their history.
    top = Max(Case(*(When(to_stage_id=pk, then=Value(order[pk])) for pk in open_ids)))
    changes = StageChange.objects.filter(to_stage_id__in=open_ids, opportunity_id__in=irregular)
    if qs is not None:
        changes = changes.filter(opportunity_id__in=qs.order_by().values("id"))
    inner = changes.order_by().values("opportunity_id").annotate(reached_top=top).values("reached_top")
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t.reached_top, COUNT(*) FROM ({sql}) t GROUP BY t.reached_top", params)  # noqa: S608
        for top_order, count in cursor.fetchall():
            if top_order is not None:
                reached[int(top_order)] += int(count)
    return {k: n for k, n in reached.items() if n}


def funnel(*, actor: Any, pipeline_id: int, filters: OpportunityFilters | None = None) -> Funnel:
    """Per stage: opportunities now in it (count, amount) and how many ever reached it or a later
    stage (from the stage history); stage-to-stage conversion; win rate; average cycle length
    of won deals. Scoped to the actor; ``filters`` limit owner, org unit and period."""
    pipeline = pipeline_get(pipeline_id=pipeline_id)
    f = filters or OpportunityFilters()
    qs = opportunity_filter(scoped_opportunities(actor).filter(pipeline=pipeline), f)
    # One pass over the opportunities: per stage the count and amount, the won / lost counts,
    # the won amount and the summed cycle of the won deals (status follows the stage).
    won_q = Q(status=OpportunityStatus.WON)
    cycle_q = won_q & Q(closed_at__isnull=False)
    rows = list(
        qs.order_by()
        .values("stage_id")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            won_n=Count("id", filter=won_q),
            lost_n=Count("id", filter=Q(status=OpportunityStatus.LOST)),
            won_total=Sum("amount", filter=won_q),
            cycle_n=Count("id", filter=cycle_q),
            cycle=Sum(
                ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()), filter=cycle_q
            ),
        )
        .order_by("stage_id")
    )
    now_in = {row["stage_id"]: (row["n"], row["total"] or Decimal("0")) for row in rows}
    stages = list(pipeline.stages.all())
    open_stages = [s for s in stages if not s.is_lost]
    unfiltered = (
        f == OpportunityFilters() and actor.has_perm("pipeline.view_opportunity") and scope_for(actor).everything
    )
    reached_max = _reached_max(pipeline, None if unfiltered else qs, now_in)
    reached: dict[int, int] = {}
    for stage in open_stages:
        reached[stage.pk] = sum(n for order, n in reached_max.items() if order >= stage.order)
    result = []
    for stage in stages:
        count, amount = now_in.get(stage.pk, (0, Decimal("0")))
        conversion = None
        if not stage.is_lost and not stage.is_won:
            following = next((s for s in open_stages[open_stages.index(stage) + 1 :]), None)
            if following is not None and reached[stage.pk]:
                conversion = round(reached[following.pk] / reached[stage.pk], 4)
        result.append(
            FunnelStage(
                stage_id=stage.pk,
                name=stage.name,
                order=stage.order,
                probability=stage.probability,
                is_won=stage.is_won,
                is_lost=stage.is_lost,
                count=count,
                amount=amount,
                reached=reached.get(stage.pk, count),
                conversion=conversion,
            )
        )
    won = sum(row["won_n"] for row in rows)
    lost = sum(row["lost_n"] for row in rows)
    cycle_n = sum(row["cycle_n"] for row in rows)
    seconds = sum((row["cycle"].total_seconds() for row in rows if row["cycle"] is not None), 0.0)
    avg_cycle = round(seconds / cycle_n / 86400, 1) if cycle_n else None
    won_amount = sum((row["won_total"] or Decimal("0") for row in rows), Decimal("0"))
    return Funnel(
        pipeline_id=pipeline.pk,
        stages=result,
        total=sum(row["n"] for row in rows),
        won=won,
        lost=lost,
        win_rate=round(won / (won + lost), 4) if won + lost else None,
        avg_cycle_days=avg_cycle,
        won_amount=won_amount,
        filters=f,
    )


@dataclass(frozen=True)
class ForecastMonth:
    month: str  # YYYY-MM
    count: int
    amount: Decimal
    weighted: Decimal


def forecast(
    *, actor: Any, pipeline_id: int | None = None, filters: OpportunityFilters | None = None
) -> list[ForecastMonth]:
    """Open opportunities by expected close month: amount and amount × stage probability."""
    f = filters or OpportunityFilters()
    qs = scoped_opportunities(actor).filter(status=OpportunityStatus.OPEN, expected_close_date__isnull=False)
    if pipeline_id:
        qs = qs.filter(pipeline_id=pipeline_id)
    qs = opportunity_filter(qs, f)
    weighted = ExpressionWrapper(
        F("amount") * F("stage__probability"), output_field=DecimalField(max_digits=20, decimal_places=2)
    )
    rows = (
        qs.annotate(month=TruncMonth("expected_close_date"))
        .values("month")
        .annotate(n=Count("id"), total=Sum("amount"), w=Sum(weighted))
        .order_by("month")
    )
    result = []
    for row in rows:
        month = row["month"]
        result.append(
            ForecastMonth(
                month=f"{month:%Y-%m}",
                count=row["n"],
                amount=Decimal(row["total"] or 0).quantize(Decimal("0.01")),
                weighted=(Decimal(row["w"] or 0) / 100).quantize(Decimal("0.01")),
            )
        )
    return result


def filter_choices(*, actor: Any, limit: int = 300) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(owners, org units) the actor may filter by: the people and units in their scope."""
    from jinggeng.org.models import Employee
    from jinggeng.org.scope import visible_unit_ids

    scope = scope_for(actor)
    people = Employee.objects.filter(status="active")
    if not scope.everything:
        people = people.filter(scope.q(owner_field="user", unit_field="org_unit"))
    owners = [(user_id, name) for user_id, name in people.order_by("name").values_list("user_id", "name")[:limit]]
    units_qs = OrgUnit.objects.filter(active=True)
    visible = visible_unit_ids(actor)
    if visible is not None:
        units_qs = units_qs.filter(pk__in=sorted(visible))
    units = [(unit.pk, "　" * unit.depth + unit.display_name) for unit in units_qs.order_by("path")[:limit]]
    return owners, units
