"""JSON API of the sales process: thin endpoints over services and selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema, Status

from jinggeng.core.api import HISTORY_LIMIT, AuditEntryOut
from jinggeng.pipeline import selectors, services
from jinggeng.pipeline.models import Activity, Lead, Opportunity, Stage
from jinggeng.pipeline.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPage,
    ActivityPatch,
    AssignIn,
    AssignmentOut,
    BoardColumnOut,
    CalendarFeedOut,
    ConvertIn,
    ForecastMonthOut,
    FunnelOut,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    LoseIn,
    LossReasonIn,
    LossReasonOut,
    MoveIn,
    OpportunityIn,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    PipelineOut,
    StageSpellOut,
    WinIn,
)

router = Router(tags=["pipeline"])
API = "/api/v1/pipeline"


def _name(user: Any) -> str | None:
    if user is None:
        return None
    try:
        return str(user.employee.name)
    except Exception:
        return str(user.username)


def _user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": _name(user)}


def _ref(obj: Any, attr: str = "name") -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": str(getattr(obj, attr))}


def _limit(limit: int) -> int:
    return max(1, min(limit, settings.PAGE_SIZE_MAX))


def _history(rows: Any) -> list[Any]:
    return list(rows[:HISTORY_LIMIT])


def _patch_data(payload: Schema) -> tuple[dict[str, Any], int | None]:
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return data, version


# --------------------------------------------------------------------------- leads


def lead_out(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "name": lead.name,
        "company": lead.company,
        "phone": lead.phone,
        "email": lead.email,
        "source": lead.source,
        "status": lead.status,
        "interest": lead.interest,
        "division": lead.division_id,
        "owner": _user_ref(lead.owner),
        "org_unit": {"id": lead.org_unit_id, "name": lead.org_unit.display_name},
        "account": _ref(lead.account),
        "contact": _ref(lead.contact),
        "opportunity": _ref(lead.opportunity),
        "converted_at": lead.converted_at,
        "notes": lead.notes,
        "version": lead.version,
        "created_at": lead.created_at,
    }


class LeadQuery(Schema):
    q: str = ""
    status: str = ""
    source: str = ""
    owner: int | None = None
    org_unit: int | None = None
    sort: str = "-created_at"
    cursor: str | None = None
    limit: int = 50


@router.get("/leads", response=LeadPage, summary="List leads in your scope")
def list_leads(request: HttpRequest, query: Query[LeadQuery]) -> dict[str, Any]:
    filters = selectors.LeadFilters(
        q=query.q, status=query.status, source=query.source, owner=query.owner, org_unit=query.org_unit
    )
    page = selectors.lead_list(
        actor=request.user, filters=filters, sort=query.sort, cursor=query.cursor, limit=_limit(query.limit)
    )
    return {"items": [lead_out(x) for x in page.items], "next_cursor": page.next_cursor}


@router.post("/leads", response={201: LeadOut}, summary="Create a lead (routed by territory and round robin)")
def create_lead(request: HttpRequest, payload: LeadIn) -> Status[dict[str, Any]]:
    lead = services.lead_create(actor=request.user, data=payload.model_dump())
    return Status(201, lead_out(Lead.objects.select_related("owner__employee", "org_unit").get(pk=lead.pk)))


@router.get("/leads/{lead_id}", response=LeadOut, summary="One lead")
def get_lead(request: HttpRequest, lead_id: int) -> dict[str, Any]:
    return lead_out(selectors.lead_get(actor=request.user, lead_id=lead_id))


@router.patch("/leads/{lead_id}", response=LeadOut, summary="Change a lead (send `version`)")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch) -> dict[str, Any]:
    data, version = _patch_data(payload)
    services.lead_update(actor=request.user, lead_id=lead_id, data=data, expected_version=version)
    return lead_out(selectors.lead_get(actor=request.user, lead_id=lead_id))


@router.delete("/leads/{lead_id}", response={204: None}, summary="Delete a lead")
def delete_lead(request: HttpRequest, lead_id: int) -> Status[None]:
    services.lead_delete(actor=request.user, lead_id=lead_id)
    return Status(204, None)


@router.get("/leads/{lead_id}/history", response=list[AuditEntryOut], summary="Change history of a lead")
def lead_history(request: HttpRequest, lead_id: int) -> list[Any]:
    return _history(selectors.lead_history(actor=request.user, lead_id=lead_id))


@router.get("/leads/{lead_id}/assignments", response=list[AssignmentOut], summary="Who the lead was given to")
def lead_assignments(request: HttpRequest, lead_id: int) -> list[dict[str, Any]]:
    return [
        {
            "at": a.at,
            "rule": a.rule,
            "from_owner": _user_ref(a.from_owner),
            "to_owner": _user_ref(a.to_owner),
            "to_unit": _ref(a.to_unit),
            "by": _user_ref(a.by),
            "reason": a.reason,
        }
        for a in selectors.lead_assignments(actor=request.user, lead_id=lead_id)
    ]


@router.post("/leads/{lead_id}/assign", response=LeadOut, summary="Reassign a lead (recorded)")
def assign_lead(request: HttpRequest, lead_id: int, payload: AssignIn) -> dict[str, Any]:
    lead = services.lead_assign(actor=request.user, lead_id=lead_id, to_owner=payload.to_owner, reason=payload.reason)
    return lead_out(Lead.objects.select_related("owner__employee", "org_unit").get(pk=lead.pk))


@router.post("/leads/{lead_id}/convert", response=LeadOut, summary="Convert a lead: account, contact, opportunity")
def convert_lead(request: HttpRequest, lead_id: int, payload: ConvertIn) -> dict[str, Any]:
    """One atomic step. Without `account_id` a new account is created from the lead and
    `account` (the duplicate check answers 409 `duplicate_suspected`; repeat with
    `allow_duplicate`). With `create_opportunity`, an opportunity from `opportunity`."""
    services.lead_convert(
        actor=request.user,
        lead_id=lead_id,
        account_id=payload.account_id,
        account_data=payload.account,
        allow_duplicate=payload.allow_duplicate,
        create_opportunity=payload.create_opportunity,
        opportunity_data=payload.opportunity,
        expected_version=payload.version,
    )
    return lead_out(selectors.lead_get(actor=request.user, lead_id=lead_id))


# --------------------------------------------------------------------------- pipelines


def stage_out(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.pk,
        "name": stage.name,
        "order": stage.order,
        "probability": stage.probability,
        "required_fields": list(stage.required_fields or []),
        "is_won": stage.is_won,
        "is_lost": stage.is_lost,
    }


def pipeline_out(pipeline: Any) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "code": pipeline.code,
        "name": pipeline.name,
        "stale_days": pipeline.stale_days,
        "stages": [stage_out(s) for s in pipeline.stages.all()],
    }


@router.get("/pipelines", response=list[PipelineOut], summary="Pipelines and their stages")
def list_pipelines(request: HttpRequest) -> list[dict[str, Any]]:
    return [pipeline_out(p) for p in selectors.pipeline_list()]


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, summary="One pipeline")
def get_pipeline(request: HttpRequest, pipeline_id: int) -> dict[str, Any]:
    return pipeline_out(selectors.pipeline_get(pipeline_id=pipeline_id))


class BoardQuery(Schema):
    owner: int | None = None
    org_unit: int | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None


def _opp_filters(query: BoardQuery, **extra: Any) -> selectors.OpportunityFilters:
    return selectors.OpportunityFilters(
        owner=query.owner,
        org_unit=query.org_unit,
        period_from=query.period_from,
        period_to=query.period_to,
        created_from=query.created_from,
        created_to=query.created_to,
        **extra,
    )


def _records_url(query: BoardQuery, **extra: Any) -> str:
    params = {k: v for k, v in {**query.model_dump(), **extra}.items() if v not in (None, "")}
    return f"{API}/opportunities?{urlencode(params)}"


@router.get("/pipelines/{pipeline_id}/board", response=list[BoardColumnOut], summary="Kanban board of a pipeline")
def board(request: HttpRequest, pipeline_id: int, query: Query[BoardQuery]) -> list[dict[str, Any]]:
    columns = selectors.opportunity_board(actor=request.user, pipeline_id=pipeline_id, filters=_opp_filters(query))
    return [
        {
            "stage": stage_out(c.stage),
            "count": c.count,
            "amount": c.amount,
            "weighted": c.weighted,
            "cards": [
                {
                    "id": o.pk,
                    "name": o.name,
                    "account": {"id": o.account_id, "name": o.account_name},
                    "owner": None if o.owner_id is None else {"id": o.owner_id, "name": o.owner_name},
                    "amount": o.amount,
                    "expected_close_date": o.expected_close_date,
                    "version": o.version,
                }
                for o in c.cards
            ],
        }
        for c in columns
    ]


@router.get("/pipelines/{pipeline_id}/funnel", response=FunnelOut, summary="Sales funnel of a pipeline")
def funnel(request: HttpRequest, pipeline_id: int, query: Query[BoardQuery]) -> dict[str, Any]:
    """Per stage: opportunities now in it (`count`, `amount`), how many ever `reached` it or a
    later stage, and the `conversion` to the next stage; win rate and average cycle length
    (days, won deals). `records` lists the opportunities behind each figure."""
    result = selectors.funnel(actor=request.user, pipeline_id=pipeline_id, filters=_opp_filters(query))
    return {
        "pipeline_id": result.pipeline_id,
        "total": result.total,
        "won": result.won,
        "lost": result.lost,
        "win_rate": result.win_rate,
        "avg_cycle_days": result.avg_cycle_days,
        "won_amount": result.won_amount,
        "stages": [
            {**s.__dict__, "records": _records_url(query, pipeline=pipeline_id, stage=s.stage_id)}
            for s in result.stages
        ],
    }


@router.get("/forecast", response=list[ForecastMonthOut], summary="Weighted forecast by expected close month")
def forecast(request: HttpRequest, query: Query[BoardQuery], pipeline: int | None = None) -> list[dict[str, Any]]:
    rows = selectors.forecast(actor=request.user, pipeline_id=pipeline, filters=_opp_filters(query))
    return [
        {**r.__dict__, "records": _records_url(query, pipeline=pipeline, status="open", close_month=r.month)}
        for r in rows
    ]


@router.get("/loss-reasons", response=list[LossReasonOut], summary="Reasons a deal is lost")
def list_loss_reasons(request: HttpRequest, include_inactive: bool = False) -> Any:
    return selectors.loss_reason_list(include_inactive=include_inactive)


@router.post("/loss-reasons", response={201: LossReasonOut}, summary="Add a loss reason")
def create_loss_reason(request: HttpRequest, payload: LossReasonIn) -> Status[Any]:
    return Status(201, services.loss_reason_save(actor=request.user, **payload.model_dump()))


@router.patch("/loss-reasons/{reason_id}", response=LossReasonOut, summary="Change a loss reason")
def update_loss_reason(request: HttpRequest, reason_id: int, payload: LossReasonIn) -> Any:
    return services.loss_reason_save(actor=request.user, reason_id=reason_id, **payload.model_dump())


# --------------------------------------------------------------------------- opportunities


def opportunity_item(o: Opportunity) -> dict[str, Any]:
    return {
        "id": o.pk,
        "name": o.name,
        "account": {"id": o.account_id, "name": o.account.name},
        "owner": _user_ref(o.owner),
        "org_unit": {"id": o.org_unit_id, "name": o.org_unit.display_name},
        "pipeline": {"id": o.pipeline_id, "name": o.pipeline.name},
        "stage": {"id": o.stage_id, "name": o.stage.name},
        "status": o.status,
        "amount": o.amount,
        "probability": o.stage.probability,
        "expected_close_date": o.expected_close_date,
        "version": o.version,
        "created_at": o.created_at,
    }


def opportunity_out(o: Opportunity) -> dict[str, Any]:
    return {
        **opportunity_item(o),
        "next_step": o.next_step,
        "competitors": o.competitors,
        "notes": o.notes,
        "lost_reason": _ref(o.lost_reason),
        "lost_note": o.lost_note,
        "closed_at": o.closed_at,
        "stage_entered_at": o.stage_entered_at,
        "last_activity_at": o.last_activity_at,
        "cycle_days": selectors.opportunity_cycle_days(o),
        "lines": [
            {
                "id": line.pk,
                "sku": {"id": line.sku_id, "name": line.sku.name},
                "quantity": line.quantity,
                "unit": line.unit,
                "quantity_pieces": line.quantity_pieces,
                "price": line.price,
                "amount": line.amount,
            }
            for line in o.lines.all()
        ],
    }


class OpportunityQuery(BoardQuery):
    q: str = ""
    pipeline: int | None = None
    stage: int | None = None
    status: str = ""
    account: int | None = None
    close_month: str = ""
    reached_stage: int | None = None
    lost_reason: int | None = None
    sort: str = "-created_at"
    cursor: str | None = None
    limit: int = 50


@router.get("/opportunities", response=OpportunityPage, summary="List opportunities in your scope")
def list_opportunities(request: HttpRequest, query: Query[OpportunityQuery]) -> dict[str, Any]:
    filters = _opp_filters(
        query,
        q=query.q,
        pipeline=query.pipeline,
        stage=query.stage,
        status=query.status,
        account=query.account,
        close_month=query.close_month,
        reached_stage=query.reached_stage,
        lost_reason=query.lost_reason,
    )
    page = selectors.opportunity_list(
        actor=request.user, filters=filters, sort=query.sort, cursor=query.cursor, limit=_limit(query.limit)
    )
    return {"items": [opportunity_item(o) for o in page.items], "next_cursor": page.next_cursor}


@router.post("/opportunities", response={201: OpportunityOut}, summary="Create an opportunity")
def create_opportunity(request: HttpRequest, payload: OpportunityIn) -> Status[dict[str, Any]]:
    opportunity = services.opportunity_create(actor=request.user, data=payload.model_dump())
    return Status(201, opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity.pk)))


@router.get("/opportunities/{opportunity_id}", response=OpportunityOut, summary="One opportunity")
def get_opportunity(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


@router.patch("/opportunities/{opportunity_id}", response=OpportunityOut, summary="Change an opportunity")
def update_opportunity(request: HttpRequest, opportunity_id: int, payload: OpportunityPatch) -> dict[str, Any]:
    """Send the `version` you edited: if someone saved since, 409 `version_conflict` with the
    `changed_fields`. The stage changes through `/move`."""
    data, version = _patch_data(payload)
    services.opportunity_update(actor=request.user, opportunity_id=opportunity_id, data=data, expected_version=version)
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


@router.delete("/opportunities/{opportunity_id}", response={204: None}, summary="Delete an opportunity")
def delete_opportunity(request: HttpRequest, opportunity_id: int) -> Status[None]:
    services.opportunity_delete(actor=request.user, opportunity_id=opportunity_id)
    return Status(204, None)


@router.get("/opportunities/{opportunity_id}/history", response=list[AuditEntryOut], summary="Change history")
def opportunity_history(request: HttpRequest, opportunity_id: int) -> list[Any]:
    return _history(selectors.opportunity_history(actor=request.user, opportunity_id=opportunity_id))


@router.get("/opportunities/{opportunity_id}/stages", response=list[StageSpellOut], summary="Stage history")
def opportunity_stages(request: HttpRequest, opportunity_id: int) -> list[dict[str, Any]]:
    return [
        {
            "stage": {"id": s.stage.pk, "name": s.stage.name},
            "entered_at": s.entered_at,
            "left_at": s.left_at,
            "days": s.days,
            "by": _name(s.by),
        }
        for s in selectors.opportunity_stage_history(actor=request.user, opportunity_id=opportunity_id)
    ]


@router.post("/opportunities/{opportunity_id}/move", response=OpportunityOut, summary="Move to another stage")
def move_opportunity(request: HttpRequest, opportunity_id: int, payload: MoveIn) -> dict[str, Any]:
    """422 `stage_requirements` lists the target stage's required fields still missing;
    422 `invalid_stage` for a stage of another pipeline or a closed opportunity."""
    services.opportunity_move_stage(
        actor=request.user,
        opportunity_id=opportunity_id,
        stage_id=payload.stage,
        expected_version=payload.version,
        lost_reason_id=payload.lost_reason,
        lost_note=payload.lost_note,
    )
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


@router.post("/opportunities/{opportunity_id}/win", response=OpportunityOut, summary="Mark won")
def win_opportunity(request: HttpRequest, opportunity_id: int, payload: WinIn) -> dict[str, Any]:
    services.opportunity_win(actor=request.user, opportunity_id=opportunity_id, expected_version=payload.version)
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


@router.post("/opportunities/{opportunity_id}/lose", response=OpportunityOut, summary="Mark lost with a reason")
def lose_opportunity(request: HttpRequest, opportunity_id: int, payload: LoseIn) -> dict[str, Any]:
    services.opportunity_lose(
        actor=request.user,
        opportunity_id=opportunity_id,
        lost_reason_id=payload.lost_reason,
        note=payload.note,
        expected_version=payload.version,
    )
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


# --------------------------------------------------------------------------- activities


def activity_out(a: Activity) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "subject": a.subject,
        "body": a.body,
        "due_at": a.due_at,
        "duration_minutes": a.duration_minutes,
        "done_at": a.done_at,
        "account": _ref(a.account),
        "contact": _ref(a.contact),
        "lead": {"id": a.lead.pk, "name": str(a.lead)} if a.lead else None,
        "opportunity": _ref(a.opportunity),
        "owner": _user_ref(a.owner),
        "version": a.version,
        "created_at": a.created_at,
    }


class ActivityQuery(Schema):
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    owner: int | None = None
    kind: str = ""
    open: bool = False
    mine: bool = False
    account: int | None = None
    lead: int | None = None
    opportunity: int | None = None
    sort: str = "-created_at"
    cursor: str | None = None
    limit: int = 50


@router.get("/activities", response=ActivityPage, summary="List activities in your scope")
def list_activities(request: HttpRequest, query: Query[ActivityQuery]) -> dict[str, Any]:
    filters = selectors.ActivityFilters(
        start=query.start,
        end=query.end,
        owner=query.owner,
        kind=query.kind,
        open_only=query.open,
        team=not query.mine,
        account=query.account,
        lead=query.lead,
        opportunity=query.opportunity,
    )
    page = selectors.activity_list(
        actor=request.user, filters=filters, sort=query.sort, cursor=query.cursor, limit=_limit(query.limit)
    )
    return {"items": [activity_out(a) for a in page.items], "next_cursor": page.next_cursor}


@router.post("/activities", response={201: ActivityOut}, summary="Log an activity or schedule a task")
def create_activity(request: HttpRequest, payload: ActivityIn) -> Status[dict[str, Any]]:
    data = payload.model_dump(exclude_none=True)
    activity = services.activity_create(actor=request.user, data=data)
    return Status(201, activity_out(selectors.activity_get(actor=request.user, activity_id=activity.pk)))


@router.get("/activities/{activity_id}", response=ActivityOut, summary="One activity")
def get_activity(request: HttpRequest, activity_id: int) -> dict[str, Any]:
    return activity_out(selectors.activity_get(actor=request.user, activity_id=activity_id))


@router.patch("/activities/{activity_id}", response=ActivityOut, summary="Change an activity")
def update_activity(request: HttpRequest, activity_id: int, payload: ActivityPatch) -> dict[str, Any]:
    data, version = _patch_data(payload)
    services.activity_update(actor=request.user, activity_id=activity_id, data=data, expected_version=version)
    return activity_out(selectors.activity_get(actor=request.user, activity_id=activity_id))


@router.post("/activities/{activity_id}/complete", response=ActivityOut, summary="Mark an activity done")
def complete_activity(request: HttpRequest, activity_id: int, payload: WinIn) -> dict[str, Any]:
    services.activity_complete(actor=request.user, activity_id=activity_id, expected_version=payload.version)
    return activity_out(selectors.activity_get(actor=request.user, activity_id=activity_id))


@router.delete("/activities/{activity_id}", response={204: None}, summary="Delete an activity")
def delete_activity(request: HttpRequest, activity_id: int) -> Status[None]:
    services.activity_delete(actor=request.user, activity_id=activity_id)
    return Status(204, None)


@router.get("/activities/{activity_id}/history", response=list[AuditEntryOut], summary="Change history")
def activity_history(request: HttpRequest, activity_id: int) -> list[Any]:
    return _history(selectors.activity_history(actor=request.user, activity_id=activity_id))


# --------------------------------------------------------------------------- calendar feed


@router.post("/calendar-feed", response={201: CalendarFeedOut}, summary="New secret calendar feed URL (shown once)")
def regenerate_feed(request: HttpRequest) -> Status[dict[str, Any]]:
    token = services.calendar_feed_regenerate(actor=request.user)
    url = request.build_absolute_uri(reverse("pipeline:ical_feed", args=[token]))
    return Status(201, {"url": url, "token": token})


@router.delete("/calendar-feed", response={204: None}, summary="Revoke my calendar feed")
def revoke_feed(request: HttpRequest) -> Status[None]:
    services.calendar_feed_revoke(actor=request.user)
    return Status(204, None)
