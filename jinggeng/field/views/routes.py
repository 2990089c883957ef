"""HTML views of the field app: routes (七定), the route map (线路图), visit standards and the
optimiser ("优化线路": the proposal beside the current routes, accept or reject).

Thin views over the routes selectors and services; out of scope is 404, a refused write shows
the service's errors and saves nothing. Pages are built for a 390 px phone first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.customers import selectors as customer_selectors
from jinggeng.field.models import ProposalStatus, Route, VisitCycle, VisitStepKind
from jinggeng.field.selectors import routes as selectors
from jinggeng.field.services import routes as services

WEEKDAY_CHOICES = [(str(d), services.WEEKDAY_NAMES[d]) for d in range(1, 8)]
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NUMBER = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
#: Colours of the weekdays on the maps (Monday … Sunday).
DAY_COLOURS = ["#2b6cb0", "#c53030", "#2f855a", "#d69e2e", "#6b46c1", "#dd6b20", "#319795"]


def _get_or_404(fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _redirect(request: HttpRequest, target: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def card_url_pattern() -> str:
    """The customer card's URL with ``0`` for the account id: the field card (客户卡) when it is
    there, else the customers app's account page."""
    try:
        return reverse("field:card", args=[0])
    except NoReverseMatch:
        return reverse("customers:account_detail", args=[0])


def _errors(exc: DomainError) -> list[str]:
    rows = [f"{m}" for msgs in exc.field_errors.values() for m in msgs]
    return rows or [exc.message]


# --------------------------------------------------------------------------- forms


class ServiceForm(forms.Form):
    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, messages_ in exc.field_errors.items():
            target = field if field in self.fields else None
            for message in messages_:
                self.add_error(target, message if target else f"{field}: {message}")
        if not exc.field_errors:
            self.add_error(None, exc.message)


