"""Admin of the org app: configuration for administrators.

Saves here keep the same invariants as the services: org unit paths follow the parent (a
cycle is refused), an employee's user is in exactly their role's group, and every change is
written to the audit log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from jinggeng.core.audit import audit_create, audit_update, snapshot
from jinggeng.org import services
from jinggeng.org.models import Division, Employee, OrgUnit, Role, Territory


class OrgUnitAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = OrgUnit
        fields = ["code", "name", "name_en", "kind", "parent", "active"]

    def clean_parent(self) -> OrgUnit | None:
        parent: OrgUnit | None = self.cleaned_data.get("parent")
        unit = self.instance
        if parent is not None and unit.pk and parent.path.startswith(unit.path):
            raise forms.ValidationError(_("不能把组织移到它自己或它的下级之下"), code="org_cycle")
        return parent


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = OrgUnitAdminForm
    list_display = ["indented_name", "code", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["path"]
    autocomplete_fields = ["parent"]

    @admin.display(description=_("名称"), ordering="path")
    def indented_name(self, obj: OrgUnit) -> SafeString:
        return format_html('<span style="padding-left:{}em">{}</span>', obj.depth * 1.5, obj.name)

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        before = snapshot(OrgUnit.objects.get(pk=obj.pk)) if change else None
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        services.orgunit_sync_path(actor=request.user, unit=obj)
        if before is None:
            audit_create(actor=request.user, instance=obj)
        else:
            audit_update(actor=request.user, instance=OrgUnit.objects.get(pk=obj.pk), before=before)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "default_scope", "group_link"]
    fields = ["code", "default_scope", "group_link"]
    readonly_fields = ["code", "group_link"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("名称"))
    def name(self, obj: Role) -> str:
        return str(obj)

    @admin.display(description=_("权限组"))
    def group_link(self, obj: Role) -> SafeString:
        url = reverse("admin:auth_group_change", args=[obj.group_id])
        return format_html('<a href="{}">{}</a>', url, _("编辑权限"))

    def save_model(self, request: HttpRequest, obj: Role, form: Any, change: bool) -> None:
        before = snapshot(Role.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        audit_update(actor=request.user, instance=obj, before=before)


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "user", "role", "org_unit", "status", "scope_override"]
    list_filter = ["role", "status", "scope_override"]
    search_fields = ["code", "name", "phone", "user__username"]
    list_select_related = ["user", "role", "org_unit"]
    autocomplete_fields = ["user", "org_unit", "manager"]
    fields = [
        "user",
        "code",
        "name",
        "role",
        "org_unit",
        "manager",
        "phone",
        "status",
        "start_date",
        "leave_date",
        "scope_override",
    ]

    def save_model(self, request: HttpRequest, obj: Employee, form: Any, change: bool) -> None:
        before = snapshot(Employee.objects.get(pk=obj.pk)) if change else None
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        services.employee_sync_role_group(user=obj.user, role=obj.role)
        if before is None:
            audit_create(actor=request.user, instance=obj)
        else:
            audit_update(actor=request.user, instance=obj, before=before)


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "full_name", "level"]
    list_filter = ["level"]
    search_fields = ["code", "name", "full_name"]
    readonly_fields = ["code", "name", "level", "parent", "full_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "org_unit", "active"]
    list_filter = ["active", "org_unit"]
    search_fields = ["code", "name"]
    filter_horizontal = ["divisions"]
    autocomplete_fields = ["org_unit"]
    fields = ["code", "name", "org_unit", "divisions", "active"]

    def save_model(self, request: HttpRequest, obj: Territory, form: Any, change: bool) -> None:
        before = snapshot(Territory.objects.get(pk=obj.pk)) if change else None
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        if before is None:
            audit_create(actor=request.user, instance=obj)
        else:
            audit_update(actor=request.user, instance=obj, before=before)
