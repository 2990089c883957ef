"""HTML views of the field app: visits — the rep's phone pages ("today", the visit page with its
steps, photos, check-in, check-out and completion, a new ad-hoc visit), the managers' visit list
and detail with flags, and the service worker that keeps today's pages readable offline.

Every form carries a hidden ``idempotency_key`` made when the page was drawn (the offline
script sends it as the ``Idempotency-Key`` header too): a form sent twice, or resent from the
offline queue, does its work once. A refused action answers with the visit page, the error on
top and the HTTP status of the error (so the offline queue can tell a refusal from a network
failure); a done action redirects (303).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import DomainError, NotFound
from jinggeng.core.htmx import render_page
from jinggeng.customers.selectors import AccountFilters, account_list
from jinggeng.field.models import PhotoKind, VisitFlagCode, VisitStatus, VisitStepKind
from jinggeng.field.selectors import visits as selectors
from jinggeng.field.services import visits as services

#: Steps another part of the field app records on its own page (URL name, argument).
STEP_PAGES = {
    VisitStepKind.STOCK: "field:visit_stock",
    VisitStepKind.ORDER: "field:visit_suggest",
    VisitStepKind.COMPETITOR: "field:visit_competitor",
}


def optional_url(name: str, *args: Any) -> str:
    """The URL of a page another part provides, or "" while it does not exist yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _key(request: HttpRequest) -> str:
    return str(request.headers.get("Idempotency-Key") or request.POST.get("idempotency_key") or "")


def _new_key() -> str:
    return uuid.uuid4().hex


def _parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- pages


@login_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    """The rep's day: planned visits in route order, then ad-hoc ones; carried-over marked."""
    try:
        visits = selectors.visit_today(actor=request.user)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        return render_page(request, "field/today.html", {"error": exc, "visits": []}, status=exc.status)
    rows: list[dict[str, Any]] = [
        {
            "visit": v,
            "card_url": optional_url("field:card", v.account_id),
            "key": _new_key(),
        }
        for v in visits
    ]
    done = sum(1 for v in visits if v.status == VisitStatus.COMPLETED)
    context = {
        "rows": rows,
        "day": timezone.localdate(),
        "done": done,
        "total": len(visits),
        "offline_urls": [reverse("field:today")]
        + [reverse("field:visit_detail", args=[v.pk]) for v in visits]
        + [r["card_url"] for r in rows if r["card_url"]],
    }
    return render_page(request, "field/today.html", context)


def _ticked(kind: str, data: dict[str, Any]) -> set[str]:
    """The check codes a POSM or SHELF step recorded as true."""
    values = data.get("checks", {}) if kind == VisitStepKind.POSM else data
    return {code for code, value in values.items() if value is True} if isinstance(values, dict) else set()


