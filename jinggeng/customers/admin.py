from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from jinggeng.customers.models import Account, AccountUser, ChannelType, CustomFieldDefinition, Tag


@admin.register(ChannelType)
class ChannelTypeAdmin(admin.ModelAdmin[ChannelType]):
    list_display = ["code", "name", "name_en", "sort_order", "active"]
    list_editable = ["sort_order", "active"]


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin[CustomFieldDefinition]):
    list_display = ["key", "label", "label_en", "account_type", "field_type", "required", "active", "sort_order"]
    list_filter = ["account_type", "field_type", "active"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    search_fields = ["name"]


@admin.register(AccountUser)
class AccountUserAdmin(admin.ModelAdmin[AccountUser]):
    list_display = ["user", "account"]
    raw_id_fields = ["user", "account"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    """Read-mostly: accounts are edited through the application so that scope, validation and
    audit apply; the admin is for looking things up."""

    list_display = ["name", "code", "account_type", "grade", "status", "org_unit", "owner"]
    list_filter = ["account_type", "grade", "status"]
    search_fields = ["name", "code", "phone"]
    show_full_result_count = False
    readonly_fields = [f.name for f in Account._meta.concrete_fields] + ["tags"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
