"""HTML pages of the sales process: thin views over selectors and services."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.core.pagination import Page
from jinggeng.customers.models import AccountType
from jinggeng.pipeline import ical, selectors, services
from jinggeng.pipeline.forms import (
    ActivityForm,
    AssignForm,
    ConvertForm,
    LeadForm,
    LineForm,
    OpportunityForm,
)
from jinggeng.pipeline.models import ActivityKind, LeadSource, LeadStatus, OpportunityStatus


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choices(request: HttpRequest) -> dict[str, Any]:
    owners, units = selectors.filter_choices(actor=request.user)
    return {"owner_choices": owners, "unit_choices": units}


def _redirect(request: HttpRequest, target: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def _not_found(exc: DomainError) -> Http404:
    return Http404(exc.message)


# --------------------------------------------------------------------------- leads


@login_required
@vary_on_headers("HX-Request")
def lead_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    filters = selectors.LeadFilters(
        q=g.get("q", "").strip(),
        status=g.get("status", ""),
        source=g.get("source", ""),
        owner=_int(g.get("owner")),
        org_unit=_int(g.get("org_unit")),
    )
    page = selectors.lead_list(
        actor=request.user, filters=filters, cursor=g.get("cursor") or None, limit=settings.PAGE_SIZE_DEFAULT
    )
    query = g.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "f": g,
        "query": query.urlencode(),
        "statuses": LeadStatus.choices,
        "sources": LeadSource.choices,
        "can_add": request.user.has_perm("pipeline.add_lead"),
    }
    return render_page(request, "pipeline/lead_list.html", context, fragment="results")


@login_required
def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        lead = selectors.lead_get(actor=request.user, lead_id=lead_id)
        history = list(selectors.lead_history(actor=request.user, lead_id=lead_id)[:50])
        assignments = list(selectors.lead_assignments(actor=request.user, lead_id=lead_id)[:50])
    except NotFound as exc:
        raise _not_found(exc) from exc
    activities = selectors.activity_list(
        actor=request.user, filters=selectors.ActivityFilters(lead=lead.pk), limit=50
    ).items
    context = {
        "lead": lead,
        "history": history,
        "assignments": assignments,
        "activities": activities,
        "assign_form": AssignForm(),
        "can_edit": request.user.has_perm("pipeline.change_lead") and lead.status != LeadStatus.CONVERTED,
        "can_assign": request.user.has_perm("pipeline.assign_lead") and lead.status != LeadStatus.CONVERTED,
        "can_convert": request.user.has_perm("pipeline.change_lead")
        and lead.status not in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED),
        "can_log": request.user.has_perm("pipeline.add_activity"),
    }
    return render_page(request, "pipeline/lead_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def lead_form(request: HttpRequest, lead_id: int | None = None) -> HttpResponse:
    lead = None
    if lead_id is not None:
        try:
            lead = selectors.lead_get(actor=request.user, lead_id=lead_id)
        except NotFound as exc:
            raise _not_found(exc) from exc
    if not request.user.has_perm("pipeline.change_lead" if lead else "pipeline.add_lead"):
        raise Http404
    if request.method == "POST":
        form = LeadForm(request.POST, editing=lead is not None)
        if form.is_valid():
            try:
                if lead is None:
                    created = services.lead_create(actor=request.user, data=form.service_data())
                    messages.success(request, _("已创建线索"))
                    target = (
                        reverse("pipeline:lead_detail", args=[created.pk])
                        if selectors.scoped_leads(request.user).filter(pk=created.pk).exists()
                        else reverse("pipeline:lead_list")
                    )
                else:
                    services.lead_update(
                        actor=request.user,
                        lead_id=lead.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                    messages.success(request, _("已保存"))
                    target = reverse("pipeline:lead_detail", args=[lead.pk])
                return _redirect(request, target)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
            except NotFound as exc:
                raise _not_found(exc) from exc
    else:
        initial: dict[str, Any] = {}
        if lead:
            initial = {
                f: getattr(lead, f)
                for f in ("name", "company", "phone", "email", "source", "status", "interest", "notes", "version")
            }
            initial["division"] = lead.division_id or ""
        form = LeadForm(initial=initial, editing=lead is not None)
    return render_page(request, "pipeline/lead_form.html", {"form": form, "lead": lead}, fragment="form")


@login_required
@require_POST
def lead_assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    form = AssignForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed(_("请填写新负责人"), field="to_owner")
        services.lead_assign(
            actor=request.user,
            lead_id=lead_id,
            to_owner=form.cleaned_data["to_owner"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("已重新分配"))
    except NotFound as exc:
        raise _not_found(exc) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    if selectors.scoped_leads(request.user).filter(pk=lead_id).exists():
        return redirect("pipeline:lead_detail", lead_id=lead_id)
    return redirect("pipeline:lead_list")


@login_required
@vary_on_headers("HX-Request")
def lead_convert(request: HttpRequest, lead_id: int) -> HttpResponse:
    try:
        lead = selectors.lead_get(actor=request.user, lead_id=lead_id)
    except NotFound as exc:
        raise _not_found(exc) from exc
    if not request.user.has_perm("pipeline.change_lead"):
        raise Http404
    pipelines = list(selectors.pipeline_list())
    duplicates: list[Any] = []
    kwargs = {"pipelines": pipelines, "account_types": AccountType.choices}
    if request.method == "POST":
        form = ConvertForm(request.POST, **kwargs)
        if form.is_valid():
            d = form.cleaned_data
            account_data = {
                k: v
                for k, v in {
                    "name": d["account_name"],
                    "account_type": d["account_type"],
                    "division": d["division"],
                }.items()
                if v
            }
            opportunity_data = {
                k: v
                for k, v in {
                    "name": d["opportunity_name"],
                    "pipeline": d["pipeline"],
                    "amount": d["amount"],
                    "expected_close_date": d["expected_close_date"],
                }.items()
                if v
            }
            try:
                services.lead_convert(
                    actor=request.user,
                    lead_id=lead.pk,
                    account_id=d["account_id"],
                    account_data=account_data,
                    allow_duplicate=d["allow_duplicate"],
                    create_opportunity=d["create_opportunity"],
                    opportunity_data=opportunity_data,
                    expected_version=d.get("version"),
                )
                messages.success(request, _("线索已转化"))
                return _redirect(request, reverse("pipeline:lead_detail", args=[lead.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except Conflict as exc:
                if exc.code == "duplicate_suspected":
                    duplicates = exc.extra.get("candidates", [])
                form.add_error(None, exc.message)
            except PermissionDenied as exc:
                form.add_error(None, exc.message)
    else:
        form = ConvertForm(
            initial={
                "account_name": lead.company or lead.name,
                "account_type": AccountType.KEY_ACCOUNT,
                "division": lead.division_id or "",
                "opportunity_name": lead.company or lead.name,
                "version": lead.version,
            },
            **kwargs,
        )
    context = {"form": form, "lead": lead, "duplicates": duplicates}
    return render_page(request, "pipeline/lead_convert.html", context, fragment="form")


# --------------------------------------------------------------------------- opportunities


def _opportunity_filters(request: HttpRequest) -> selectors.OpportunityFilters:
    g = request.GET
    return selectors.OpportunityFilters(
        q=g.get("q", "").strip(),
        pipeline=_int(g.get("pipeline")),
        stage=_int(g.get("stage")),
        status=g.get("status", ""),
        owner=_int(g.get("owner")),
        org_unit=_int(g.get("org_unit")),
        account=_int(g.get("account")),
        period_from=_date(g.get("period_from")),
        period_to=_date(g.get("period_to")),
        created_from=_date(g.get("created_from")),
        created_to=_date(g.get("created_to")),
        close_month=g.get("close_month", ""),
        reached_stage=_int(g.get("reached_stage")),
        lost_reason=_int(g.get("lost_reason")),
    )


@login_required
@vary_on_headers("HX-Request")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    error = ""
    try:
        page = selectors.opportunity_list(
            actor=request.user,
            filters=_opportunity_filters(request),
            cursor=request.GET.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
    except ValidationFailed as exc:
        page, error = Page(items=[], next_cursor=None, sort="-created_at"), str(exc)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "error": error,
        "f": request.GET,
        "query": query.urlencode(),
        "pipelines": selectors.pipeline_list(),
        "statuses": OpportunityStatus.choices,
        "can_add": request.user.has_perm("pipeline.add_opportunity"),
        **_choices(request),
    }
    return render_page(request, "pipeline/opportunity_list.html", context, fragment="results")


def _opportunity_context(request: HttpRequest, opportunity_id: int) -> dict[str, Any]:
    try:
        opportunity = selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id)
        history = list(selectors.opportunity_history(actor=request.user, opportunity_id=opportunity_id)[:50])
        spells = selectors.opportunity_stage_history(actor=request.user, opportunity_id=opportunity_id)
    except NotFound as exc:
        raise _not_found(exc) from exc
    activities = selectors.activity_list(
        actor=request.user, filters=selectors.ActivityFilters(opportunity=opportunity.pk), limit=50
    ).items
    can_edit = request.user.has_perm("pipeline.change_opportunity")
    return {
        "o": opportunity,
        "history": history,
        "spells": spells,
        "cycle_days": selectors.opportunity_cycle_days(opportunity),
        "activities": activities,
        "stages": list(opportunity.pipeline.stages.all()),
        "loss_reasons": selectors.loss_reason_list(),
        "can_edit": can_edit and opportunity.status == OpportunityStatus.OPEN,
        "can_log": request.user.has_perm("pipeline.add_activity"),
        "line_form": LineForm(),
    }


@login_required
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    return render_page(request, "pipeline/opportunity_detail.html", _opportunity_context(request, opportunity_id))


@login_required
@vary_on_headers("HX-Request")
def opportunity_form(request: HttpRequest, opportunity_id: int | None = None) -> HttpResponse:
    opportunity = None
    if opportunity_id is not None:
        try:
            opportunity = selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id)
        except NotFound as exc:
            raise _not_found(exc) from exc
    if not request.user.has_perm("pipeline.change_opportunity" if opportunity else "pipeline.add_opportunity"):
        raise Http404
    pipelines = list(selectors.pipeline_list())
    editing = opportunity is not None
    if request.method == "POST":
        form = OpportunityForm(request.POST, pipelines=pipelines, editing=editing)
        if form.is_valid():
            try:
                if opportunity is None:
                    created = services.opportunity_create(actor=request.user, data=form.service_data())
                    target = reverse("pipeline:opportunity_detail", args=[created.pk])
                else:
                    services.opportunity_update(
                        actor=request.user,
                        opportunity_id=opportunity.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                    target = reverse("pipeline:opportunity_detail", args=[opportunity.pk])
                messages.success(request, _("已保存"))
                return _redirect(request, target)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (Conflict, PermissionDenied) as exc:
                form.add_error(None, exc.message)
            except NotFound as exc:
                raise _not_found(exc) from exc
    elif opportunity:
        form = OpportunityForm(
            initial={
                "name": opportunity.name,
                "account": opportunity.account_id,
                "owner": opportunity.owner.username if opportunity.owner else "",
                "amount": opportunity.amount,
                "expected_close_date": opportunity.expected_close_date,
                "next_step": opportunity.next_step,
                "competitors": opportunity.competitors,
                "notes": opportunity.notes,
                "version": opportunity.version,
            },
            pipelines=pipelines,
            editing=True,
        )
    else:
        form = OpportunityForm(initial={"account": _int(request.GET.get("account"))}, pipelines=pipelines)
    return render_page(request, "pipeline/opportunity_form.html", {"form": form, "o": opportunity}, fragment="form")


@login_required
@require_POST
def opportunity_add_line(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Add one product line (the lines are kept whole: existing ones plus the new one)."""
    try:
        opportunity = selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id)
    except NotFound as exc:
        raise _not_found(exc) from exc
    lines = [
        {"sku": str(x.sku_id), "quantity": x.quantity, "unit": x.unit, "price": x.price}
        for x in opportunity.lines.all()
    ]
    lines.append({k: request.POST.get(k, "") for k in ("sku", "quantity", "unit", "price")})
    try:
        services.opportunity_update(
            actor=request.user,
            opportunity_id=opportunity.pk,
            data={"lines": lines},
            expected_version=_int(request.POST.get("version")),
        )
        messages.success(request, _("已添加产品"))
    except NotFound as exc:
        raise _not_found(exc) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("pipeline:opportunity_detail", opportunity_id=opportunity.pk)