def _visit_context(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit = selectors.visit_get(actor=request.user, visit_id=visit_id)
    is_rep = visit.rep_id == request.user.pk
    checklist: list[dict[str, Any]] = []
    lines = selectors.visit_checklist(visit)
    for line in lines:
        page = STEP_PAGES.get(VisitStepKind(line.kind))
        checklist.append(
            {
                "line": line,
                "page_url": optional_url(page, visit.pk) if page else "",
                "card_url": optional_url("field:card", visit.account_id) if line.kind == VisitStepKind.CARD else "",
                "checks": (
                    services.POSM_CHECKS
                    if line.kind == VisitStepKind.POSM
                    else services.SHELF_CHECKS
                    if line.kind == VisitStepKind.SHELF
                    else {}
                ),
                "checked": _ticked(line.kind, line.step.data if line.step else {}),
                "key": _new_key(),
            }
        )
    return {
        "visit": visit,
        "is_rep": is_rep,
        "can_act": is_rep and visit.status in (VisitStatus.PLANNED, VisitStatus.IN_PROGRESS),
        "checklist": checklist,
        "missing": [line.label for line in lines if line.required and not line.done],
        "flags": list(visit.flags.all()),
        "photos": list(visit.photos.all()),
        "photo_kinds": PhotoKind.choices,
        "card_url": optional_url("field:card", visit.account_id),
        "keys": {name: _new_key() for name in ("check_in", "check_out", "photo", "complete")},
        "photo_max_kb": services.photo_max_bytes() // 1024,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The visit page: the rep works the visit here; managers read it with its flags."""
    try:
        context = _visit_context(request, visit_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status)
    return render_page(request, "field/visit_detail.html", context, fragment="visit")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def visit_list(request: HttpRequest) -> HttpResponse:
    """Managers' list of visits in their scope, filtered by rep, day, status and flag."""
    g = request.GET
    filters = selectors.VisitFilters(
        rep=_int(g.get("rep")),
        day=_parse_date(g.get("day")),
        status=g.get("status", "") if g.get("status", "") in VisitStatus.values else "",
        flag=g.get("flag", "") if g.get("flag", "") in VisitFlagCode.values else "",
        flagged=True if g.get("flagged") else None,
    )
    try:
        page = selectors.visit_list(actor=request.user, filters=filters, cursor=g.get("cursor") or None, limit=50)
    except DomainError as exc:
        if exc.status == 422:  # a bad cursor: the first page
            page = selectors.visit_list(actor=request.user, filters=filters, limit=50)
        else:
            return HttpResponse(exc.message, status=exc.status)
    query = g.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "filters": filters,
        "statuses": VisitStatus.choices,
        "flag_codes": VisitFlagCode.choices,
        "query": query.urlencode(),
    }
    return render_page(request, "field/visit_list.html", context, fragment="rows")


@login_required
@vary_on_headers("HX-Request")
def visit_new(request: HttpRequest) -> HttpResponse:
    """A new ad-hoc visit for today: pick one of your outlets (search by name or code)."""
    error: DomainError | None = None
    if request.method == "POST":
        try:
            visit, _created = services.visit_create_ad_hoc(
                actor=request.user,
                account_id=request.POST.get("account_id"),
                notes=request.POST.get("notes", ""),
                idempotency_key=_key(request),
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            error = exc
            existing = exc.extra.get("visit_id")
            if existing:
                messages.info(request, exc.message)
                return HttpResponseRedirect(reverse("field:visit_detail", args=[existing]), status=303)
        else:
            return HttpResponseRedirect(reverse("field:visit_detail", args=[visit.pk]), status=303)
    q = (request.GET.get("q") or "").strip()
    preset = _int(request.GET.get("account"))
    accounts = account_list(actor=request.user, filters=AccountFilters(q=q), limit=30).items
    context = {"accounts": accounts, "q": q, "preset": preset, "error": error, "key": _new_key()}
    return render_page(
        request, "field/visit_new.html", context, fragment="choices", status=error.status if error else 200
    )


# --------------------------------------------------------------------------- actions


def _act(request: HttpRequest, visit_id: int, call: Callable[[], Any], done: str) -> HttpResponse:
    try:
        call()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        try:
            context = _visit_context(request, visit_id)
        except NotFound as missing:
            raise Http404(missing.message) from missing
        context["error"] = exc
        return render_page(request, "field/visit_detail.html", context, status=exc.status)
    if not request.headers.get("X-Field-Fetch"):  # offline.js follows the redirect itself: no flash
        messages.success(request, done)
    target = request.POST.get("next", "")
    if target != reverse("field:today"):
        target = reverse("field:visit_detail", args=[visit_id])
    return HttpResponseRedirect(target, status=303)


def _position(request: HttpRequest) -> dict[str, Any]:
    p = request.POST
    return {name: p.get(name) for name in ("latitude", "longitude", "accuracy_m", "device_at")}


@login_required
@require_POST
def visit_check_in(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _act(
        request,
        visit_id,
        lambda: services.visit_check_in(
            actor=request.user, visit_id=visit_id, data=_position(request), idempotency_key=_key(request)
        ),
        _("已签到"),
    )


@login_required
@require_POST
def visit_check_out(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _act(
        request,
        visit_id,
        lambda: services.visit_check_out(
            actor=request.user, visit_id=visit_id, data=_position(request), idempotency_key=_key(request)
        ),
        _("已签退"),
    )


@login_required
@require_POST
def visit_step(request: HttpRequest, visit_id: int) -> HttpResponse:
    kind = request.POST.get("kind", "")
    ticked = set(request.POST.getlist("checks"))
    data: dict[str, Any] = {}
    if kind == VisitStepKind.POSM:
        data = {"checks": {code: code in ticked for code in services.POSM_CHECKS}}
    elif kind == VisitStepKind.SHELF:
        data = {code: code in ticked for code in services.SHELF_CHECKS}
    return _act(
        request,
        visit_id,
        lambda: services.visit_step_record(
            actor=request.user,
            visit_id=visit_id,
            kind=kind,
            data=data,
            notes=request.POST.get("notes", ""),
            idempotency_key=_key(request),
        ),
        _("步骤已记录"),
    )


@login_required
@require_POST
def visit_photo(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _act(
        request,
        visit_id,
        lambda: services.visit_photo_add(
            actor=request.user,
            visit_id=visit_id,
            upload=request.FILES.get("file"),
            kind=request.POST.get("kind", PhotoKind.SHELF),
            taken_at=request.POST.get("taken_at") or None,
            idempotency_key=_key(request),
        ),
        _("照片已上传"),
    )


@login_required
@require_POST
def visit_complete(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _act(
        request,
        visit_id,
        lambda: services.visit_complete(
            actor=request.user, visit_id=visit_id, expected_version=_int(request.POST.get("version"))
        ),
        _("拜访已完成"),
    )


@login_required
@require_GET
def visit_photo_file(request: HttpRequest, photo_id: int) -> FileResponse:
    """A visit photo's file, for those who may see the visit (media files are not served
    publicly)."""
    try:
        photo = selectors.visit_photo_get(actor=request.user, photo_id=photo_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --------------------------------------------------------------------------- service worker


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """``/field/sw.js``: served from ``/field/`` so its scope covers the field pages."""
    path = finders.find("field/sw.js")
    if not path:
        raise Http404("sw.js")
    found = path[0] if isinstance(path, list) else path
    # The one message the worker shows itself (a page never opened online), translated here.
    offline_text = escape(_("离线：此页面尚未保存在手机上，联网后打开一次即可离线查看。"))
    script = (
        Path(found)
        .read_text(encoding="utf-8")
        .replace('"__OFFLINE_TEXT__"', json.dumps(offline_text, ensure_ascii=False))
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/field/"
    response["Cache-Control"] = "no-cache"
    return response
