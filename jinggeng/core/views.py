"""Platform pages: home, health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from jinggeng.core.errors import NotFound
from jinggeng.core.htmx import is_htmx, render_page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {})


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_required
@vary_on_headers("HX-Request")
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications; POST marks one (``id``) or all as read."""
    from jinggeng.core.notifications import notification_list, notification_mark_read

    if request.method == "POST":
        raw = request.POST.get("id", "")
        try:
            notification_mark_read(actor=request.user, notification_id=int(raw) if raw.isdigit() else None)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        if not is_htmx(request):
            return redirect("notifications")
    unread_only = request.GET.get("unread") == "1"
    items = list(notification_list(actor=request.user, unread_only=unread_only)[:200])
    context = {"items": items, "unread_only": unread_only}
    return render_page(request, "core/notifications.html", context, fragment="items")
