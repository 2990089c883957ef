"""Forms of the order pages. They only shape the input; the services validate it, and their
errors are put back on the fields with `add_service_errors`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jinggeng.core.errors import ValidationFailed
from jinggeng.customers.models import AccountType, Grade
from jinggeng.orders.models import ContractStatus, OrderUnit, PaymentMethod

DATE = forms.DateInput(attrs={"type": "date"})
NUMBER = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


class ServiceForm(forms.Form):
    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, messages in exc.field_errors.items():
            name = field.removeprefix("lines.0.")
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message if target else f"{field}: {message}")
        if not exc.field_errors:
            self.add_error(None, exc.message)

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


def _choices(rows: Any, empty: Any = None) -> list[tuple[Any, Any]]:
    items: list[tuple[Any, Any]] = [(value, str(label)) for value, label in rows]
    return [("", empty), *items] if empty is not None else items


class OrderForm(ServiceForm):
    account_id = forms.ChoiceField(label=_("客户"))
    order_date = forms.CharField(label=_("下单日期"), required=False, widget=DATE)
    payment_terms_days = forms.CharField(label=_("账期（天）"), required=False, widget=NUMBER)
    contract_id = forms.CharField(label=_("合同编号（可选，ID）"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, accounts: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = _choices(((a.pk, a.name) for a in accounts), _("请选择客户"))  # type: ignore[attr-defined]


class LineForm(ServiceForm):
    sku = forms.ChoiceField(label=_("SKU"))
    unit = forms.ChoiceField(label=_("单位"), choices=OrderUnit.choices, initial=OrderUnit.CASE)
    quantity = forms.CharField(label=_("数量"), widget=NUMBER)
    discount_percent = forms.CharField(label=_("折扣 %"), required=False, widget=NUMBER)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, skus: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["sku"].choices = _choices(((s.code, f"{s.code} {s.name}") for s in skus), _("请选择 SKU"))  # type: ignore[attr-defined]


class PaymentForm(ServiceForm):
    account_id = forms.ChoiceField(label=_("客户"))
    amount = forms.CharField(label=_("金额"), widget=NUMBER)
    received_on = forms.CharField(label=_("回款日期"), required=False, widget=DATE)
    method = forms.ChoiceField(label=_("方式"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("凭证号"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, accounts: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = _choices(((a.pk, a.name) for a in accounts), _("请选择客户"))  # type: ignore[attr-defined]


class AllocationForm(ServiceForm):
    order_id = forms.ChoiceField(label=_("订单"))
    amount = forms.CharField(label=_("核销金额"), widget=NUMBER)

    def __init__(self, *args: Any, orders: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["order_id"].choices = _choices(  # type: ignore[attr-defined]
            ((o.pk, f"{o.number} · {_('未收')} {o.open_amount} · {_('到期')} {o.due_date}") for o in orders),
            _("请选择订单"),
        )


class PriceListForm(ServiceForm):
    code = forms.CharField(label=_("编码"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=120)
    valid_from = forms.CharField(label=_("生效日期"), widget=DATE)
    valid_to = forms.CharField(label=_("失效日期"), required=False, widget=DATE)
    account_type = forms.ChoiceField(label=_("客户类型"), required=False, choices=_choices(AccountType.choices, "—"))
    grade = forms.ChoiceField(label=_("客户等级"), required=False, choices=_choices(Grade.choices, "—"))
    division = forms.CharField(label=_("行政区划代码（省/市/区县）"), required=False, max_length=6)
    priority = forms.CharField(label=_("优先级"), required=False, widget=NUMBER)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PriceItemForm(ServiceForm):
    sku = forms.ChoiceField(label=_("SKU"))
    price = forms.CharField(label=_("单价（每件）"), widget=NUMBER)
    min_quantity = forms.CharField(label=_("起订数量（件）"), required=False, widget=NUMBER)

    def __init__(self, *args: Any, skus: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["sku"].choices = _choices(((s.code, f"{s.code} {s.name}") for s in skus), _("请选择 SKU"))  # type: ignore[attr-defined]


class ContractForm(ServiceForm):
    account_id = forms.ChoiceField(label=_("客户"))
    code = forms.CharField(label=_("合同编号"), max_length=40)
    title = forms.CharField(label=_("合同名称"), required=False, max_length=120)
    period_from = forms.CharField(label=_("开始日期"), widget=DATE)
    period_to = forms.CharField(label=_("结束日期"), widget=DATE)
    amount = forms.CharField(label=_("合同金额"), required=False, widget=NUMBER)
    status = forms.ChoiceField(label=_("状态"), choices=ContractStatus.choices)
    terms = forms.CharField(label=_("合同条款"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, accounts: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["account_id"].choices = _choices(((a.pk, a.name) for a in accounts), _("请选择客户"))  # type: ignore[attr-defined]


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("附件"))
