"""HTML forms of the sales process. They only parse input; services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.pipeline.models import ActivityKind, LeadSource, LeadStatus


def blank(choices: Any) -> list[tuple[str, Any]]:
    return [("", "—"), *choices]


class ServiceForm(forms.Form):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, messages in exc.field_errors.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message if target else f"{field}: {message}")
        if not exc.field_errors:
            self.add_error(None, exc.message)


class LeadForm(ServiceForm):
    name = forms.CharField(label=_("联系人姓名"), max_length=60)
    company = forms.CharField(label=_("公司名称"), max_length=120, required=False)
    phone = forms.CharField(label=_("电话"), max_length=30, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)
    source = forms.ChoiceField(label=_("来源"), choices=LeadSource.choices, initial=LeadSource.OTHER)
    status = forms.ChoiceField(
        label=_("状态"),
        choices=[c for c in LeadStatus.choices if c[0] != LeadStatus.CONVERTED],
        initial=LeadStatus.NEW,
        required=False,
    )
    division = forms.CharField(
        label=_("行政区划代码"), max_length=6, required=False, help_text=_("按区域自动分配负责人")
    )
    owner = forms.CharField(label=_("负责人（用户名或工号，留空自动分配）"), required=False)
    interest = forms.CharField(label=_("意向"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["owner"]
        else:
            del self.fields["status"]

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        if not data.get("status"):
            data.pop("status", None)
        return data


class AssignForm(forms.Form):
    to_owner = forms.CharField(label=_("新负责人（用户名或工号）"))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class ConvertForm(ServiceForm):
    account_id = forms.IntegerField(label=_("关联已有客户（编号，留空则新建）"), required=False)
    account_name = forms.CharField(label=_("新客户名称"), max_length=120, required=False)
    account_type = forms.ChoiceField(label=_("客户类型"), required=False)
    division = forms.CharField(label=_("行政区划代码"), max_length=6, required=False)
    allow_duplicate = forms.BooleanField(label=_("确认不是重复客户，仍然新建"), required=False)
    create_opportunity = forms.BooleanField(label=_("同时创建商机"), required=False)
    opportunity_name = forms.CharField(label=_("商机名称"), max_length=120, required=False)
    pipeline = forms.ChoiceField(label=_("销售流程"), required=False)
    amount = forms.CharField(label=_("金额"), required=False)
    expected_close_date = forms.DateField(
        label=_("预计成交日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, pipelines: Any = (), account_types: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pipeline = self.fields["pipeline"]
        assert isinstance(pipeline, forms.ChoiceField)
        pipeline.choices = [(str(p.pk), p.name) for p in pipelines]
        kind = self.fields["account_type"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = list(account_types)


class OpportunityForm(ServiceForm):
    name = forms.CharField(label=_("商机名称"), max_length=120)
    account = forms.CharField(label=_("客户编号或客户编码"), max_length=40)
    pipeline = forms.ChoiceField(label=_("销售流程"), required=False)
    owner = forms.CharField(label=_("负责人（用户名或工号，留空为本人）"), required=False)
    amount = forms.CharField(label=_("金额（留空按产品明细合计）"), required=False)
    expected_close_date = forms.DateField(
        label=_("预计成交日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    next_step = forms.CharField(label=_("下一步"), max_length=200, required=False)
    competitors = forms.CharField(label=_("竞争对手"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, pipelines: Any = (), editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["pipeline"]
        else:
            field = self.fields["pipeline"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(str(p.pk), p.name) for p in pipelines]

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        if data.get("amount") in ("", None):
            data["amount"] = None
        return data


class LineForm(forms.Form):
    sku = forms.CharField(label=_("SKU 编码"), max_length=40)
    quantity = forms.CharField(label=_("数量"))
    unit = forms.ChoiceField(
        label=_("单位"), choices=[("piece", _("件")), ("pack", _("包")), ("case", _("箱"))], initial="case"
    )
    price = forms.CharField(label=_("单价"))


class ActivityForm(ServiceForm):
    kind = forms.ChoiceField(label=_("类型"), choices=ActivityKind.choices)
    subject = forms.CharField(label=_("主题"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    duration_minutes = forms.IntegerField(label=_("时长（分钟）"), required=False, initial=30)
    body = forms.CharField(label=_("内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    done = forms.BooleanField(label=_("已完成（记录已发生的活动）"), required=False)
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)
    lead = forms.IntegerField(required=False, widget=forms.HiddenInput)
    opportunity = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        return {k: v for k, v in data.items() if v not in (None, "")}
