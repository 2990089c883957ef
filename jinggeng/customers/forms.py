"""HTML forms for customers. They only parse input; services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.customers.models import (
    AccountStatus,
    AccountType,
    ChannelType,
    CreditRating,
    CustomFieldDefinition,
    CustomFieldType,
    Grade,
)


def blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class AccountForm(forms.Form):
    name = forms.CharField(label=_("客户名称"), max_length=120)
    short_name = forms.CharField(label=_("简称"), max_length=60, required=False)
    code = forms.CharField(label=_("客户编码"), max_length=40, required=False)
    account_type = forms.ChoiceField(label=_("客户类型"), choices=AccountType.choices)
    channel_type = forms.ChoiceField(label=_("渠道类型"), required=False)
    grade = forms.ChoiceField(label=_("等级"), choices=Grade.choices, initial=Grade.C)
    status = forms.ChoiceField(label=_("状态"), choices=AccountStatus.choices, initial=AccountStatus.ACTIVE)
    phone = forms.CharField(label=_("电话"), max_length=30, required=False)
    tax_id = forms.CharField(label=_("税号"), max_length=30, required=False)
    credit_rating = forms.ChoiceField(label=_("信用评级"), choices=blank(CreditRating.choices), required=False)
    credit_limit = forms.CharField(label=_("信用额度"), required=False)
    division = forms.CharField(
        label=_("行政区划代码"),
        max_length=6,
        help_text=_("6 位 GB/T 2260 代码，可输入地名搜索"),
        widget=forms.TextInput(attrs={"list": "division-options", "autocomplete": "off"}),
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.CharField(label=_("纬度"), required=False)
    longitude = forms.CharField(label=_("经度"), required=False)
    owner = forms.CharField(label=_("负责人（用户名或工号）"), required=False)
    org_unit = forms.CharField(label=_("所属组织编码"), required=False)
    tags = forms.CharField(label=_("标签（逗号分隔）"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    allow_duplicate = forms.BooleanField(label=_("确认不是重复客户，仍然保存"), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, account_type: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel = self.fields["channel_type"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = blank([(c.code, str(c)) for c in ChannelType.objects.filter(active=True)])
        kind = account_type or self.data.get("account_type") or self.initial.get("account_type")
        self.custom_keys: list[str] = []
        for definition in CustomFieldDefinition.objects.filter(active=True):
            if definition.account_type and definition.account_type != kind:
                continue
            key = f"custom.{definition.key}"
            self.custom_keys.append(key)
            if definition.field_type == CustomFieldType.CHOICE:
                self.fields[key] = forms.ChoiceField(
                    label=str(definition), required=False, choices=blank([(c, c) for c in definition.choices])
                )
            elif definition.field_type == CustomFieldType.DATE:
                self.fields[key] = forms.CharField(
                    label=str(definition), required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                self.fields[key] = forms.CharField(label=str(definition), required=False)

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("allow_duplicate", "version")}
        custom = {k.removeprefix("custom."): data.pop(k) for k in list(data) if k.startswith("custom.")}
        data["custom"] = custom
        return data

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, messages in exc.field_errors.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message if target else f"{field}: {message}")
        if not exc.field_errors:
            self.add_error(None, exc.message)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=60)
    role = forms.CharField(label=_("职务"), max_length=60, required=False)
    phone = forms.CharField(label=_("手机"), max_length=30, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)
    birthday = forms.CharField(label=_("生日"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    is_primary = forms.BooleanField(label=_("主要联系人"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, messages in exc.field_errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        if not exc.field_errors:
            self.add_error(None, exc.message)


class TransferForm(forms.Form):
    to_owner = forms.CharField(label=_("新负责人（用户名或工号）"))
    reason = forms.CharField(label=_("原因"), max_length=500)


class TransferAllForm(forms.Form):
    from_owner = forms.CharField(label=_("原负责人（用户名或工号）"))
    to_owner = forms.CharField(label=_("新负责人（用户名或工号）"))
    reason = forms.CharField(label=_("原因"), max_length=500)


class MergeForm(forms.Form):
    merged_id = forms.IntegerField(label=_("要并入的客户编号（ID）"))
    reason = forms.CharField(label=_("原因"), max_length=500, required=False)
