"""HTML pages of the org app: thin views over the selectors and services.

Out of scope => 404; in scope without the permission => 403. Forms post with htmx and get the
form fragment back with the errors inline; on success the browser is sent to the detail page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.core.models import AuditLog
from jinggeng.core.pagination import keyset_paginate
from jinggeng.org import selectors, services
from jinggeng.org.forms import EmployeeForm, LeaveForm, OrgUnitForm, TerritoryForm, apply_domain_error
from jinggeng.org.models import Employee, EmployeeStatus, OrgUnit, OrgUnitKind, Territory
from jinggeng.org.scope import managed_unit_ids

EMPLOYEE_SORTS = [
    ("name", gettext_lazy("姓名")),
    ("code", gettext_lazy("工号")),
    ("-created_at", gettext_lazy("最新建档")),
]
HISTORY_LIMIT = 50


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a selector; turn its NotFound / PermissionDenied into Django's 404 / 403."""
    try:
        return fn(**kwargs)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise DjangoPermissionDenied(_("您没有执行此操作的权限"))


def _can_manage(request: HttpRequest, perm: str, unit_id: int | None) -> bool:
    units = managed_unit_ids(request.user)
    return request.user.has_perm(perm) and (units is None or unit_id in units)


def _unit_options(request: HttpRequest) -> list[tuple[int, str]]:
    """Visible units for a filter select: (id, indented name)."""
    return [
        (unit.pk, "\u3000" * level + unit.display_name) for unit, level in selectors.orgunit_tree(actor=request.user)
    ]


def _history(model: type[models.Model], logs: models.QuerySet[AuditLog]) -> list[dict[str, Any]]:
    """Audit records with readable field labels, newest first."""
    labels: dict[str, str] = {}
    for field in model._meta.get_fields():
        verbose = getattr(field, "verbose_name", None)
        if verbose:
            labels[field.name] = str(verbose)
    labels.update({"email": _("电子邮件"), "username": _("用户名"), "is_active": _("可登录")})
    rows = []
    for log in logs.select_related("actor__employee")[:HISTORY_LIMIT]:
        actor = log.actor
        who = getattr(getattr(actor, "employee", None), "name", None) or (actor.get_username() if actor else "—")
        rows.append(
            {
                "log": log,
                "who": who,
                "changes": [
                    {"label": labels.get(c["field"], c["field"]), "old": c["old"], "new": c["new"]}
                    for c in log.change_rows()
                ],
            }
        )
    return rows


def _form_page(
    request: HttpRequest,
    *,
    form: Any,
    template: str,
    context: dict[str, Any],
    save: Callable[[Any], Any],
    success_url: Callable[[Any], str],
    success_message: str,
) -> HttpResponse:
    """Validate and save a form through a service; on htmx posts answer with the form fragment.

    A post with ``_validate=1`` (sent by htmx when a field changes) runs the service inside a
    transaction that is rolled back: the form comes back with the service's errors, nothing is
    saved, and errors of fields the user has not filled in yet are left out.
    """
    validate_only = request.method == "POST" and request.POST.get("_validate") == "1"
    if request.method == "POST" and form.is_valid():
        try:
            if validate_only:
                with transaction.atomic():
                    save(form)
                    transaction.set_rollback(True)
            else:
                saved = save(form)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if not validate_only:
                messages.success(request, success_message)
                url = success_url(saved)
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = url
                    return response
                return redirect(url)
    if validate_only:
        for name in list(form.errors):
            if name in form.fields and not request.POST.get(name):
                del form.errors[name]
    return render_page(request, template, {**context, "form": form}, fragment="form")


