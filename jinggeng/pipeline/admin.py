from django.contrib import admin

from jinggeng.pipeline.models import Activity, Lead, LossReason, Opportunity, Pipeline, Stage


class StageInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Stage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "stale_days", "active")
    inlines = [StageInline]


@admin.register(LossReason)
class LossReasonAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "order", "active")
    list_editable = ("order", "active")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "company", "status", "source", "owner", "org_unit")
    list_filter = ("status", "source")
    search_fields = ("name", "company", "phone")
    raw_id_fields = ("owner", "org_unit", "division", "account", "contact", "opportunity")


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "account", "pipeline", "stage", "status", "amount", "owner")
    list_filter = ("pipeline", "status")
    search_fields = ("name",)
    raw_id_fields = ("account", "owner", "org_unit", "lost_reason")


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("subject", "kind", "due_at", "done_at", "owner")
    list_filter = ("kind",)
    raw_id_fields = ("account", "contact", "lead", "opportunity", "owner", "org_unit")