class RouteForm(ServiceForm):
    code = forms.CharField(label=gettext_lazy("线路编码"), max_length=40)
    name = forms.CharField(label=gettext_lazy("线路名称"), max_length=100)
    rep_id = forms.ChoiceField(label=gettext_lazy("业务员"))
    area = forms.CharField(label=gettext_lazy("片区"), max_length=100, required=False)
    cycle = forms.ChoiceField(label=gettext_lazy("拜访周期"), choices=VisitCycle.choices)
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("拜访日"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    anchor_date = forms.CharField(label=gettext_lazy("周期起始日"), required=False, widget=DATE)
    start_time = forms.CharField(label=gettext_lazy("开始时间"), required=False, widget=TIME)
    end_time = forms.CharField(label=gettext_lazy("结束时间"), required=False, widget=TIME)
    standard_id = forms.ChoiceField(label=gettext_lazy("拜访标准"), required=False)
    start_latitude = forms.CharField(label=gettext_lazy("起点纬度"), required=False, widget=NUMBER)
    start_longitude = forms.CharField(label=gettext_lazy("起点经度"), required=False, widget=NUMBER)
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)
    notes = forms.CharField(label=gettext_lazy("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Any, route: Route | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reps = [(str(e.user_id), f"{e.name}（{e.org_unit.name}）") for e in selectors.rep_options(actor=actor)]
        if route is not None and str(route.rep_id) not in dict(reps):
            # The route's rep stays choosable even when the actor could not pick them today.
            reps.insert(0, (str(route.rep_id), str(getattr(getattr(route.rep, "employee", None), "name", route.rep))))
        self.fields["rep_id"].choices = [("", _("请选择业务员")), *reps]  # type: ignore[attr-defined]
        standards = selectors.visit_standard_list(actor=actor, active=True)
        self.fields["standard_id"].choices = [("", _("按客户类型与等级选择"))] + [  # type: ignore[attr-defined]
            (str(s.pk), s.name) for s in standards
        ]

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class StopAddForm(ServiceForm):
    account_id = forms.ChoiceField(label=gettext_lazy("客户"))
    position = forms.IntegerField(label=gettext_lazy("顺序"), required=False, min_value=1)
    visit_minutes = forms.CharField(label=gettext_lazy("拜访时长（分钟）"), required=False, widget=NUMBER)
    window_start = forms.CharField(label=gettext_lazy("可拜访开始"), required=False, widget=TIME)
    window_end = forms.CharField(label=gettext_lazy("可拜访结束"), required=False, widget=TIME)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, accounts: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = [("", _("请选择客户"))] + [  # type: ignore[attr-defined]
            (str(a.pk), f"{a.name}{'' if a.latitude is not None else ' · ' + _('无坐标')}") for a in accounts
        ]


class OptimiseForm(ServiceForm):
    rep_id = forms.ChoiceField(label=gettext_lazy("业务员"))
    working_days = forms.MultipleChoiceField(
        label=gettext_lazy("工作日"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    day_start = forms.CharField(label=gettext_lazy("上班时间"), required=False, widget=TIME)
    day_end = forms.CharField(label=gettext_lazy("下班时间"), required=False, widget=TIME)
    time_limit_seconds = forms.CharField(
        label=gettext_lazy("计算时间（秒）"), required=False, widget=NUMBER, initial=str(int(services.OPTIMISE_SECONDS))
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep_id"].choices = [("", _("请选择业务员"))] + [  # type: ignore[attr-defined]
            (str(e.user_id), f"{e.name}（{e.org_unit.name}）") for e in selectors.rep_options(actor=actor)
        ]


# --------------------------------------------------------------------------- routes

ROUTE_SORTS = [
    ("code", gettext_lazy("按编码")),
    ("name", gettext_lazy("按名称")),
    ("-created_at", gettext_lazy("最新")),
]


@login_required
@vary_on_headers("HX-Request")
def route_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    sort = g.get("sort", "code")
    if sort not in dict(ROUTE_SORTS):
        sort = "code"
    active = {"1": True, "0": False}.get(g.get("active", "1"))
    weekday = _int(g.get("weekday"))
    filters = selectors.RouteFilters(
        q=g.get("q", "").strip(),
        rep=_int(g.get("rep")),
        weekday=weekday if weekday and 1 <= weekday <= 7 else None,
        active=active,
    )
    error = ""
    try:
        page = selectors.route_list(
            actor=request.user,
            filters=filters,
            sort=sort,
            cursor=g.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
    except ValidationFailed as exc:
        page, error = selectors._empty(sort), str(exc)
    query = g.copy()
    query.pop("cursor", None)
    user = request.user
    context = {
        "page": page,
        "error": error,
        "f": g,
        "sort": sort,
        "sorts": ROUTE_SORTS,
        "weekdays": WEEKDAY_CHOICES,
        "query": query.urlencode(),
        "reps": selectors.rep_options(actor=user) if user.has_perm("field.change_route") else [],
        "can_add": user.has_perm("field.add_route"),
        "can_optimise": user.has_perm("field.add_routeproposal"),
        "can_proposals": user.has_perm("field.view_routeproposal"),
    }
    return render_page(request, "field/route_list.html", context, fragment="results")


def _route_form_initial(route: Route) -> dict[str, Any]:
    return {
        "code": route.code,
        "name": route.name,
        "rep_id": str(route.rep_id),
        "area": route.area,
        "cycle": route.cycle,
        "weekdays": [str(d) for d in route.weekdays or []],
        "anchor_date": route.anchor_date.isoformat() if route.anchor_date else "",
        "start_time": route.start_time.strftime("%H:%M") if route.start_time else "",
        "end_time": route.end_time.strftime("%H:%M") if route.end_time else "",
        "standard_id": str(route.standard_id or ""),
        "start_latitude": route.start_latitude if route.start_latitude is not None else "",
        "start_longitude": route.start_longitude if route.start_longitude is not None else "",
        "active": route.active,
        "notes": route.notes,
        "version": route.version,
    }


@login_required
@vary_on_headers("HX-Request")
def route_form(request: HttpRequest, route_id: int | None = None) -> HttpResponse:
    """Create a route, or edit one (with its version); outlets are managed on the route page."""
    user = request.user
    route = _get_or_404(selectors.route_get, actor=user, route_id=route_id) if route_id else None
    if not user.has_perm("field.change_route" if route else "field.add_route"):
        raise Http404
    status = 200
    if request.method == "POST":
        form = RouteForm(request.POST, actor=user, route=route)
        if form.is_valid():
            data = form.service_data()
            try:
                if route is None:
                    saved = services.route_create(actor=user, data=data)
                else:
                    saved = services.route_update(
                        actor=user, route_id=route.pk, data=data, expected_version=form.cleaned_data.get("version")
                    )
                return _redirect(request, reverse("field:route_detail", args=[saved.pk]))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except (PermissionDenied, Conflict, NotFound) as exc:
                form.add_error(None, exc.message)
        status = 422
    else:
        form = RouteForm(
            initial=_route_form_initial(route) if route else {"cycle": VisitCycle.WEEKLY, "active": True},
            actor=user,
            route=route,
        )
    return render_page(
        request,
        "field/route_form.html",
        {"form": form, "route": route},
        fragment="form",
        status=status if not is_htmx(request) else 200,
    )


def _route_context(request: HttpRequest, route_id: int, add_form: StopAddForm | None = None) -> dict[str, Any]:
    user = request.user
    route = _get_or_404(selectors.route_get, actor=user, route_id=route_id)
    stops = selectors.route_stops(actor=user, route_id=route_id)
    can_edit = user.has_perm("field.change_route")
    standards = list(selectors.visit_standard_list(actor=user, active=True)) if route.standard_id is None else []
    card = card_url_pattern()
    rows = []
    for stop in stops:
        standard = services.stop_standard(route, stop.account, standards=standards)
        rows.append(
            {
                "stop": stop,
                "account": stop.account,
                "standard": standard,
                "minutes": services.stop_visit_minutes(stop, route, standard),
                "card": card.replace("/0/", f"/{stop.account_id}/"),
            }
        )
    if can_edit and add_form is None:
        add_form = StopAddForm(initial={"version": route.version}, accounts=_addable(user, route, stops))
    points = selectors.route_map_points(actor=user, route_id=route_id)
    layer = {
        "name": route.name,
        "colour": DAY_COLOURS[(route.weekdays or [1])[0] - 1],
        "start": points["start"],
        "points": points["points"],
        "show": True,
    }
    return {
        "route": route,
        "rows": rows,
        "cycle_days": services.cycle_days(route.cycle, route.weekdays or []),
        "weekday_names": [services.weekday_label(d) for d in route.weekdays or []],
        "can_edit": can_edit,
        "can_delete": user.has_perm("field.delete_route"),
        "can_optimise": user.has_perm("field.add_routeproposal"),
        "add_form": add_form,
        "map_data": {"layers": [layer], "card": card},
        "missing": points["missing"],
        "history": list(selectors.route_history(actor=user, route_id=route_id)[:50]),
    }


def _addable(user: Any, route: Route, stops: list[Any]) -> list[Any]:
    """Outlets the actor may put on the route: in their scope, owned by the route's rep first."""
    on_route = {s.account_id for s in stops}
    accounts = customer_selectors.scoped_accounts(user).filter(merged_into__isnull=True).exclude(status="closed")
    own = list(accounts.filter(owner_id=route.rep_id).order_by("name", "id")[:500])
    return [a for a in own if a.pk not in on_route]


@login_required
@vary_on_headers("HX-Request")
def route_detail(request: HttpRequest, route_id: int) -> HttpResponse:
    return render_page(request, "field/route_detail.html", _route_context(request, route_id), fragment="stops")


@login_required
@require_POST
def route_stop_add(request: HttpRequest, route_id: int) -> HttpResponse:
    user = request.user
    route = _get_or_404(selectors.route_get, actor=user, route_id=route_id)
    if not user.has_perm("field.change_route"):
        raise Http404
    stops = selectors.route_stops(actor=user, route_id=route_id)
    form = StopAddForm(request.POST, accounts=_addable(user, route, stops))
    status = 200
    saved = False
    if form.is_valid():
        data = {k: form.cleaned_data[k] for k in ("account_id", "visit_minutes", "window_start", "window_end")}
        try:
            services.route_stop_add(
                actor=user,
                route_id=route_id,
                data=data,
                position=form.cleaned_data.get("position"),
                expected_version=form.cleaned_data.get("version"),
            )
            if not is_htmx(request):
                return redirect(reverse("field:route_detail", args=[route_id]))
            saved = True
        except ValidationFailed as exc:
            form.add_service_errors(exc)
            status = 422
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
    else:
        status = 422
    context = _route_context(request, route_id, add_form=None if saved else form)
    return render_page(
        request, "field/route_detail.html", context, fragment="stops", status=200 if is_htmx(request) else status
    )


@login_required
@require_POST
def route_stop_change(request: HttpRequest, route_id: int, account_id: int, action: str) -> HttpResponse:
    """Move an outlet up or down, or take it off the route."""
    user = request.user
    _get_or_404(selectors.route_get, actor=user, route_id=route_id)
    if not user.has_perm("field.change_route") or action not in ("up", "down", "remove"):
        raise Http404
    version = _int(request.POST.get("version"))
    try:
        if action == "remove":
            services.route_stop_remove(actor=user, route_id=route_id, account_id=account_id, expected_version=version)
        else:
            services.route_stop_move(
                actor=user,
                route_id=route_id,
                account_id=account_id,
                offset=-1 if action == "up" else 1,
                expected_version=version,
            )
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message)
    if not is_htmx(request):
        return redirect(reverse("field:route_detail", args=[route_id]))
    return render_page(request, "field/route_detail.html", _route_context(request, route_id), fragment="stops")


@login_required
@require_POST
def route_delete(request: HttpRequest, route_id: int) -> HttpResponse:
    user = request.user
    route = _get_or_404(selectors.route_get, actor=user, route_id=route_id)
    if not user.has_perm("field.delete_route"):
        raise Http404
    try:
        services.route_delete(actor=user, route_id=route_id, expected_version=_int(request.POST.get("version")))
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(reverse("field:route_detail", args=[route_id]))
    messages.success(request, _("已删除线路 %(code)s") % {"code": route.code})
    return _redirect(request, reverse("field:route_list"))


# --------------------------------------------------------------------------- standards


@login_required
def standard_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("field.view_visitstandard"):
        raise Http404
    steps = dict(VisitStepKind.choices)
    rows = [
        {
            "standard": s,
            "required": [steps.get(k, k) for k in s.required_steps or []],
            "optional": [steps.get(k, k) for k in s.optional_steps or []],
        }
        for s in selectors.visit_standard_list(actor=user)
    ]
    return render_page(request, "field/standard_list.html", {"rows": rows})


# --------------------------------------------------------------------------- optimiser


def _week_layers(days: list[dict[str, Any]], accounts: dict[int, Any], prefix: str, show: bool) -> list[Any]:
    layers = []
    for day in days:
        points = []
        for n, account_id in enumerate(day.get("account_ids", []), start=1):
            a = accounts.get(account_id)
            if a is None or a.latitude is None:
                continue
            points.append(
                {
                    "number": n,
                    "account_id": a.pk,
                    "name": a.name,
                    "lat": float(a.latitude),
                    "lng": float(a.longitude),
                }
            )
        if points:
            layers.append(
                {
                    "name": f"{prefix} {services.weekday_label(day['weekday'])}",
                    "colour": DAY_COLOURS[(day["weekday"] - 1) % 7],
                    "points": points,
                    "show": show,
                    "dashed": not show,
                }
            )
    return layers


@login_required
@vary_on_headers("HX-Request")
def route_optimise(request: HttpRequest) -> HttpResponse:
    """ "Optimise this route": choose the rep and the working week; the optimiser runs within a
    few seconds (the page shows that it is working) and the proposal opens beside the routes."""
    user = request.user
    if not user.has_perm("field.add_routeproposal"):
        raise Http404
    errors: list[str] = []
    unplaced: list[dict[str, Any]] = []
    status = 200
    if request.method == "POST":
        form = OptimiseForm(request.POST, actor=user)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "rep_id" and v not in ("", [], None)}
            try:
                proposal = services.route_proposal_create(
                    actor=user, rep_id=int(form.cleaned_data["rep_id"]), data=data
                )
                return _redirect(request, reverse("field:proposal_detail", args=[proposal.pk]))
            except ValidationFailed as exc:
                unplaced = list(exc.extra.get("unplaced", []))
                if unplaced:
                    errors = [exc.message]
                else:
                    form.add_service_errors(exc)
            except NotFound as exc:
                form.add_error("rep_id", exc.message)
            except DomainError as exc:  # the road-distance service failing, for one
                errors = [exc.message]
        status = 422
    else:
        form = OptimiseForm(initial={"rep_id": request.GET.get("rep", "")}, actor=user)
    rep_id = _int(form.data.get("rep_id") if form.is_bound else request.GET.get("rep"))
    routes = selectors.rep_routes(actor=user, rep_id=rep_id) if rep_id else []
    context = {
        "form": form,
        "errors": errors,
        "unplaced": unplaced,
        "routes": routes,
        "seconds": services.OPTIMISE_SECONDS,
    }
    return render_page(
        request, "field/proposal_form.html", context, fragment="form", status=200 if is_htmx(request) else status
    )


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("field.view_routeproposal"):
        raise Http404
    g = request.GET
    status = g.get("status", "")
    page = selectors.proposal_list(
        actor=user,
        rep=_int(g.get("rep")),
        status=status if status in ProposalStatus.values else "",
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    rows = [
        {
            "proposal": p,
            "before": services.proposal_totals(p.current),
            "after": services.proposal_totals(p.proposed),
        }
        for p in page.items
    ]
    return render_page(
        request,
        "field/proposal_list.html",
        {"page": page, "rows": rows, "statuses": ProposalStatus.choices, "f": g},
    )


def _proposal_context(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    user = request.user
    proposal = _get_or_404(selectors.proposal_get, actor=user, proposal_id=proposal_id)
    ids = {a for d in [*proposal.current, *proposal.proposed] for a in d.get("account_ids", [])}
    accounts = customer_selectors.scoped_accounts(user).in_bulk(list(ids))
    before = {d["weekday"]: d for d in proposal.current}
    after = {d["weekday"]: d for d in proposal.proposed}
    days = []
    for weekday in sorted(set(before) | set(after)):
        b, a = before.get(weekday, {}), after.get(weekday, {})
        days.append(
            {
                "label": services.weekday_label(weekday),
                "before": b,
                "after": a,
                "km_saved": round(b.get("km", 0) - a.get("km", 0), 2),
                "after_stops": [
                    {"account": accounts.get(x), "at": t}
                    for x, t in zip(a.get("account_ids", []), a.get("arrivals", []), strict=False)
                ],
            }
        )
    totals_before = services.proposal_totals(proposal.current)
    totals_after = services.proposal_totals(proposal.proposed)
    saving = 0.0
    if totals_before["km"]:
        saving = round(100 * (totals_before["km"] - totals_after["km"]) / totals_before["km"], 1)
    params = proposal.params
    start = {"lat": params["depot_lat"], "lng": params["depot_lng"]} if "depot_lat" in params else None
    layers = _week_layers(proposal.proposed, accounts, _("建议"), True) + _week_layers(
        proposal.current, accounts, _("现状"), False
    )
    for layer in layers:
        layer["start"] = start
    pending = proposal.status == ProposalStatus.PENDING
    return {
        "proposal": proposal,
        "days": days,
        "totals_before": totals_before,
        "totals_after": totals_after,
        "saving": saving,
        "working_days": [services.weekday_label(d) for d in params.get("working_days", [])],
        "map_data": {"layers": layers, "card": card_url_pattern()},
        "can_decide": pending and user.has_perm("field.change_routeproposal") and user.has_perm("field.change_route"),
        "history": list(selectors.proposal_history(actor=user, proposal_id=proposal.pk)[:50]),
        "result_routes": Route.objects.filter(pk__in=params.get("result_routes", [])).order_by("code"),
    }


@login_required
def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    return render_page(request, "field/proposal_detail.html", _proposal_context(request, proposal_id))


@login_required
@require_POST
def proposal_decide(request: HttpRequest, proposal_id: int, decision: str) -> HttpResponse:
    user = request.user
    _get_or_404(selectors.proposal_get, actor=user, proposal_id=proposal_id)
    if decision not in ("accept", "reject"):
        raise Http404
    version = _int(request.POST.get("version"))
    reason = request.POST.get("reason", "")
    try:
        if decision == "accept":
            services.route_proposal_accept(actor=user, proposal_id=proposal_id, expected_version=version, reason=reason)
            messages.success(request, _("已采纳方案，线路已按建议改写"))
        else:
            services.route_proposal_reject(actor=user, proposal_id=proposal_id, reason=reason, expected_version=version)
            messages.success(request, _("已驳回方案"))
    except PermissionDenied as exc:
        raise Http404(exc.message) from exc
    except (ValidationFailed, Conflict) as exc:
        context = _proposal_context(request, proposal_id)
        context["decision_errors"] = _errors(exc)
        return render_page(request, "field/proposal_detail.html", context, status=422)
    return _redirect(request, reverse("field:proposal_detail", args=[proposal_id]))
