"""HTML forms of the catalog. They parse the browser's input into the data dicts the services
take (related records by code); business rules stay in the services, whose field errors are
put back on the form with `add_service_errors`."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from jinggeng.catalog import selectors
from jinggeng.catalog.models import ProductRole, ProductStatus


class CatalogForm(forms.Form):
    """Base: a hidden ``version`` for optimistic locking, htmx inline validation on change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    data_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, validate_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # Required fields are checked by the services, so their messages are the same
            # everywhere; the browser still marks them.
            if field.required and not isinstance(field, forms.BooleanField):
                field.widget.attrs["required"] = "required"
            field.required = False
        if validate_url:
            for name, field in self.fields.items():
                if name == "version":
                    continue
                field.widget.attrs.update(
                    {
                        "hx-post": validate_url,
                        "hx-trigger": "change",
                        "hx-target": "closest form",
                        "hx-swap": "outerHTML",
                        "hx-include": "closest form",
                        "hx-vals": json.dumps({"_validate": "1"}),
                    }
                )

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.data_fields if name in self.cleaned_data}

    def expected_version(self) -> int | None:
        value = self.cleaned_data.get("version")
        return int(value) if value is not None else None

    def add_service_errors(self, errors: dict[str, list[str]], message: str) -> None:
        if not errors:
            self.add_error(None, message)
            return
        for name, messages in errors.items():
            for msg in messages:
                self.add_error(name if name in self.fields else None, msg)


class BrandForm(CatalogForm):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=120)
    name_en = forms.CharField(label=_("英文名称"), max_length=120, required=False)
    is_own = forms.BooleanField(label=_("本公司品牌"), required=False, initial=True)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    data_fields = ("code", "name", "name_en", "is_own", "active")


class CategoryForm(CatalogForm):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=120)
    name_en = forms.CharField(label=_("英文名称"), max_length=120, required=False)
    parent = forms.ChoiceField(label=_("上级品类"), required=False)
    data_fields = ("code", "name", "name_en", "parent")

    def __init__(self, *args: Any, actor: Any, exclude_path: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", _("（顶级品类）"))]
        for category, depth in selectors.category_choices(actor=actor):
            if exclude_path and category.path.startswith(exclude_path):
                continue  # a category cannot move under itself
            choices.append((category.code, "　" * depth + f"{category.code} {category.name}"))
        cast(forms.ChoiceField, self.fields["parent"]).choices = choices


class ProductForm(CatalogForm):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=120)
    name_en = forms.CharField(label=_("英文名称"), max_length=120, required=False)
    brand = forms.ChoiceField(label=_("品牌"))
    category = forms.ChoiceField(label=_("品类"))
    role = forms.ChoiceField(label=_("产品角色"), choices=ProductRole.choices, initial=ProductRole.MAIN)
    status = forms.ChoiceField(label=_("状态"), choices=ProductStatus.choices, initial=ProductStatus.ACTIVE)
    description = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    data_fields = ("code", "name", "name_en", "brand", "category", "role", "status", "description")

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["brand"]).choices = [("", "—")] + [
            (b.code, f"{b.code} {b.name}") for b in selectors.brand_choices(actor=actor)
        ]
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", "—")] + [
            (c.code, "　" * depth + f"{c.code} {c.name}") for c, depth in selectors.category_choices(actor=actor)
        ]


class SkuForm(CatalogForm):
    code = forms.CharField(label=_("SKU 编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=160)
    spec = forms.CharField(label=_("规格"), max_length=60, required=False)
    barcode = forms.CharField(
        label=_("条码"),
        max_length=20,
        required=False,
        help_text=_("GTIN-8/12/13/14，含校验位"),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    piece_unit = forms.CharField(label=_("基本单位"), max_length=10, initial="瓶")
    pack_unit = forms.CharField(label=_("中包单位"), max_length=10, initial="提")
    case_unit = forms.CharField(label=_("整箱单位"), max_length=10, initial="箱")
    pieces_per_pack = forms.CharField(
        label=_("每包件数"), initial="1", widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    packs_per_case = forms.CharField(
        label=_("每箱包数"), initial="1", widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    base_price = forms.CharField(
        label=_("基准价（每件）"), initial="0.00", widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    status = forms.ChoiceField(label=_("状态"), choices=ProductStatus.choices, initial=ProductStatus.ACTIVE)
    data_fields = (
        "code", "name", "spec", "barcode", "piece_unit", "pack_unit", "case_unit",
        "pieces_per_pack", "packs_per_case", "base_price", "status",
    )  # fmt: skip