@login_required
@require_POST
def opportunity_move(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Move a card (kanban drop or the detail page's form). An htmx request gets the card back,
    with the error on it when the move is refused."""
    p = request.POST
    error = ""
    try:
        action = p.get("action", "move")
        if action == "win":
            services.opportunity_win(
                actor=request.user, opportunity_id=opportunity_id, expected_version=_int(p.get("version"))
            )
        elif action == "lose":
            services.opportunity_lose(
                actor=request.user,
                opportunity_id=opportunity_id,
                lost_reason_id=_int(p.get("lost_reason")),
                note=p.get("lost_note", ""),
                expected_version=_int(p.get("version")),
            )
        else:
            stage_id = _int(p.get("stage"))
            if stage_id is None:
                raise ValidationFailed(_("请选择目标阶段"), code="invalid_stage", field="stage")
            services.opportunity_move_stage(
                actor=request.user,
                opportunity_id=opportunity_id,
                stage_id=stage_id,
                expected_version=_int(p.get("version")),
                lost_reason_id=_int(p.get("lost_reason")),
                lost_note=p.get("lost_note", ""),
            )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except DomainError as exc:
        error = exc.message
    if is_htmx(request):
        try:
            opportunity = selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id)
        except NotFound as exc:
            raise _not_found(exc) from exc
        response = render_page(
            request,
            "pipeline/board.html",
            {
                "card": selectors.BoardCard.of(opportunity),
                "error": error,
                "stages": list(opportunity.pipeline.stages.all()),
                "can_move": True,
            },
            fragment="card",
            status=422 if error else 200,
        )
        if not error:
            response["HX-Trigger"] = "board-changed"
        return response
    if error:
        messages.error(request, error)
    return redirect("pipeline:opportunity_detail", opportunity_id=opportunity_id)


@login_required
@vary_on_headers("HX-Request")
def board(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    pipelines = list(selectors.pipeline_list())
    if not pipelines:
        raise Http404
    if pipeline_id is None:
        pipeline_id = pipelines[0].pk
    try:
        pipeline = selectors.pipeline_get(pipeline_id=pipeline_id)
        columns = selectors.opportunity_board(
            actor=request.user, pipeline_id=pipeline_id, filters=_opportunity_filters(request)
        )
    except NotFound as exc:
        raise _not_found(exc) from exc
    except ValidationFailed:
        columns = []
    context = {
        "pipeline": pipeline,
        "pipelines": pipelines,
        "columns": columns,
        "stages": [c.stage for c in columns],
        "f": request.GET,
        "query": request.GET.urlencode(),
        "can_move": request.user.has_perm("pipeline.change_opportunity"),
        **_choices(request),
    }
    return render_page(request, "pipeline/board.html", context, fragment="columns")


# --------------------------------------------------------------------------- activities and calendar


@login_required
@vary_on_headers("HX-Request")
def activity_list(request: HttpRequest) -> HttpResponse:
    """Activities in scope, newest first; ``open=1`` keeps the ones not done, ``mine=1`` one's own."""
    g = request.GET
    filters = selectors.ActivityFilters(
        kind=g.get("kind", ""),
        open_only=g.get("open") == "1",
        team=g.get("mine") != "1",
        owner=_int(g.get("owner")),
        account=_int(g.get("account")),
        lead=_int(g.get("lead")),
        opportunity=_int(g.get("opportunity")),
    )
    page = selectors.activity_list(
        actor=request.user, filters=filters, cursor=g.get("cursor") or None, limit=settings.PAGE_SIZE_DEFAULT
    )
    query = g.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "f": g,
        "query": query.urlencode(),
        "kinds": ActivityKind.choices,
        "can_add": request.user.has_perm("pipeline.add_activity"),
        "now": timezone.now(),
    }
    return render_page(request, "pipeline/activity_list.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def activity_form(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("pipeline.add_activity"):
        raise Http404
    if request.method == "POST":
        form = ActivityForm(request.POST)
        if form.is_valid():
            try:
                activity = services.activity_create(actor=request.user, data=form.service_data())
                messages.success(request, _("已记录活动"))
                back = request.POST.get("next", "")
                target = back if back.startswith("/") and not back.startswith("//") else ""
                return _redirect(request, target or reverse("pipeline:activity_detail", args=[activity.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except PermissionDenied as exc:
                form.add_error(None, exc.message)
    else:
        g = request.GET
        form = ActivityForm(
            initial={
                "kind": g.get("kind", ActivityKind.CALL),
                **{k: _int(g.get(k)) for k in ("account", "contact", "lead", "opportunity")},
            }
        )
    context = {"form": form, "next": request.GET.get("next", request.POST.get("next", ""))}
    return render_page(request, "pipeline/activity_form.html", context, fragment="form")


@login_required
def activity_detail(request: HttpRequest, activity_id: int) -> HttpResponse:
    try:
        activity = selectors.activity_get(actor=request.user, activity_id=activity_id)
        history = list(selectors.activity_history(actor=request.user, activity_id=activity_id)[:50])
    except NotFound as exc:
        raise _not_found(exc) from exc
    context = {
        "a": activity,
        "history": history,
        "can_complete": request.user.has_perm("pipeline.change_activity") and activity.done_at is None,
    }
    return render_page(request, "pipeline/activity_detail.html", context)


@login_required
@require_POST
def activity_complete(request: HttpRequest, activity_id: int) -> HttpResponse:
    try:
        services.activity_complete(actor=request.user, activity_id=activity_id)
        messages.success(request, _("已完成"))
    except NotFound as exc:
        raise _not_found(exc) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("pipeline:activity_detail", activity_id=activity_id)


def _calendar_range(view: str, day: dt.date) -> tuple[dt.date, dt.date]:
    if view == "day":
        return day, day + dt.timedelta(days=1)
    if view == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    first = day.replace(day=1)
    start = first - dt.timedelta(days=first.weekday())
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    end = last + dt.timedelta(days=7 - last.weekday())
    return start, end


@login_required
@vary_on_headers("HX-Request")
def calendar(request: HttpRequest) -> HttpResponse:
    """Day / week / month grid of scheduled activities: one's own, or the team's (managers)."""
    g = request.GET
    view = g.get("view", "week") if g.get("view") in ("day", "week", "month") else "week"
    day = _date(g.get("date")) or timezone.localdate()
    team = g.get("team") == "1"
    start, end = _calendar_range(view, day)
    tz = timezone.get_current_timezone()
    items = selectors.activity_calendar(
        actor=request.user,
        start=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        end=dt.datetime.combine(end, dt.time.min, tzinfo=tz),
        team=team,
        owner=_int(g.get("owner")),
    )
    by_day: dict[dt.date, list[Any]] = {}
    for item in items:
        by_day.setdefault(timezone.localtime(item.due_at).date(), []).append(item)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    weeks = [
        [
            {"date": d, "items": by_day.get(d, []), "outside": view == "month" and d.month != day.month}
            for d in days[i : i + 7]
        ]
        for i in range(0, len(days), 7)
    ]
    step = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}.get(view)
    if step:
        prev_day, next_day = day - step, day + step
    else:
        prev_day = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        next_day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    def link(**params: Any) -> str:
        base = {"view": view, "date": day.isoformat(), "team": "1" if team else ""}
        base.update(params)
        return "?" + urlencode({k: v for k, v in base.items() if v})

    context = {
        "view": view,
        "day": day,
        "team": team,
        "weeks": weeks,
        "today": timezone.localdate(),
        "prev_link": link(date=prev_day.isoformat()),
        "next_link": link(date=next_day.isoformat()),
        "view_links": [
            (v, label, link(view=v)) for v, label in (("day", _("日")), ("week", _("周")), ("month", _("月")))
        ],
        "mine_link": link(team=""),
        "team_link": link(team="1"),
        "can_see_team": _can_see_team(request.user),
    }
    return render_page(request, "pipeline/calendar.html", context, fragment="grid")


def _can_see_team(user: Any) -> bool:
    from jinggeng.org.scope import scope_for

    scope = scope_for(user)
    return scope.everything or bool(scope.unit_ids)


@login_required
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Subscribe link for the personal calendar feed: create / regenerate (shown once) or revoke."""
    from jinggeng.pipeline.models import CalendarFeed

    url = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(actor=request.user)
            messages.success(request, _("已停用日历订阅"))
            return redirect("pipeline:calendar_feed")
        token = services.calendar_feed_regenerate(actor=request.user)
        url = request.build_absolute_uri(reverse("pipeline:ical_feed", args=[token]))
    context = {"url": url, "feed": CalendarFeed.objects.filter(user_id=request.user.pk or 0).first()}
    return render_page(request, "pipeline/calendar_feed.html", context)


def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The personal iCalendar feed (no login: the secret token in the URL is the key)."""
    user = services.calendar_feed_user(token=token)
    if user is None:
        raise Http404
    now = timezone.now()
    events = [
        {
            "uid": f"activity-{a.pk}@jinggeng",
            "start": a.due_at,
            "end": a.due_at + dt.timedelta(minutes=a.duration_minutes or 30),
            "summary": f"[{a.get_kind_display()}] {a.subject}",
            "description": "\n".join(x for x in (a.account.name if a.account else "", a.body) if x),
            "url": request.build_absolute_uri(reverse("pipeline:activity_detail", args=[a.pk])),
            "status": "COMPLETED" if a.done_at else "CONFIRMED",
            "last_modified": a.updated_at,
        }
        for a in selectors.activity_feed_items(user=user)
        if a.due_at is not None
    ]
    try:
        name = user.employee.name
    except Exception:
        name = user.username
    body = ical.calendar_text(events=events, name=_("精耕日程 · %(name)s") % {"name": name}, now=now)
    response = HttpResponse(body.encode(), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --------------------------------------------------------------------------- funnel


@login_required
def funnel(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    pipelines = list(selectors.pipeline_list())
    if not pipelines:
        raise Http404
    pipeline_id = pipeline_id or pipelines[0].pk
    filters = _opportunity_filters(request)
    try:
        pipeline = selectors.pipeline_get(pipeline_id=pipeline_id)
        result = selectors.funnel(actor=request.user, pipeline_id=pipeline_id, filters=filters)
        months = selectors.forecast(actor=request.user, pipeline_id=pipeline_id, filters=filters)
    except NotFound as exc:
        raise _not_found(exc) from exc
    base = {
        k: v
        for k, v in request.GET.items()
        if k in ("owner", "org_unit", "period_from", "period_to", "created_from", "created_to") and v
    }
    list_url = reverse("pipeline:opportunity_list")

    def records(**params: Any) -> str:
        return f"{list_url}?{urlencode({**base, 'pipeline': pipeline_id, **params})}"

    rows = [
        {
            "s": s,
            "now_link": records(stage=s.stage_id),
            "reached_link": records(reached_stage=s.stage_id) if not s.is_lost else records(stage=s.stage_id),
        }
        for s in result.stages
    ]
    chart = [
        {"name": s.name, "value": s.reached, "link": records(reached_stage=s.stage_id)}
        for s in result.stages
        if not s.is_lost
    ]
    context = {
        "pipeline": pipeline,
        "pipelines": pipelines,
        "funnel": result,
        "rows": rows,
        "chart": chart,
        "months": [{"m": m, "link": records(status="open", close_month=m.month)} for m in months],
        "won_link": records(status="won"),
        "lost_link": records(status="lost"),
        "all_link": records(),
        "f": request.GET,
        **_choices(request),
    }
    return render_page(request, "pipeline/funnel.html", context)
