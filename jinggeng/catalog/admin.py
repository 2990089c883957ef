"""Admin for the catalog. Saves keep the same rules as the services: materialised category
paths, GTIN barcodes, a version bump and an audit record for every change."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from jinggeng.catalog import services
from jinggeng.catalog.models import Brand, Category, Product, Sku
from jinggeng.core.audit import audit_create, audit_delete, audit_update, snapshot


def _audited_save(request: HttpRequest, obj: Any, save: Any) -> None:
    if obj.pk is None:
        save()
        audit_create(actor=request.user, instance=obj)
        return
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    before = snapshot(stored) if stored is not None else {}
    obj.version = (stored.version if stored is not None else obj.version) + 1
    save()
    audit_update(actor=request.user, instance=obj, before=before)


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    readonly_fields: ClassVar[Any] = ("version", "created_at", "updated_at")

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        _audited_save(request, obj, lambda: super(AuditedAdmin, self).save_model(request, obj, form, change))

    @transaction.atomic
    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        audit_delete(actor=request.user, instance=obj, reason="admin")
        super().delete_model(request, obj)

    @transaction.atomic
    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audit_delete(actor=request.user, instance=obj, reason="admin")
            obj.delete()
        for obj in instances:
            _audited_save(request, obj, obj.save)
        formset.save_m2m()


@admin.register(Brand)
class BrandAdmin(AuditedAdmin):
    list_display = ("code", "name", "name_en", "is_own", "active")
    list_filter = ("is_own", "active")
    search_fields = ("code", "name", "name_en")


class CategoryAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Category
        fields = ("code", "name", "name_en", "parent")

    def clean_parent(self) -> Category | None:
        parent: Category | None = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.path.startswith(self.instance.path):
            raise forms.ValidationError(_("不能把品类移到它自己或它的下级之下"), code="category_cycle")
        return parent


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    form = CategoryAdminForm
    list_display = ("code", "name", "name_en", "parent", "path")
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("path", "version", "created_at", "updated_at")

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved like ``category_create`` / ``category_update``: a move rewrites the subtree."""
        if not change:
            obj.save()
            obj.path = (obj.parent.path if obj.parent else "/") + f"{obj.pk}/"
            obj.save(update_fields=["path"])
            audit_create(actor=request.user, instance=obj)
            return
        stored = Category.objects.get(pk=obj.pk)
        if stored.parent_id != obj.parent_id:
            new_parent = obj.parent
            obj.path = stored.path
            services.category_reparent(obj, new_parent)
        super().save_model(request, obj, form, change)


class SkuAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Sku
        fields = (
            "code", "product", "name", "spec", "barcode", "piece_unit", "pack_unit", "case_unit",
            "pieces_per_pack", "packs_per_case", "base_price", "status",
        )  # fmt: skip

    def clean_barcode(self) -> str | None:
        barcode = (self.cleaned_data.get("barcode") or "").strip()
        if not barcode:
            return None
        problem = services.barcode_error(barcode)
        if problem:
            raise forms.ValidationError(problem)
        return barcode


class SkuInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Sku
    form = SkuAdminForm
    extra = 0
    fields = (
        "code", "name", "spec", "barcode", "piece_unit", "pack_unit", "case_unit",
        "pieces_per_pack", "packs_per_case", "base_price", "status",
    )  # fmt: skip
    show_change_link = True


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = ("code", "name", "brand", "category", "role", "status")
    list_filter = ("role", "status", "brand")
    search_fields = ("code", "name", "name_en", "skus__code", "skus__barcode")
    list_select_related = ("brand", "category")
    autocomplete_fields = ("brand", "category")
    inlines = (SkuInline,)


@admin.register(Sku)
class SkuAdmin(AuditedAdmin):
    form = SkuAdminForm
    list_display = ("code", "name", "product", "spec", "barcode", "conversion_text", "base_price", "status")
    list_filter = ("status",)
    search_fields = ("code", "name", "barcode", "product__code", "product__name")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)

    @admin.display(description=_("单位换算"))
    def conversion_text(self, obj: Sku) -> str:
        return obj.conversion_text
