"""HTML pages of the analytics: the 3E card, plan vs actual, coverage and the competitor digest.

Thin: parse the filters, run one runner, render. Every figure links to the records behind it
(the visit list of the field app takes ``rep``, ``day``, ``status``, ``flag`` (a flag code) and
``flagged``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.htmx import render_page
from jinggeng.insights.queries import competitor_digest, coverage, plan_vs_actual, three_e
from jinggeng.org.models import OrgUnit
from jinggeng.org.scope import visible_unit_ids

#: Rows of the 3E card per page (the totals cover every row).
THREE_E_PAGE = 200


def _date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _unit_choices(actor: Any) -> list[tuple[int, str]]:
    ids = visible_unit_ids(actor)
    qs = OrgUnit.objects.filter(active=True).order_by("path")
    if ids is not None:
        qs = qs.filter(pk__in=sorted(ids))
    return [(u.pk, u.display_name) for u in qs[:500]]


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def visits_link(**filters: Any) -> str:
    """The field app's visit list with the given filters."""
    query = urlencode({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in filters.items()})
    return f"{_url('field:visit_list', '/field/visits/')}?{query}"


def _row_links(rep_id: int, org_unit_id: int, day: dt.date, report_id: int | None) -> dict[str, str]:
    links = {
        "visits": visits_link(rep=rep_id, day=day),
        "done": visits_link(rep=rep_id, day=day, status="completed"),
        "missed": visits_link(rep=rep_id, day=day, status="missed"),
        "flagged": visits_link(rep=rep_id, day=day, flagged=1),
        "orders": f"{_url('orders:order_list', '/orders/')}?"
        + urlencode({"owner": rep_id, "date_from": day.isoformat(), "date_to": day.isoformat()}),
        "audits": f"{_url('field:audit_findings', '/field/audits/findings/')}?"
        + urlencode({"rep": rep_id, "problems": 1}),
        "competitors": f"{reverse('insights:competitors')}?"
        + urlencode({"week": day.isoformat(), "org_unit": org_unit_id}),
        "outlets": f"{_url('customers:account_list', '/customers/')}?"
        + urlencode({"owner": rep_id, "account_type": "outlet"}),
    }
    if report_id is not None:
        with contextlib.suppress(NoReverseMatch):
            links["report"] = reverse("field:report_detail", args=[report_id])
    return links


@login_required
@vary_on_headers("HX-Request")
def three_e_card(request: HttpRequest) -> HttpResponse:
    g = request.GET
    today = timezone.localdate()
    date_to = _date(g.get("date_to") or g.get("day"), today)
    date_from = _date(g.get("date_from") or g.get("day"), date_to)
    params = three_e.ThreeEParams(
        date_from=date_from, date_to=date_to, org_unit_id=_int(g.get("org_unit")), rep_id=_int(g.get("rep"))
    )
    error = ""
    try:
        rows = three_e.run(actor=request.user, params=params)
    except ValidationFailed as exc:
        rows, error = [], "; ".join(m for msgs in exc.field_errors.values() for m in msgs) or exc.message
    except NotFound as exc:
        raise Http404(exc.message) from exc
    page_no = max(1, _int(g.get("page")) or 1)
    start = (page_no - 1) * THREE_E_PAGE
    shown = rows[start : start + THREE_E_PAGE]
    items = [{"row": r, "links": _row_links(r.rep_id, r.org_unit_id, r.day, r.report_id)} for r in shown]
    query = g.copy()
    query.pop("page", None)
    context = {
        "items": items,
        "page_no": page_no,
        "has_next": start + THREE_E_PAGE < len(rows),
        "query": query.urlencode(),
        "row_count": len(rows),
        "totals": three_e.totals(rows),
        "params": params,
        "error": error,
        "f": g,
        "unit_choices": _unit_choices(request.user),
    }
    return render_page(request, "insights/three_e.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def plan_actual(request: HttpRequest) -> HttpResponse:
    g = request.GET
    today = timezone.localdate()
    params = plan_vs_actual.PlanParams(
        date_from=_date(g.get("date_from"), today.replace(day=1)),
        date_to=_date(g.get("date_to"), today),
        org_unit_id=_int(g.get("org_unit")),
        rep_id=_int(g.get("rep")),
    )
    error = ""
    try:
        rows = plan_vs_actual.run(actor=request.user, params=params)
    except ValidationFailed as exc:
        rows, error = [], "; ".join(m for msgs in exc.field_errors.values() for m in msgs) or exc.message
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "rows": rows,
        "params": params,
        "error": error,
        "f": g,
        "formula": plan_vs_actual.FORMULA,
        "unit_choices": _unit_choices(request.user),
    }
    return render_page(request, "insights/plan_vs_actual.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def coverage_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    params = coverage.CoverageParams(
        today=timezone.localdate(),
        org_unit_id=_int(g.get("org_unit")),
        rep_id=_int(g.get("rep")),
        cursor=g.get("cursor") or None,
        limit=settings.PAGE_SIZE_DEFAULT,
    )
    error = ""
    try:
        page = coverage.run(actor=request.user, params=params)
    except ValidationFailed as exc:
        page, error = coverage.CoveragePage(items=[], next_cursor=None), exc.message
    query = g.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "areas": coverage.areas(actor=request.user, params=params) if not params.cursor else None,
        "params": params,
        "error": error,
        "f": g,
        "query": query.urlencode(),
        "unit_choices": _unit_choices(request.user),
    }
    return render_page(request, "insights/coverage.html", context, fragment="results")


@login_required
@vary_on_headers("HX-Request")
def competitors(request: HttpRequest) -> HttpResponse:
    g = request.GET
    params = competitor_digest.DigestParams(
        week=_date(g.get("week"), timezone.localdate()), org_unit_id=_int(g.get("org_unit"))
    )
    context = {
        "rows": competitor_digest.run(actor=request.user, params=params),
        "params": params,
        "previous_week": params.week_start - dt.timedelta(days=7),
        "next_week": params.week_start + dt.timedelta(days=7),
        "f": g,
        "unit_choices": _unit_choices(request.user),
    }
    return render_page(request, "insights/competitors.html", context, fragment="results")