# --- org units ------------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def unit_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    tree = _call(selectors.orgunit_tree, actor=request.user, q=q or None)
    context = {
        "tree": [{"unit": unit, "indent": level * 1.25} for unit, level in tree],
        "q": q,
        "can_add": request.user.has_perm("org.add_orgunit"),
    }
    return render_page(request, "org/unit_list.html", context, fragment="rows")


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _call(selectors.orgunit_get, actor=request.user, id=pk)
    context = {
        "unit": unit,
        "children": selectors.orgunit_children(actor=request.user, unit=unit),
        "members": selectors.employee_list(actor=request.user).filter(org_unit=unit).order_by("name", "pk"),
        "territories": selectors.territory_list(actor=request.user).filter(org_unit=unit).order_by("code"),
        "history": _history(OrgUnit, selectors.orgunit_history(actor=request.user, id=unit.pk)),
        "can_edit": _can_manage(request, "org.change_orgunit", unit.pk),
        "can_add": _can_manage(request, "org.add_orgunit", unit.pk),
        "can_add_employee": _can_manage(request, "org.add_employee", unit.pk),
    }
    return render_page(request, "org/unit_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def unit_create(request: HttpRequest) -> HttpResponse:
    _require(request, "org.add_orgunit")
    initial = {"parent": request.GET.get("parent", ""), "kind": OrgUnitKind.TEAM, "active": True}
    form = OrgUnitForm(request.POST or None, actor=request.user, initial=initial)
    return _form_page(
        request,
        form=form,
        template="org/unit_form.html",
        context={"unit": None},
        save=lambda f: services.orgunit_create(actor=request.user, data=f.data_for_service()),
        success_url=lambda unit: reverse("org:unit_detail", args=[unit.pk]),
        success_message=_("组织已创建"),
    )


@login_required
@vary_on_headers("HX-Request")
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _call(selectors.orgunit_get, actor=request.user, id=pk)
    if not _can_manage(request, "org.change_orgunit", unit.pk):
        raise DjangoPermissionDenied(_("您不能修改此组织单元"))
    form = OrgUnitForm(request.POST or None, actor=request.user, unit=unit)
    return _form_page(
        request,
        form=form,
        template="org/unit_form.html",
        context={"unit": unit},
        save=lambda f: services.orgunit_update(
            actor=request.user,
            unit_id=unit.pk,
            data=f.data_for_service(),
            expected_version=f.cleaned_data.get("version"),
        ),
        success_url=lambda saved: reverse("org:unit_detail", args=[saved.pk]),
        success_message=_("组织已保存"),
    )


@login_required
@require_POST
def unit_delete(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _call(selectors.orgunit_get, actor=request.user, id=pk)
    try:
        services.orgunit_delete(actor=request.user, unit_id=unit.pk)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("org:unit_detail", pk=unit.pk)
    messages.success(request, _("组织已删除"))
    return redirect("org:unit_list")


# --- employees ------------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def employee_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    sort = g.get("sort", "name")
    if sort not in dict(EMPLOYEE_SORTS):
        sort = "name"
    qs = _call(
        selectors.employee_list,
        actor=request.user,
        q=g.get("q", "").strip() or None,
        role=g.get("role") or None,
        org_unit=g.get("org_unit") or None,
        status=g.get("status") or None,
    )
    error = ""
    try:
        page = keyset_paginate(
            qs,
            sort=sort,
            allowed_sorts=["name", "code", "created_at"],
            cursor=g.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
        items, next_cursor = page.items, page.next_cursor
    except ValidationFailed as exc:
        items, next_cursor, error = [], None, exc.message
    query = g.copy()
    query.pop("cursor", None)
    context = {
        "items": items,
        "next_cursor": next_cursor,
        "error": error,
        "query": query.urlencode(),
        "f": g,
        "sort": sort,
        "sorts": EMPLOYEE_SORTS,
        "roles": selectors.role_list(),
        "units": _unit_options(request),
        "statuses": EmployeeStatus.choices,
        "can_add": request.user.has_perm("org.add_employee"),
    }
    return render_page(request, "org/employee_list.html", context, fragment="rows")


@login_required
def employee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    employee = _call(selectors.employee_get, actor=request.user, id=pk)
    can_edit = _can_manage(request, "org.change_employee", employee.org_unit_id)
    context = {
        "employee": employee,
        "reports": selectors.employee_reports(actor=request.user, employee=employee),
        "history": _history(Employee, selectors.employee_history(actor=request.user, id=employee.pk)),
        "can_edit": can_edit,
        "can_leave": can_edit and employee.status == EmployeeStatus.ACTIVE and employee.user_id != request.user.pk,
        "leave_form": LeaveForm(),
    }
    return render_page(request, "org/employee_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def employee_create(request: HttpRequest) -> HttpResponse:
    _require(request, "org.add_employee")
    initial = {"org_unit": request.GET.get("org_unit", "")}
    form = EmployeeForm(request.POST or None, actor=request.user, initial=initial)
    return _form_page(
        request,
        form=form,
        template="org/employee_form.html",
        context={"employee": None},
        save=lambda f: services.employee_create(actor=request.user, data=f.data_for_service()),
        success_url=lambda e: reverse("org:employee_detail", args=[e.pk]),
        success_message=_("员工已创建"),
    )


@login_required
@vary_on_headers("HX-Request")
def employee_edit(request: HttpRequest, pk: int) -> HttpResponse:
    employee = _call(selectors.employee_get, actor=request.user, id=pk)
    if not _can_manage(request, "org.change_employee", employee.org_unit_id):
        raise DjangoPermissionDenied(_("您不能修改此员工"))
    form = EmployeeForm(request.POST or None, actor=request.user, employee=employee)
    return _form_page(
        request,
        form=form,
        template="org/employee_form.html",
        context={"employee": employee},
        save=lambda f: services.employee_update(
            actor=request.user,
            employee_id=employee.pk,
            data=f.data_for_service(),
            expected_version=f.cleaned_data.get("version"),
        ),
        success_url=lambda e: reverse("org:employee_detail", args=[e.pk]),
        success_message=_("员工已保存"),
    )


@login_required
@require_POST
def employee_leave(request: HttpRequest, pk: int) -> HttpResponse:
    employee = _call(selectors.employee_get, actor=request.user, id=pk)
    form = LeaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写离职日期"))
        return redirect("org:employee_detail", pk=employee.pk)
    try:
        services.employee_leave(
            actor=request.user,
            employee_id=employee.pk,
            leave_date=form.cleaned_data["leave_date"],
            reason=form.cleaned_data["reason"],
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    except ValidationFailed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已办理离职；请把其名下客户转给其他人"))
    return redirect("org:employee_detail", pk=employee.pk)


# --- territories ----------------------------------------------------------------------------


@login_required
@vary_on_headers("HX-Request")
def territory_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    qs = _call(
        selectors.territory_list,
        actor=request.user,
        q=q or None,
        org_unit=request.GET.get("org_unit") or None,
    )
    error = ""
    try:
        page = keyset_paginate(
            qs,
            sort="code",
            allowed_sorts=["code"],
            cursor=request.GET.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
        items, next_cursor = page.items, page.next_cursor
    except ValidationFailed as exc:
        items, next_cursor, error = [], None, exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "territories": items,
        "next_cursor": next_cursor,
        "error": error,
        "query": query.urlencode(),
        "q": q,
        "f": request.GET,
        "units": _unit_options(request),
        "can_add": request.user.has_perm("org.add_territory"),
    }
    return render_page(request, "org/territory_list.html", context, fragment="rows")


@login_required
def territory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    territory = _call(selectors.territory_get, actor=request.user, id=pk)
    context = {
        "territory": territory,
        "divisions": territory.divisions.order_by("code"),
        "history": _history(Territory, selectors.territory_history(actor=request.user, id=territory.pk)),
        "can_edit": _can_manage(request, "org.change_territory", territory.org_unit_id),
        "can_delete": _can_manage(request, "org.delete_territory", territory.org_unit_id),
    }
    return render_page(request, "org/territory_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def territory_create(request: HttpRequest) -> HttpResponse:
    _require(request, "org.add_territory")
    form = TerritoryForm(request.POST or None, actor=request.user, initial={"active": True})
    return _form_page(
        request,
        form=form,
        template="org/territory_form.html",
        context={"territory": None},
        save=lambda f: services.territory_create(actor=request.user, data=f.data_for_service()),
        success_url=lambda t: reverse("org:territory_detail", args=[t.pk]),
        success_message=_("销售区域已创建"),
    )


@login_required
@vary_on_headers("HX-Request")
def territory_edit(request: HttpRequest, pk: int) -> HttpResponse:
    territory = _call(selectors.territory_get, actor=request.user, id=pk)
    if not _can_manage(request, "org.change_territory", territory.org_unit_id):
        raise DjangoPermissionDenied(_("您不能修改此销售区域"))
    form = TerritoryForm(request.POST or None, actor=request.user, territory=territory)
    return _form_page(
        request,
        form=form,
        template="org/territory_form.html",
        context={"territory": territory},
        save=lambda f: services.territory_update(
            actor=request.user,
            territory_id=territory.pk,
            data=f.data_for_service(),
            expected_version=f.cleaned_data.get("version"),
        ),
        success_url=lambda t: reverse("org:territory_detail", args=[t.pk]),
        success_message=_("销售区域已保存"),
    )


@login_required
@require_POST
def territory_delete(request: HttpRequest, pk: int) -> HttpResponse:
    territory = _call(selectors.territory_get, actor=request.user, id=pk)
    try:
        services.territory_delete(actor=request.user, territory_id=territory.pk)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    messages.success(request, _("销售区域已删除"))
    return redirect("org:territory_list")
