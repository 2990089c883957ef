"""HTML pages for customers: thin views over selectors and services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.htmx import is_htmx, render_page
from jinggeng.core.pagination import Page
from jinggeng.customers import selectors, services
from jinggeng.customers.forms import AccountForm, ContactForm, MergeForm, TransferAllForm, TransferForm
from jinggeng.customers.models import AccountStatus, AccountType, ChannelType, Grade
from jinggeng.org.models import Division
from jinggeng.org.selectors import division_list

SORTS = [
    ("name", gettext_lazy("名称")),
    ("-created_at", gettext_lazy("最新创建")),
    ("-updated_at", gettext_lazy("最近修改")),
]


def _filters(request: HttpRequest) -> selectors.AccountFilters:
    g = request.GET
    custom = {k.removeprefix("custom."): str(v) for k, v in g.items() if k.startswith("custom.") and v}
    return selectors.AccountFilters(
        q=g.get("q", "").strip(),
        account_type=g.get("account_type", ""),
        grade=g.get("grade", ""),
        status=g.get("status", ""),
        division=g.get("division", "").strip(),
        channel_type=g.get("channel_type", ""),
        tag=g.get("tag", ""),
        org_unit=int(g["org_unit"]) if g.get("org_unit", "").isdigit() else None,
        owner=int(g["owner"]) if g.get("owner", "").isdigit() else None,
        custom=custom,
    )


def _http(exc: DomainError) -> Exception:
    if isinstance(exc, NotFound):
        return Http404(exc.message)
    return exc


@login_required
@vary_on_headers("HX-Request")
def account_list(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "name")
    if sort not in dict(SORTS):
        sort = "name"
    error = ""
    try:
        page = selectors.account_list(
            actor=request.user,
            filters=_filters(request),
            sort=sort,
            cursor=request.GET.get("cursor") or None,
            limit=settings.PAGE_SIZE_DEFAULT,
        )
    except ValidationFailed as exc:
        page = Page(items=[], next_cursor=None, sort=sort)
        error = str(exc)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "error": error,
        "sorts": SORTS,
        "sort": sort,
        "query": query.urlencode(),
        "types": AccountType.choices,
        "grades": Grade.choices,
        "statuses": AccountStatus.choices,
        "channel_types": ChannelType.objects.filter(active=True),
        "f": request.GET,
        "can_add": request.user.has_perm("customers.add_account"),
        "custom_filters": [(d, request.GET.get(f"custom.{d.key}", "")) for d in selectors.custom_field_list()],
    }
    return render_page(request, "customers/account_list.html", context, fragment="results")


@login_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    try:
        account = selectors.account_get(actor=request.user, account_id=account_id)
        suppliers, customers = selectors.account_supply_links(actor=request.user, account_id=account_id)
        history = list(selectors.account_history(actor=request.user, account_id=account_id)[:50])
        ownership = list(selectors.account_ownership_history(actor=request.user, account_id=account_id)[:20])
    except NotFound as exc:
        raise Http404(exc.message) from exc
    contacts = selectors.contact_list(actor=request.user, account_id=account.pk, limit=100).items
    user = request.user
    context = {
        "account": account,
        "contacts": contacts,
        "suppliers": suppliers,
        "customers": customers,
        "history": history,
        "ownership": ownership,
        "can_edit": user.has_perm("customers.change_account"),
        "can_transfer": user.has_perm("customers.transfer_account"),
        "can_merge": user.has_perm("customers.merge_account"),
        "can_add_contact": user.has_perm("customers.add_contact"),
        "can_edit_contact": user.has_perm("customers.change_contact"),
        "transfer_form": TransferForm(),
        "merge_form": MergeForm(),
        "custom_rows": [
            (d, account.custom.get(d.key)) for d in selectors.custom_field_list(account_type=account.account_type)
        ],
    }
    return render(request, "customers/account_detail.html", context)


def render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render_page(request, template, context, status=status)


def _account_initial(account: Any) -> dict[str, Any]:
    return {
        "name": account.name,
        "short_name": account.short_name,
        "code": account.code or "",
        "account_type": account.account_type,
        "channel_type": account.channel_type.code if account.channel_type else "",
        "grade": account.grade,
        "status": account.status,
        "phone": account.phone,
        "tax_id": account.tax_id,
        "credit_rating": account.credit_rating,
        "credit_limit": account.credit_limit,
        "division": account.division_id,
        "address": account.address,
        "latitude": account.latitude or "",
        "longitude": account.longitude or "",
        "owner": account.owner.username if account.owner else "",
        "org_unit": account.org_unit.code,
        "tags": ", ".join(t.name for t in account.tags.all()),
        "notes": account.notes,
        "version": account.version,
        **{f"custom.{k}": v for k, v in account.custom.items()},
    }


@login_required
@vary_on_headers("HX-Request")
def account_form(request: HttpRequest, account_id: int | None = None) -> HttpResponse:
    account = None
    if account_id is not None:
        try:
            account = selectors.account_get(actor=request.user, account_id=account_id)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    perm = "customers.change_account" if account else "customers.add_account"
    if not request.user.has_perm(perm):
        raise Http404
    duplicates: list[Any] = []
    if request.method == "POST":
        form = AccountForm(request.POST)
        if form.is_valid():
            try:
                if account is None:
                    created = services.account_create(
                        actor=request.user,
                        data=form.service_data(),
                        allow_duplicate=form.cleaned_data["allow_duplicate"],
                    )
                    messages.success(request, _("已创建客户 %(name)s") % {"name": created.name})
                    target = reverse("customers:account_detail", args=[created.pk])
                else:
                    services.account_update(
                        actor=request.user,
                        account_id=account.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                    messages.success(request, _("已保存"))
                    target = reverse("customers:account_detail", args=[account.pk])
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except Conflict as exc:
                if exc.code == "duplicate_suspected":
                    duplicates = exc.extra.get("candidates", [])
                form.add_error(None, exc.message)
            except (PermissionDenied, NotFound) as exc:
                form.add_error(None, exc.message)
    else:
        form = AccountForm(
            initial=_account_initial(account) if account else {}, account_type=account.account_type if account else None
        )
    context = {"form": form, "account": account, "duplicates": duplicates}
    status = 422 if request.method == "POST" else 200
    return render_page(request, "customers/account_form.html", context, fragment="form", status=status)


@login_required
def division_options(request: HttpRequest) -> HttpResponse:
    """`<option>`s for the division input: divisions whose name contains the typed text."""
    q = request.GET.get("division", "").strip()
    rows = division_list(q=q) if q else Division.objects.none()
    return render_page(request, "customers/division_options.html", {"rows": rows.order_by("code")[:30]})


@login_required
@require_POST
def account_transfer(request: HttpRequest, account_id: int) -> HttpResponse:
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            services.account_transfer(actor=request.user, account_id=account_id, **form.cleaned_data)
            messages.success(request, _("已转移负责人"))
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, _("请填写新负责人和原因"))
    return redirect("customers:account_detail", account_id=account_id)


@login_required
@require_POST
def account_merge(request: HttpRequest, account_id: int) -> HttpResponse:
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            services.account_merge(
                actor=request.user,
                survivor_id=account_id,
                merged_id=form.cleaned_data["merged_id"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("已合并客户"))
        except NotFound as exc:
            if exc.message and account_id:
                messages.error(request, exc.message)
                return redirect("customers:account_detail", account_id=account_id)
            raise Http404 from exc
        except DomainError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, _("请填写要并入的客户编号"))
    return redirect("customers:account_detail", account_id=account_id)


@login_required
def transfer_all(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("customers.transfer_account"):
        raise Http404
    form = TransferAllForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.accounts_transfer_all(actor=request.user, **form.cleaned_data)
            messages.success(request, _("已转移 %(n)d 个客户") % {"n": moved})
            return redirect("customers:transfer_all")
        except ValidationFailed as exc:
            for field, msgs in exc.field_errors.items():
                for m in msgs:
                    form.add_error(field if field in form.fields else None, m)
        except DomainError as exc:
            form.add_error(None, str(exc))
    return render(request, "customers/transfer_all.html", {"form": form})


@login_required
def account_map(request: HttpRequest) -> HttpResponse:
    context = {
        "types": AccountType.choices,
        "grades": Grade.choices,
        "f": request.GET,
        "query": request.GET.urlencode(),
        "legend_labels": {
            "type": {code: str(label) for code, label in AccountType.choices},
            "grade": {code: str(label) for code, label in Grade.choices},
        },
    }
    return render(request, "customers/account_map.html", context)


# --------------------------------------------------------------------------- contacts


@login_required
@vary_on_headers("HX-Request")
def contact_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    try:
        page = selectors.contact_list(
            actor=request.user, q=q, cursor=request.GET.get("cursor") or None, limit=settings.PAGE_SIZE_DEFAULT
        )
    except ValidationFailed:
        page = Page(items=[], next_cursor=None, sort="name")
    query = request.GET.copy()
    query.pop("cursor", None)
    return render_page(
        request, "customers/contact_list.html", {"page": page, "q": q, "query": query.urlencode()}, fragment="results"
    )


@login_required
@vary_on_headers("HX-Request")
def contact_form(request: HttpRequest, account_id: int | None = None, contact_id: int | None = None) -> HttpResponse:
    contact = None
    try:
        if contact_id is not None:
            contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
            account = contact.account
        else:
            assert account_id is not None
            account = selectors.account_get(actor=request.user, account_id=account_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    perm = "customers.change_contact" if contact else "customers.add_contact"
    if not request.user.has_perm(perm):
        raise Http404
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                if contact is None:
                    services.contact_create(actor=request.user, account_id=account.pk, data=form.service_data())
                else:
                    services.contact_update(
                        actor=request.user,
                        contact_id=contact.pk,
                        data=form.service_data(),
                        expected_version=form.cleaned_data.get("version"),
                    )
                messages.success(request, _("已保存联系人"))
                target = reverse("customers:account_detail", args=[account.pk])
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except DomainError as exc:
                form.add_error(None, str(exc))
    else:
        initial = {}
        if contact:
            initial = {
                "name": contact.name,
                "role": contact.role,
                "phone": contact.phone,
                "email": contact.email,
                "birthday": contact.birthday.isoformat() if contact.birthday else "",
                "is_primary": contact.is_primary,
                "notes": contact.notes,
                "version": contact.version,
            }
        form = ContactForm(initial=initial)
    history = list(selectors.contact_history(actor=request.user, contact_id=contact.pk)[:30]) if contact else []
    context = {"form": form, "account": account, "contact": contact, "history": history}
    status = 422 if request.method == "POST" else 200
    return render_page(request, "customers/contact_form.html", context, fragment="form", status=status)


@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    try:
        contact = selectors.contact_get(actor=request.user, contact_id=contact_id)
        history = list(selectors.contact_history(actor=request.user, contact_id=contact_id)[:50])
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "contact": contact,
        "history": history,
        "can_edit": request.user.has_perm("customers.change_contact"),
    }
    return render(request, "customers/contact_detail.html", context)
