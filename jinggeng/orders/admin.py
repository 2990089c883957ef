from django.contrib import admin

from jinggeng.orders.models import (
    ApprovalRule,
    Contract,
    ContractAttachment,
    OrderLine,
    OrderTransition,
    PaymentAllocation,
    PaymentReceipt,
    PriceList,
    PriceListItem,
    SalesOrder,
)


class PriceListItemInline(admin.TabularInline[PriceListItem, PriceList]):
    model = PriceListItem
    raw_id_fields = ["sku"]
    extra = 0


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin[PriceList]):
    list_display = [
        "code",
        "name",
        "valid_from",
        "valid_to",
        "account_type",
        "grade",
        "division",
        "specificity",
        "priority",
        "active",
    ]
    list_filter = ["active", "account_type", "grade"]
    search_fields = ["code", "name"]
    readonly_fields = ["specificity"]
    inlines = [PriceListItemInline]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from jinggeng.orders.pricing import list_specificity

        obj.specificity = list_specificity(account_type=obj.account_type, grade=obj.grade, division=obj.division)
        super().save_model(request, obj, form, change)


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(admin.ModelAdmin[ApprovalRule]):
    list_display = ["name", "min_amount", "min_discount_percent", "approver_role", "manager_level", "active"]
    list_editable = ["active"]


class AttachmentInline(admin.TabularInline[ContractAttachment, Contract]):
    model = ContractAttachment
    extra = 0
    readonly_fields = ["name", "size", "content_type", "uploaded_by", "uploaded_at"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin[Contract]):
    list_display = ["code", "account", "period_from", "period_to", "amount", "status"]
    list_filter = ["status"]
    search_fields = ["code", "title", "account__name"]
    raw_id_fields = ["account"]
    inlines = [AttachmentInline]


class LineInline(admin.TabularInline[OrderLine, SalesOrder]):
    model = OrderLine
    extra = 0
    raw_id_fields = ["sku", "price_list"]


class TransitionInline(admin.TabularInline[OrderTransition, SalesOrder]):
    model = OrderTransition
    extra = 0
    readonly_fields = ["from_status", "to_status", "by", "at", "note"]


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin[SalesOrder]):
    """Read-mostly: orders change through the pages and API so totals, approval and audit stay right."""

    list_display = ["number", "account", "owner", "status", "order_date", "total_amount", "allocated_amount"]
    list_filter = ["status"]
    search_fields = ["number", "account__name"]
    raw_id_fields = ["account", "contract", "owner", "org_unit", "approver", "approved_by", "created_by"]
    readonly_fields = ["list_amount", "discount_amount", "total_amount", "allocated_amount", "version"]
    inlines = [LineInline, TransitionInline]


class AllocationInline(admin.TabularInline[PaymentAllocation, PaymentReceipt]):
    model = PaymentAllocation
    extra = 0
    raw_id_fields = ["order"]
    readonly_fields = ["amount", "created_by", "created_at"]


@admin.register(PaymentReceipt)
class PaymentReceiptAdmin(admin.ModelAdmin[PaymentReceipt]):
    list_display = ["number", "account", "amount", "allocated_amount", "received_on", "method", "reference"]
    list_filter = ["method"]
    search_fields = ["number", "reference", "account__name"]
    raw_id_fields = ["account", "owner", "org_unit", "created_by"]
    readonly_fields = ["allocated_amount", "version"]
    inlines = [AllocationInline]
