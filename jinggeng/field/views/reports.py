"""HTML views of the field app: the rep's daily report (phone first), report detail, and the
supervisor audits (my audits to do, audit detail with the finding form, findings for managers,
sampling).

Thin: parse, call one selector or service, render; a refused write shows the service's errors
and saves nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import DomainError, NotFound
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.field.models import AuditFinding, AuditStatus
from jinggeng.field.selectors import reports as selectors
from jinggeng.field.services.audits import audit_record_finding, audit_sample
from jinggeng.field.services.reports import daily_report_submit
from jinggeng.org.scope import visible_unit_ids

FIGURE_LABELS: list[tuple[str, Any]] = [
    ("visits_planned", gettext_lazy("计划拜访")),
    ("visits_done", gettext_lazy("完成拜访")),
    ("ad_hoc_done", gettext_lazy("其中临时拜访")),
    ("visits_missed", gettext_lazy("未拜访")),
    ("flagged_visits", gettext_lazy("异常拜访")),
    ("orders", gettext_lazy("订单数")),
    ("order_amount", gettext_lazy("订单金额")),
    ("stockouts", gettext_lazy("断货 SKU")),
    ("stockout_outlets", gettext_lazy("断货门店")),
    ("competitor_notes", gettext_lazy("竞品信息")),
    ("new_outlets", gettext_lazy("新开客户")),
    ("audit_problems", gettext_lazy("稽查问题")),
]


def _date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _labelled(figures: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(key, label, figures.get(key, 0)) for key, label in FIGURE_LABELS]


def _put_errors(form: forms.Form, exc: DomainError) -> None:
    if exc.field_errors:
        for name, msgs in exc.field_errors.items():
            for msg in msgs:
                form.add_error(name if name in form.fields else None, msg)
    else:
        form.add_error(None, exc.message)


# --------------------------------------------------------------------------- daily report


class ReportForm(forms.Form):
    comments = forms.CharField(
        label=gettext_lazy("今日工作总结"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    plan_tomorrow = forms.CharField(
        label=gettext_lazy("明日计划"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


@login_required
@vary_on_headers("HX-Request")
def report_today(request: HttpRequest) -> HttpResponse:
    """The rep's own report of a day (today by default): the figures, then the form."""
    today = timezone.localdate()
    day = _date(request.GET.get("day") or request.POST.get("day"), today)
    report = selectors.daily_report_find(actor=request.user, rep=request.user, day=day)
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                report = daily_report_submit(
                    actor=request.user,
                    day=day,
                    comments=form.cleaned_data["comments"],
                    plan_tomorrow=form.cleaned_data["plan_tomorrow"],
                    expected_version=form.cleaned_data["version"],
                )
            except DomainError as exc:
                _put_errors(form, exc)
                status = exc.status
            else:
                if report.late:
                    messages.warning(request, _("日报已提交（迟交）"))
                else:
                    messages.success(request, _("日报已提交"))
                target = reverse("field:report") + f"?day={day.isoformat()}"
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        else:
            status = 422
    else:
        initial = (
            {"comments": report.comments, "plan_tomorrow": report.plan_tomorrow, "version": report.version}
            if report
            else None
        )
        form = ReportForm(initial=initial)
    try:
        figures = selectors.daily_report_figures(actor=request.user, rep=request.user, day=day)
    except NotFound:
        figures = selectors.empty_figures()
    deadline = selectors.report_deadline(day)
    context = {
        "day": day,
        "today": today,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1) if day < today else None,
        "report": report,
        "figures": _labelled(figures),
        "deadline": deadline,
        "closed": bool(report and report.status == "submitted" and timezone.now() > report.deadline_at),
        "past_deadline": timezone.now() > deadline,
        "form": form,
        "can_submit": request.user.has_perm("field.add_dailyreport"),
    }
    return render_page(request, "field/report.html", context, fragment="form", status=status)


