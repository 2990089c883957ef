"""Django admin of field execution.

Visit standards (拜访标准) are kept here by administrators, with their changes audited. Routes,
visits and the rest are facts written by the services (which keep coverage, versions and audit
in step), so the admin shows them read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from jinggeng.core.audit import audit_create, audit_update, snapshot
from jinggeng.field.models import (
    CompetitorNote,
    DailyReport,
    OutletCoverage,
    Route,
    RouteProposal,
    RouteStop,
    StockCount,
    SuggestedOrderLine,
    Visit,
    VisitAudit,
    VisitFlag,
    VisitPhoto,
    VisitStandard,
    VisitStep,
    VisitStepKind,
)


class VisitStandardForm(forms.ModelForm[VisitStandard]):
    required_steps = forms.MultipleChoiceField(
        label=_("必做步骤"), choices=VisitStepKind.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    optional_steps = forms.MultipleChoiceField(
        label=_("选做步骤"), choices=VisitStepKind.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = VisitStandard
        fields = [
            "code",
            "name",
            "account_type",
            "grade",
            "channel_type",
            "required_steps",
            "optional_steps",
            "visit_minutes",
            "min_minutes",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        both = set(data.get("required_steps") or []) & set(data.get("optional_steps") or [])
        if both:
            self.add_error("optional_steps", _("一个步骤不能既是必做又是选做"))
        if (data.get("min_minutes") or 0) > (data.get("visit_minutes") or 0):
            self.add_error("min_minutes", _("最短拜访时长不能超过标准拜访时长"))
        return data


@admin.register(VisitStandard)
class VisitStandardAdmin(admin.ModelAdmin[VisitStandard]):
    form = VisitStandardForm
    list_display = ["code", "name", "account_type", "grade", "channel_type", "visit_minutes", "min_minutes", "active"]
    list_filter = ["active", "account_type", "grade"]
    search_fields = ["code", "name"]

    def save_model(self, request: HttpRequest, obj: VisitStandard, form: Any, change: bool) -> None:
        # Keep the steps in the procedure's order, and audit like every other write.
        order = list(VisitStepKind.values)
        obj.required_steps = sorted(obj.required_steps or [], key=order.index)
        obj.optional_steps = sorted(obj.optional_steps or [], key=order.index)
        if change:
            before = snapshot(VisitStandard.objects.get(pk=obj.pk))
            obj.version += 1
            super().save_model(request, obj, form, change)
            audit_update(actor=request.user, instance=obj, before=before)
        else:
            super().save_model(request, obj, form, change)
            audit_create(actor=request.user, instance=obj)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Facts written by the services: visible to administrators, changed only through the app."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RouteStopInline(admin.TabularInline[RouteStop, Route]):
    model = RouteStop
    fields = ["position", "account", "visit_minutes", "window_start", "window_end"]
    readonly_fields = ["position", "account", "visit_minutes", "window_start", "window_end"]
    raw_id_fields = ["account"]
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "rep", "org_unit", "cycle", "weekdays", "active", "version"]
    list_filter = ["active", "cycle"]
    search_fields = ["code", "name", "area"]
    inlines = [RouteStopInline]


@admin.register(RouteProposal)
class RouteProposalAdmin(ReadOnlyAdmin):
    list_display = ["id", "rep", "status", "created_by", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]


@admin.register(OutletCoverage)
class OutletCoverageAdmin(ReadOnlyAdmin):
    list_display = ["account", "route", "rep", "org_unit", "cycle_days", "last_visited_on", "due_on"]
    list_filter = ["cycle_days"]
    raw_id_fields = ["account"]


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ["id", "visit_date", "rep", "account", "kind", "status", "flag_count", "planned_position"]
    list_filter = ["status", "kind", "visit_date"]
    date_hierarchy = "visit_date"
    raw_id_fields = ["account", "rep", "route", "carried_from", "order"]


@admin.register(VisitFlag)
class VisitFlagAdmin(ReadOnlyAdmin):
    list_display = ["visit", "code", "created_at"]
    list_filter = ["code"]


@admin.register(VisitStep)
class VisitStepAdmin(ReadOnlyAdmin):
    list_display = ["visit", "kind", "done_at"]
    list_filter = ["kind"]


@admin.register(VisitPhoto)
class VisitPhotoAdmin(ReadOnlyAdmin):
    list_display = ["visit", "kind", "size", "sha256", "reused_from", "uploaded_at"]
    list_filter = ["kind"]


@admin.register(StockCount)
class StockCountAdmin(ReadOnlyAdmin):
    list_display = ["account", "sku", "counted_on", "stock", "received", "facings", "price_seen"]
    raw_id_fields = ["account", "sku", "visit"]


@admin.register(SuggestedOrderLine)
class SuggestedOrderLineAdmin(ReadOnlyAdmin):
    list_display = ["visit", "sku", "suggested_qty", "unit", "accepted_qty"]


@admin.register(CompetitorNote)
class CompetitorNoteAdmin(ReadOnlyAdmin):
    list_display = ["seen_on", "account", "brand_name", "product", "price", "promotion"]
    list_filter = ["seen_on"]


@admin.register(DailyReport)
class DailyReportAdmin(ReadOnlyAdmin):
    list_display = ["day", "rep", "status", "submitted_at", "late"]
    list_filter = ["status", "late"]


@admin.register(VisitAudit)
class VisitAuditAdmin(ReadOnlyAdmin):
    list_display = ["visit", "rep", "supervisor", "reason", "status", "finding", "done_at"]
    list_filter = ["status", "reason", "finding"]