@login_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        report = selectors.daily_report_get(actor=request.user, report_id=report_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {"report": report, "figures": _labelled(report.figures or {})}
    return render_page(request, "field/report_detail.html", context)


# --------------------------------------------------------------------------- audits


class FindingForm(forms.Form):
    finding = forms.ChoiceField(label=gettext_lazy("稽查结论"), choices=AuditFinding.choices)
    notes = forms.CharField(label=gettext_lazy("稽查说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SampleForm(forms.Form):
    org_unit = forms.TypedChoiceField(label=gettext_lazy("组织"), coerce=int)
    since = forms.DateField(label=gettext_lazy("拜访日期自"), widget=forms.DateInput(attrs={"type": "date"}))
    n_risk = forms.IntegerField(label=gettext_lazy("风险抽查数"), min_value=0, max_value=200, initial=5)
    n_random = forms.IntegerField(label=gettext_lazy("随机抽查数"), min_value=0, max_value=200, initial=5)
    seed = forms.IntegerField(label=gettext_lazy("随机种子（可选）"), required=False)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].choices = units  # type: ignore[attr-defined]


@login_required
@vary_on_headers("HX-Request")
def audit_todo(request: HttpRequest) -> HttpResponse:
    """My audits: those assigned to me, the open ones first."""
    show = request.GET.get("show", "open")
    qs = selectors.audit_list(
        actor=request.user,
        supervisor_id=request.user.pk,
        status="" if show == "all" else AuditStatus.ASSIGNED,
    )
    context = {"audits": list(qs[:200]), "show": show, "can_sample": request.user.has_perm("field.add_visitaudit")}
    return render_page(request, "field/audit_list.html", context, fragment="rows")


@login_required
@vary_on_headers("HX-Request")
def audit_detail(request: HttpRequest, audit_id: int) -> HttpResponse:
    try:
        audit = selectors.audit_get(actor=request.user, audit_id=audit_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    status = 200
    if request.method == "POST":
        form = FindingForm(request.POST)
        if form.is_valid():
            try:
                audit = audit_record_finding(
                    actor=request.user,
                    audit_id=audit.pk,
                    finding=form.cleaned_data["finding"],
                    notes=form.cleaned_data["notes"],
                    expected_version=form.cleaned_data["version"],
                )
            except DomainError as exc:
                _put_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("稽查结论已保存"))
                target = reverse("field:audit_detail", args=[audit.pk])
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        else:
            status = 422
    else:
        form = FindingForm(
            initial={"finding": audit.finding or AuditFinding.CONFIRMED, "notes": audit.notes, "version": audit.version}
        )
    evidence = selectors.audit_evidence(audit=audit)
    context = {
        "audit": audit,
        "visit": audit.visit,
        "evidence": evidence,
        "form": form,
        "can_record": audit.rep_id != request.user.pk
        and (audit.supervisor_id == request.user.pk or request.user.has_perm("field.change_visitaudit")),
    }
    return render_page(request, "field/audit_detail.html", context, fragment="form", status=status)


@login_required
@vary_on_headers("HX-Request")
def audit_findings(request: HttpRequest) -> HttpResponse:
    """Findings for managers: done audits in scope, problems only by default."""
    g = request.GET
    problems = g.get("problems", "1") == "1"
    finding = g.get("finding", "")
    qs = selectors.audit_list(
        actor=request.user,
        status=AuditStatus.DONE if not problems else "",
        finding=finding if finding in AuditFinding.values else "",
        problems_only=problems,
        rep_id=_int(g.get("rep")),
        org_unit_id=_int(g.get("org_unit")),
    )
    context = {"audits": list(qs[:200]), "f": g, "problems": problems, "findings": AuditFinding.choices}
    return render_page(request, "field/audit_findings.html", context, fragment="rows")


def _unit_choices(actor: Any) -> list[tuple[int, str]]:
    from jinggeng.org.models import OrgUnit

    ids = visible_unit_ids(actor)
    qs = OrgUnit.objects.filter(active=True).order_by("path")
    if ids is not None:
        qs = qs.filter(pk__in=sorted(ids))
    return [(u.pk, u.display_name) for u in qs[:500]]


@login_required
@vary_on_headers("HX-Request")
def audit_sample_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("field.add_visitaudit"):
        raise Http404(_("页面不存在"))
    units = _unit_choices(request.user)
    status = 200
    created: list[Any] | None = None
    if request.method == "POST":
        form = SampleForm(request.POST, units=units)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = audit_sample(
                    actor=request.user,
                    org_unit=data["org_unit"],
                    since=data["since"],
                    n_random=data["n_random"],
                    n_risk=data["n_risk"],
                    seed=data["seed"],
                )
            except DomainError as exc:
                _put_errors(form, exc)
                status = exc.status
        else:
            status = 422
    else:
        form = SampleForm(
            units=units,
            initial={"since": timezone.localdate() - dt.timedelta(days=7), "n_risk": 5, "n_random": 5},
        )
    context = {"form": form, "created": created}
    return render_page(request, "field/audit_sample.html", context, fragment="form", status=status)
