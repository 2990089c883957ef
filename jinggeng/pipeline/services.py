"""Writes for the sales process: leads (assignment, conversion), opportunities (lines, stage
moves, won / lost), activities, alerts and the personal calendar feed.

Every write checks the actor's permission and data scope (out of scope: NotFound, nothing
changes), validates before saving, bumps the version and writes an audit record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jinggeng.catalog.models import Sku
from jinggeng.catalog.services import sku_convert
from jinggeng.core.audit import audit_create, audit_delete, audit_record, audit_update, snapshot
from jinggeng.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jinggeng.core.models import AuditAction, AuditLog
from jinggeng.core.notifications import notify
from jinggeng.customers import services as customer_services
from jinggeng.customers.access import account_scope
from jinggeng.customers.models import Account, Contact
from jinggeng.customers.normalize import normalize_phone
from jinggeng.org.models import Division, Employee, EmployeeStatus, RoleCode
from jinggeng.org.scope import scope_for
from jinggeng.org.services import territory_for_division
from jinggeng.pipeline.models import (
    Activity,
    ActivityKind,
    AssignmentRule,
    CalendarFeed,
    Lead,
    LeadAssignment,
    LeadSource,
    LeadStatus,
    LossReason,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    RoundRobinState,
    Stage,
    StageChange,
)

User = get_user_model()

LEAD_FIELDS = ["name", "company", "phone", "email", "source", "status", "interest", "division", "notes"]
AUDITED_LEAD_FIELDS = [*LEAD_FIELDS, "owner", "org_unit", "account", "contact", "opportunity", "version"]
OPPORTUNITY_FIELDS = [
    "name",
    "account",
    "owner",
    "org_unit",
    "pipeline",
    "stage",
    "status",
    "amount",
    "expected_close_date",
    "next_step",
    "competitors",
    "lost_reason",
    "lost_note",
    "closed_at",
    "notes",
    "version",
]
ACTIVITY_FIELDS = [
    "kind",
    "subject",
    "body",
    "due_at",
    "duration_minutes",
    "done_at",
    "account",
    "contact",
    "lead",
    "opportunity",
    "owner",
    "org_unit",
    "version",
]
# What a stage may require before an opportunity enters it, with the label shown in errors.
REQUIREMENT_LABELS = {
    "amount": gettext_lazy("金额"),
    "expected_close_date": gettext_lazy("预计成交日期"),
    "next_step": gettext_lazy("下一步"),
    "competitors": gettext_lazy("竞争对手"),
    "lines": gettext_lazy("产品明细"),
    "lost_reason": gettext_lazy("丢单原因"),
}
UNIT_KEYS = ("piece", "pack", "case")


# --------------------------------------------------------------------------- shared


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限"))


def _in_scope(actor: Any, owner_id: int | None, unit_id: int | None) -> bool:
    return scope_for(actor).allows(owner_id=owner_id, unit_id=unit_id)


def _employee_unit(user_id: int) -> int | None:
    return Employee.objects.filter(user_id=user_id).values_list("org_unit_id", flat=True).first()


def _actor_unit(actor: Any) -> int | None:
    return _employee_unit(actor.pk) if getattr(actor, "pk", None) else None


def _owner_target(actor: Any, value: Any, field: str = "owner") -> tuple[int, int]:
    """A user by id, username or employee code who is in the actor's scope: (user id, unit id)."""
    qs = User.objects.filter(is_active=True)
    text = str(value).strip()
    user = qs.filter(pk=int(text)).first() if text.isdigit() else None
    if user is None:
        user = qs.filter(Q(username=text) | Q(employee__code=text)).first()
    if user is None:
        raise ValidationFailed(_("找不到负责人：%(value)s") % {"value": text}, field=field)
    unit = _employee_unit(user.pk)
    if unit is None:
        raise ValidationFailed(_("负责人没有员工档案：%(value)s") % {"value": text}, field=field)
    scope = scope_for(actor)
    if not (scope.everything or user.pk == scope.user_id or unit in scope.unit_ids):
        raise ValidationFailed(_("负责人不在您的数据范围内：%(value)s") % {"value": text}, field=field)
    return user.pk, unit


def _check_version(obj: Any, expected: int | None, label: str) -> None:
    if expected is None or expected == obj.version:
        return
    changed = changed_fields_since(obj, expected)
    names = "、".join(_field_label(obj, name) for name in changed) if changed else "—"
    raise Conflict(
        _("该%(what)s已被他人修改（版本 %(now)d，您提交的是 %(yours)d），其后改动的字段：%(fields)s。请刷新后重试")
        % {"what": label, "now": obj.version, "yours": expected, "fields": names},
        code="version_conflict",
        extra={"current_version": obj.version, "changed_fields": changed},
    )


def _field_label(obj: Any, name: str) -> str:
    if name in REQUIREMENT_LABELS:
        return str(REQUIREMENT_LABELS[name])
    try:
        return str(obj._meta.get_field(name).verbose_name)
    except Exception:
        return name


def changed_fields_since(obj: Any, version: int) -> list[str]:
    """The fields changed after ``version``, read from the audit log (its records carry the version)."""
    rows = AuditLog.objects.filter(entity=obj._meta.label_lower, entity_id=str(obj.pk)).values_list(
        "changes", flat=True
    )[:200]
    fields: set[str] = set()
    for changes in rows:
        new_version = (changes or {}).get("version", [None, None])[1]
        if isinstance(new_version, int) and new_version > version:
            fields.update(k for k in changes if k != "version")
    return sorted(fields)


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, list[str]]) -> str:
    value = str(data.get(name) or "").strip()
    if len(value) > limit:
        errors.setdefault(name, []).append(_("最多 %(n)d 个字符") % {"n": limit})
    return value


def _decimal(value: Any, field: str, errors: dict[str, list[str]], *, positive: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append(_("不是有效的数字：%(value)s") % {"value": value})
        return None
    if positive and number <= 0:
        errors.setdefault(field, []).append(_("必须大于 0"))
        return None
    if number < 0:
        errors.setdefault(field, []).append(_("不能小于 0"))
        return None
    return number


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.setdefault(field, []).append(_("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value})
        return None


def _datetime(value: Any, field: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value).strip())
    if parsed is None:
        errors.setdefault(field, []).append(_("时间格式应为 YYYY-MM-DDTHH:MM：%(value)s") % {"value": value})
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _choice(value: Any, choices: Any, field: str, errors: dict[str, list[str]]) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    for code, label in choices.choices:
        if text == code or text == str(label):
            return str(code)
    allowed = "、".join(str(code) for code, _label in choices.choices)
    errors.setdefault(field, []).append(
        _("无效的值“%(value)s”，可选：%(allowed)s") % {"value": text, "allowed": allowed}
    )
    return None


# --------------------------------------------------------------------------- leads


def lead_clean(*, data: Mapping[str, Any], instance: Lead | None = None) -> dict[str, Any]:
    """Validate a lead's own fields (partial when ``instance`` is given)."""
    errors: dict[str, list[str]] = {}
    partial = instance is not None
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data and not (partial and data[name] is None)

    for name, limit in (("name", 60), ("company", 120), ("interest", 5000), ("notes", 5000)):
        if given(name) or not partial:
            values[name] = _text(data, name, limit, errors)
    if "name" in values and not values["name"]:
        errors.setdefault("name", []).append(_("请填写联系人姓名"))
    if given("phone") or not partial:
        raw = str(data.get("phone") or "").strip()
        values["phone"] = ""
        if raw:
            try:
                values["phone"] = normalize_phone(raw)
            except ValueError as exc:
                errors.setdefault("phone", []).append(str(exc))
    if given("email") or not partial:
        raw = str(data.get("email") or "").strip()
        if raw:
            from django.core.exceptions import ValidationError
            from django.core.validators import validate_email

            try:
                validate_email(raw)
            except ValidationError:
                errors.setdefault("email", []).append(_("邮箱格式不正确：%(value)s") % {"value": raw})
        values["email"] = raw
    if given("source") or not partial:
        values["source"] = _choice(data.get("source"), LeadSource, "source", errors) or LeadSource.OTHER
    if given("status"):
        status = _choice(data.get("status"), LeadStatus, "status", errors)
        if status == LeadStatus.CONVERTED:
            errors.setdefault("status", []).append(_("请使用“转化”操作把线索转为客户"))
        elif status:
            values["status"] = status
    if given("division") or not partial:
        code = str(data.get("division") or "").strip()
        values["division_id"] = None
        if code:
            if not Division.objects.filter(code=code).exists():
                errors.setdefault("division", []).append(
                    _("无效的行政区划代码：%(value)s（应为 6 位 GB/T 2260 代码）") % {"value": code}
                )
            else:
                values["division_id"] = code
    if errors:
        raise ValidationFailed(_("线索资料有误"), errors=errors)
    return values


def _active_reps(unit_id: int) -> list[int]:
    return list(
        Employee.objects.filter(
            org_unit_id=unit_id, status=EmployeeStatus.ACTIVE, role__code=RoleCode.REP, user__is_active=True
        )
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def round_robin_next(*, unit_id: int) -> int | None:
    """The next active rep of the unit after the last one who got a lead (kept in a table, locked)."""
    reps = _active_reps(unit_id)
    if not reps:
        return None
    state, _created = RoundRobinState.objects.get_or_create(org_unit_id=unit_id)
    state = RoundRobinState.objects.select_for_update().get(pk=state.pk)
    following = [r for r in reps if state.last_user_id is None or r > state.last_user_id]
    chosen = following[0] if following else reps[0]
    state.last_user_id = chosen
    state.save(update_fields=["last_user", "updated_at"])
    return chosen


def lead_route(*, actor: Any, division_code: str | None) -> tuple[int | None, int, str]:
    """Where a new lead goes: (owner, org unit, rule). By territory of its division, round robin
    among the active reps of that unit; without a territory, to the creator."""
    if division_code:
        territory = territory_for_division(division_code)
        if territory is not None:
            return round_robin_next(unit_id=territory.org_unit_id), territory.org_unit_id, AssignmentRule.TERRITORY
    unit = _actor_unit(actor)
    if unit is None:
        raise ValidationFailed(_("无法确定线索的所属组织：请填写行政区划或指定负责人"), field="division")
    return actor.pk, unit, AssignmentRule.CREATOR


@transaction.atomic
def lead_create(*, actor: Any, data: Mapping[str, Any]) -> Lead:
    """Create a lead. Without an ``owner`` it is routed by territory and round robin."""
    _require(actor, "pipeline.add_lead")
    values = lead_clean(data=data)
    owner_key = data.get("owner")
    if owner_key not in (None, ""):
        owner_id, unit_id = _owner_target(actor, owner_key)
        rule: str = AssignmentRule.MANUAL if owner_id != actor.pk else AssignmentRule.CREATOR
        owner: int | None = owner_id
    else:
        owner, unit_id, rule = lead_route(actor=actor, division_code=values.get("division_id"))
    lead = Lead.objects.create(**values, owner_id=owner, org_unit_id=unit_id)
    LeadAssignment.objects.create(lead=lead, to_owner_id=owner, to_unit_id=unit_id, rule=rule, by=actor)
    audit_create(actor=actor, instance=lead, extra={"assignment": rule})
    if owner and owner != actor.pk:
        notify(
            users=[owner],
            kind="lead_assigned",
            title=_("新线索：%(lead)s") % {"lead": str(lead)},
            link=reverse("pipeline:lead_detail", args=[lead.pk]),
            dedupe_key=f"lead_assigned:{lead.pk}:{owner}",
        )
    return lead


def _scoped_lead(actor: Any, lead_id: int) -> Lead:
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None or not _in_scope(actor, lead.owner_id, lead.org_unit_id):
        raise NotFound(_("线索不存在"))
    return lead


@transaction.atomic
def lead_update(*, actor: Any, lead_id: int, data: Mapping[str, Any], expected_version: int | None = None) -> Lead:
    lead = _scoped_lead(actor, lead_id)
    _require(actor, "pipeline.change_lead")
    _check_version(lead, expected_version, _("线索"))
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(_("已转化的线索不能修改"), code="lead_converted", field="status")
    before = snapshot(lead, AUDITED_LEAD_FIELDS)
    values = lead_clean(data=data, instance=lead)
    changed = {k: v for k, v in values.items() if getattr(lead, k) != v}
    if not changed:
        return lead
    for key, value in changed.items():
        setattr(lead, key, value)
    lead.version += 1
    lead.save(update_fields=[*changed.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=lead, before=before)
    return lead


@transaction.atomic
def lead_assign(*, actor: Any, lead_id: int, to_owner: Any, reason: str = "") -> Lead:
    """Manual reassignment, recorded in the lead's assignment history and the audit log."""
    lead = _scoped_lead(actor, lead_id)
    _require(actor, "pipeline.assign_lead")
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(_("已转化的线索不能再分配"), code="lead_converted", field="to_owner")
    owner_id, unit_id = _owner_target(actor, to_owner, field="to_owner")
    if owner_id == lead.owner_id:
        raise ValidationFailed(_("新负责人与当前负责人相同"), field="to_owner")
    before = snapshot(lead, ["owner", "org_unit", "version"])
    LeadAssignment.objects.create(
        lead=lead,
        from_owner_id=lead.owner_id,
        to_owner_id=owner_id,
        to_unit_id=unit_id,
        rule=AssignmentRule.MANUAL,
        by=actor,
        reason=(reason or "").strip()[:200],
    )
    lead.owner_id = owner_id
    lead.org_unit_id = unit_id
    lead.version += 1
    lead.save(update_fields=["owner", "org_unit", "version", "updated_at"])
    after = snapshot(lead, ["owner", "org_unit", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.TRANSFER,
        instance=lead,
        changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
        reason=(reason or "").strip(),
    )
    notify(
        users=[owner_id],
        kind="lead_assigned",
        title=_("线索已分配给您：%(lead)s") % {"lead": str(lead)},
        link=reverse("pipeline:lead_detail", args=[lead.pk]),
        dedupe_key=f"lead_assigned:{lead.pk}:{owner_id}:{lead.version}",
    )
    return lead


@transaction.atomic
def lead_delete(*, actor: Any, lead_id: int) -> None:
    lead = _scoped_lead(actor, lead_id)
    _require(actor, "pipeline.delete_lead")
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(_("已转化的线索不能删除"), code="lead_converted", field="status")
    audit_delete(actor=actor, instance=lead)
    lead.delete()


@transaction.atomic
def lead_convert(
    *,
    actor: Any,
    lead_id: int,
    account_id: int | None = None,
    account_data: Mapping[str, Any] | None = None,
    allow_duplicate: bool = False,
    create_opportunity: bool = False,
    opportunity_data: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Lead:
    """Turn a lead into an account (new, or an existing one in scope), a contact and optionally an
    opportunity, all or nothing. A new account runs the duplicate check (Conflict
    ``duplicate_suspected`` unless ``allow_duplicate``)."""
    lead = _scoped_lead(actor, lead_id)
    _require(actor, "pipeline.change_lead")
    _check_version(lead, expected_version, _("线索"))
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        raise ValidationFailed(
            _("该线索状态为“%(status)s”，不能转化") % {"status": lead.get_status_display()},
            code="lead_not_convertible",
            field="status",
        )
    before = snapshot(lead, AUDITED_LEAD_FIELDS)
    if account_id is not None:
        account = Account.objects.filter(pk=account_id).first()
        scope = account_scope(actor)
        if account is None or not (
            scope.everything
            or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
            or account.pk in scope.account_ids
        ):
            raise ValidationFailed(_("客户不存在或不在您的数据范围内"), field="account_id")
    else:
        data = {
            "name": lead.company or lead.name,
            "phone": lead.phone,
            "division": lead.division_id or "",
            "account_type": "key_account",
            **dict(account_data or {}),
        }
        account = customer_services.account_create(actor=actor, data=data, allow_duplicate=allow_duplicate)
    contact = customer_services.contact_create(
        actor=actor,
        account_id=account.pk,
        data={"name": lead.name, "phone": lead.phone, "email": lead.email, "notes": lead.interest[:5000]},
    )
    opportunity = None
    if create_opportunity:
        opp_data = {"name": lead.company or lead.name, **dict(opportunity_data or {}), "account": account.pk}
        opportunity = opportunity_create(actor=actor, data=opp_data)
    lead.status = LeadStatus.CONVERTED
    lead.account = account
    lead.contact = contact
    lead.opportunity = opportunity
    lead.converted_at = timezone.now()
    lead.version += 1
    lead.save(update_fields=["status", "account", "contact", "opportunity", "converted_at", "version", "updated_at"])
    Activity.objects.filter(lead=lead, account__isnull=True).update(account=account)
    audit_update(actor=actor, instance=lead, before=before, reason=_("线索转化"))
    return lead


# --------------------------------------------------------------------------- opportunities


def _scoped_account_id(actor: Any, value: Any, errors: dict[str, list[str]], field: str = "account") -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        errors.setdefault(field, []).append(_("请选择客户"))
        return None
    account = Account.objects.filter(pk=int(text)).first() if text.isdigit() else None
    if account is None and not text.isdigit():
        account = Account.objects.filter(code=text).first()
    scope = account_scope(actor)
    if account is None or not (
        scope.everything
        or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        or account.pk in scope.account_ids
    ):
        errors.setdefault(field, []).append(_("客户不存在或不在您的数据范围内：%(value)s") % {"value": text})
        return None
    return account.pk


def _pipeline(value: Any, errors: dict[str, list[str]]) -> Pipeline | None:
    text = str(value or "").strip()
    qs = Pipeline.objects.filter(active=True)
    if not text:
        found = qs.order_by("id").first()
    else:
        found = qs.filter(pk=int(text)).first() if text.isdigit() else qs.filter(Q(code=text) | Q(name=text)).first()
    if found is None:
        errors.setdefault("pipeline", []).append(_("找不到销售流程：%(value)s") % {"value": text or "—"})
    return found


def lines_clean(raw: Any) -> list[dict[str, Any]]:
    """Validate opportunity lines: SKU (id or code), quantity > 0, unit piece / pack / case (or
    the SKU's unit names), price >= 0. Errors are named ``lines.<n>.<field>``."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, list | tuple):
        raise ValidationFailed(_("产品明细应为列表"), field="lines")
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        prefix = f"lines.{index}"
        if not isinstance(item, Mapping):
            errors.setdefault(prefix, []).append(_("每行应包含 sku、quantity、unit、price"))
            continue
        key = str(item.get("sku") or "").strip()
        sku = None
        if not key:
            errors.setdefault(f"{prefix}.sku", []).append(_("请选择 SKU"))
        else:
            sku = Sku.objects.filter(pk=int(key)).first() if key.isdigit() else None
            sku = sku or Sku.objects.filter(code=key).first()
            if sku is None:
                errors.setdefault(f"{prefix}.sku", []).append(_("找不到 SKU：%(value)s") % {"value": key})
        quantity = _decimal(item.get("quantity"), f"{prefix}.quantity", errors, positive=True)
        if item.get("quantity") in (None, ""):
            errors.setdefault(f"{prefix}.quantity", []).append(_("请填写数量"))
        price = _decimal(item.get("price"), f"{prefix}.price", errors)
        if item.get("price") in (None, ""):
            errors.setdefault(f"{prefix}.price", []).append(_("请填写单价"))
        unit = str(item.get("unit") or "piece").strip()
        pieces = None
        if sku is not None and quantity is not None:
            try:
                pieces = sku_convert(sku=sku, quantity=quantity, from_unit=unit, to_unit="piece")
                unit = next(k for k in UNIT_KEYS if k == unit.lower() or getattr(sku, f"{k}_unit") == unit)
            except ValidationFailed as exc:
                errors.setdefault(f"{prefix}.unit", []).append(exc.message)
        if sku is not None and quantity is not None and price is not None and pieces is not None:
            rows.append(
                {
                    "sku": sku,
                    "quantity": quantity,
                    "unit": unit,
                    "quantity_pieces": pieces,
                    "price": price.quantize(Decimal("0.01")),
                    "amount": (quantity * price).quantize(Decimal("0.01")),
                }
            )
    if errors:
        raise ValidationFailed(_("产品明细有误"), errors=errors)
    return rows


def opportunity_clean(
    *, actor: Any, data: Mapping[str, Any], instance: Opportunity | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """Validate an opportunity's fields (not its stage moves): (values, lines or None)."""
    errors: dict[str, list[str]] = {}
    partial = instance is not None
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data and not (partial and data[name] is None)

    if given("name") or not partial:
        values["name"] = _text(data, "name", 120, errors)
        if not values["name"]:
            errors.setdefault("name", []).append(_("请填写商机名称"))
    for name, limit in (("next_step", 200), ("competitors", 2000), ("notes", 5000)):
        if given(name) or not partial:
            values[name] = _text(data, name, limit, errors)
    if given("account") or not partial:
        values["account_id"] = _scoped_account_id(actor, data.get("account"), errors)
    if given("amount") or not partial:
        values["amount"] = _decimal(data.get("amount"), "amount", errors)
    if given("expected_close_date") or not partial:
        values["expected_close_date"] = _date(data.get("expected_close_date"), "expected_close_date", errors)
    if not partial:
        pipeline = _pipeline(data.get("pipeline"), errors)
        if pipeline is not None:
            values["pipeline_id"] = pipeline.pk
            stage_key = data.get("stage")
            stages = Stage.objects.filter(pipeline=pipeline)
            if stage_key not in (None, ""):
                key = str(stage_key).strip()
                stage = stages.filter(pk=int(key)).first() if key.isdigit() else stages.filter(name=key).first()
                if stage is None:
                    errors.setdefault("stage", []).append(_("阶段不属于该销售流程：%(value)s") % {"value": key})
            else:
                stage = stages.filter(is_won=False, is_lost=False).order_by("order").first()
                if stage is None:
                    errors.setdefault("stage", []).append(_("该销售流程没有可用阶段"))
            if stage is not None:
                if stage.is_won or stage.is_lost:
                    errors.setdefault("stage", []).append(_("新建商机不能直接处于赢单或丢单阶段"))
                values["stage_id"] = stage.pk
    elif given("pipeline") or given("stage"):
        errors.setdefault("stage", []).append(_("请用“移动阶段”改变阶段"))
    if given("owner") or not partial:
        owner_key = data.get("owner")
        if owner_key in (None, ""):
            if not partial:
                unit = _actor_unit(actor)
                if unit is None:
                    errors.setdefault("owner", []).append(_("您没有员工档案，请指定负责人"))
                values["owner_id"], values["org_unit_id"] = actor.pk, unit
        else:
            try:
                values["owner_id"], values["org_unit_id"] = _owner_target(actor, owner_key)
            except ValidationFailed as exc:
                for field, msgs in exc.field_errors.items():
                    errors.setdefault(field, []).extend(msgs)
    lines = None
    if "lines" in data and data["lines"] is not None:
        try:
            lines = lines_clean(data["lines"])
        except ValidationFailed as exc:
            for field, msgs in exc.field_errors.items():
                errors.setdefault(field, []).extend(msgs)
    if errors:
        raise ValidationFailed(_("商机资料有误"), errors=errors)
    if values.get("amount") is None and "amount" in values:
        values["amount"] = sum((r["amount"] for r in lines), Decimal("0")) if lines else Decimal("0")
    return values, lines


def _set_lines(opportunity: Opportunity, lines: list[dict[str, Any]]) -> None:
    opportunity.lines.all().delete()
    OpportunityLine.objects.bulk_create([OpportunityLine(opportunity=opportunity, **row) for row in lines])


def _lines_state(opportunity: Opportunity) -> list[str]:
    return [
        f"{line.sku_id}:{line.quantity.normalize()}{line.unit}@{line.price}"
        for line in opportunity.lines.order_by("id")
    ]


def _opportunity_state(opportunity: Opportunity) -> dict[str, Any]:
    state = snapshot(opportunity, OPPORTUNITY_FIELDS)
    state["lines"] = _lines_state(opportunity) if opportunity.pk else []
    return state


def large_deal_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "PIPELINE_LARGE_DEAL_AMOUNT", 500000)))


def manager_chain(user_id: int | None) -> list[int]:
    """The users above ``user_id`` through Employee.manager, nearest first."""
    chain: list[int] = []
    if user_id is None:
        return chain
    employee = Employee.objects.filter(user_id=user_id).select_related("manager").first()
    seen: set[int] = set()
    while employee is not None and employee.manager_id and employee.manager_id not in seen and len(chain) < 12:
        seen.add(employee.manager_id)
        manager = Employee.objects.filter(pk=employee.manager_id).first()
        if manager is None:
            break
        if manager.status == EmployeeStatus.ACTIVE and manager.user_id != user_id:
            chain.append(manager.user_id)
        employee = manager
    return chain


def large_deal_check(opportunity: Opportunity) -> int:
    """Notify the owner's manager chain once when the opportunity is above the threshold."""
    if opportunity.status != OpportunityStatus.OPEN or opportunity.amount <= large_deal_threshold():
        return 0
    managers = manager_chain(opportunity.owner_id)
    sent = notify(
        users=managers,
        kind="large_deal",
        title=_("大额商机：%(name)s（%(amount)s 元）") % {"name": opportunity.name, "amount": opportunity.amount},
        body=_("客户：%(account)s") % {"account": opportunity.account.name},
        link=reverse("pipeline:opportunity_detail", args=[opportunity.pk]),
        dedupe_key=f"large_deal:opportunity:{opportunity.pk}",
    )
    return len(sent)


@transaction.atomic
def opportunity_create(*, actor: Any, data: Mapping[str, Any]) -> Opportunity:
    _require(actor, "pipeline.add_opportunity")
    values, lines = opportunity_clean(actor=actor, data=data)
    now = timezone.now()
    opportunity = Opportunity.objects.create(**values, stage_entered_at=now, last_activity_at=now)
    if lines:
        _set_lines(opportunity, lines)
    missing = stage_missing_requirements(opportunity, opportunity.stage)
    if missing:  # a new opportunity may start in a later stage only with what that stage requires
        _raise_requirements(opportunity.stage, missing)
    StageChange.objects.create(
        opportunity=opportunity, from_stage=None, to_stage_id=opportunity.stage_id, by=actor, at=now
    )
    audit_create(actor=actor, instance=opportunity, extra={"lines": _lines_state(opportunity)})
    large_deal_check(opportunity)
    return opportunity


def _scoped_opportunity(actor: Any, opportunity_id: int) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update().filter(pk=opportunity_id).first()
    if opportunity is None or not _in_scope(actor, opportunity.owner_id, opportunity.org_unit_id):
        raise NotFound(_("商机不存在"))
    return opportunity


@transaction.atomic
def opportunity_update(
    *, actor: Any, opportunity_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Opportunity:
    """Change an opportunity's fields and lines (the stage changes through a move)."""
    opportunity = _scoped_opportunity(actor, opportunity_id)
    _require(actor, "pipeline.change_opportunity")
    _check_version(opportunity, expected_version, _("商机"))
    before = _opportunity_state(opportunity)
    values, lines = opportunity_clean(actor=actor, data=data, instance=opportunity)
    if lines is not None and "amount" not in data:
        values["amount"] = sum((r["amount"] for r in lines), Decimal("0"))
    changed = {k: v for k, v in values.items() if getattr(opportunity, k) != v}
    if lines is not None:
        _set_lines(opportunity, lines)
    if not changed and (lines is None or _lines_state(opportunity) == before["lines"]):
        return opportunity
    for key, value in changed.items():
        setattr(opportunity, key, value)
    opportunity.version += 1
    opportunity.save(update_fields=[*changed.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=opportunity, before=before, after=_opportunity_state(opportunity))
    large_deal_check(opportunity)
    return opportunity


def stage_missing_requirements(opportunity: Opportunity, stage: Stage, *, lost_reason: Any = None) -> list[str]:
    """The required fields of ``stage`` the opportunity does not fill yet."""
    missing: list[str] = []
    for field in stage.required_fields or []:
        if (
            (field == "amount" and not (opportunity.amount and opportunity.amount > 0))
            or (field == "lines" and not opportunity.lines.exists())
            or (field == "lost_reason" and lost_reason is None and opportunity.lost_reason_id is None)
            or (field in ("expected_close_date", "next_step", "competitors") and not getattr(opportunity, field))
        ):
            missing.append(field)
    if stage.is_lost and lost_reason is None and "lost_reason" not in missing:
        missing.append("lost_reason")
    return missing


def _raise_requirements(stage: Stage, missing: list[str]) -> None:
    labels = "、".join(str(REQUIREMENT_LABELS.get(f, f)) for f in missing)
    raise ValidationFailed(
        _("进入“%(stage)s”阶段前请先填写：%(fields)s") % {"stage": stage.name, "fields": labels},
        code="stage_requirements",
        errors={f: [_("进入“%(stage)s”阶段前必须填写") % {"stage": stage.name}] for f in missing},
        extra={"missing_fields": missing},
    )


@transaction.atomic
def opportunity_move_stage(
    *,
    actor: Any,
    opportunity_id: int,
    stage_id: int,
    expected_version: int | None = None,
    lost_reason_id: int | None = None,
    lost_note: str = "",
) -> Opportunity:
    """Move to another stage of the same pipeline. The target stage's required fields must be
    filled (ValidationFailed ``stage_requirements`` naming each missing field); a lost stage
    needs a reason from the list. Every move is kept in the stage history."""
    opportunity = _scoped_opportunity(actor, opportunity_id)
    _require(actor, "pipeline.change_opportunity")
    _check_version(opportunity, expected_version, _("商机"))
    stage = Stage.objects.filter(pk=stage_id).first()
    if stage is None or stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationFailed(_("目标阶段不属于该商机的销售流程"), code="invalid_stage", field="stage")
    if stage.pk == opportunity.stage_id:
        raise ValidationFailed(
            _("商机已处于“%(stage)s”阶段") % {"stage": stage.name}, code="invalid_stage", field="stage"
        )
    if opportunity.status != OpportunityStatus.OPEN:
        raise ValidationFailed(
            _("商机已关闭（%(status)s），不能再移动阶段") % {"status": opportunity.get_status_display()},
            code="invalid_stage",
            field="stage",
        )
    reason = None
    if lost_reason_id is not None:
        reason = LossReason.objects.filter(pk=lost_reason_id, active=True).first()
        if reason is None:
            raise ValidationFailed(_("无效的丢单原因"), code="invalid_lost_reason", field="lost_reason")
    missing = stage_missing_requirements(opportunity, stage, lost_reason=reason)
    if missing:
        _raise_requirements(stage, missing)
    before = _opportunity_state(opportunity)
    now = timezone.now()
    StageChange.objects.create(
        opportunity=opportunity, from_stage_id=opportunity.stage_id, to_stage=stage, by=actor, at=now
    )
    opportunity.stage = stage
    opportunity.stage_entered_at = now
    fields = ["stage", "stage_entered_at", "status", "closed_at", "version", "updated_at"]
    if stage.is_won:
        opportunity.status, opportunity.closed_at = OpportunityStatus.WON, now
    elif stage.is_lost:
        opportunity.status, opportunity.closed_at = OpportunityStatus.LOST, now
        opportunity.lost_reason = reason
        opportunity.lost_note = (lost_note or "").strip()[:500]
        fields += ["lost_reason", "lost_note"]
    opportunity.version += 1
    opportunity.save(update_fields=fields)
    audit_update(actor=actor, instance=opportunity, before=before, after=_opportunity_state(opportunity))
    return opportunity


def _terminal_stage(opportunity: Opportunity, *, won: bool) -> Stage:
    stage = Stage.objects.filter(pipeline_id=opportunity.pipeline_id, **{"is_won" if won else "is_lost": True}).first()
    if stage is None:
        raise ValidationFailed(_("该销售流程没有赢单/丢单阶段"), code="invalid_stage", field="stage")
    return stage


def opportunity_win(*, actor: Any, opportunity_id: int, expected_version: int | None = None) -> Opportunity:
    opportunity = _visible_opportunity(actor, opportunity_id)
    stage = _terminal_stage(opportunity, won=True)
    return opportunity_move_stage(
        actor=actor, opportunity_id=opportunity.pk, stage_id=stage.pk, expected_version=expected_version
    )


def opportunity_lose(
    *, actor: Any, opportunity_id: int, lost_reason_id: int | None, note: str = "", expected_version: int | None = None
) -> Opportunity:
    opportunity = _visible_opportunity(actor, opportunity_id)
    stage = _terminal_stage(opportunity, won=False)
    return opportunity_move_stage(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage_id=stage.pk,
        expected_version=expected_version,
        lost_reason_id=lost_reason_id,
        lost_note=note,
    )


def _visible_opportunity(actor: Any, opportunity_id: int) -> Opportunity:
    opportunity = Opportunity.objects.filter(pk=opportunity_id).first()
    if opportunity is None or not _in_scope(actor, opportunity.owner_id, opportunity.org_unit_id):
        raise NotFound(_("商机不存在"))
    return opportunity


@transaction.atomic
def opportunity_delete(*, actor: Any, opportunity_id: int) -> None:
    opportunity = _scoped_opportunity(actor, opportunity_id)
    _require(actor, "pipeline.delete_opportunity")
    Lead.objects.filter(opportunity=opportunity).update(opportunity=None)
    audit_delete(actor=actor, instance=opportunity)
    opportunity.delete()


@transaction.atomic
def loss_reason_save(
    *, actor: Any, name: str, reason_id: int | None = None, active: bool = True, order: int = 0
) -> LossReason:
    """Create or change an entry of the editable list of loss reasons."""
    _require(actor, "pipeline.change_lossreason" if reason_id else "pipeline.add_lossreason")
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationFailed(_("请填写原因名称（最多 60 个字符）"), field="name")
    if LossReason.objects.filter(name=name).exclude(pk=reason_id or 0).exists():
        raise ValidationFailed(_("该原因已存在：%(name)s") % {"name": name}, field="name")
    if reason_id is None:
        created = LossReason.objects.create(name=name, active=active, order=order)
        audit_create(actor=actor, instance=created)
        return created
    reason = LossReason.objects.select_for_update().filter(pk=reason_id).first()
    if reason is None:
        raise NotFound(_("丢单原因不存在"))
    before = snapshot(reason)
    reason.name, reason.active, reason.order = name, active, order
    reason.save(update_fields=["name", "active", "order"])
    audit_update(actor=actor, instance=reason, before=before)
    return reason


# --------------------------------------------------------------------------- activities


def _linked(actor: Any, data: Mapping[str, Any], errors: dict[str, list[str]], values: dict[str, Any]) -> None:
    """Validate the records an activity is linked to: each must be in the actor's scope."""
    scope = account_scope(actor)

    def key(name: str) -> int | None:
        raw = data.get(name)
        if raw in (None, ""):
            return None
        text = str(raw).strip()
        if not text.isdigit():
            errors.setdefault(name, []).append(_("应为编号：%(value)s") % {"value": text})
            return None
        return int(text)

    for name in ("account", "contact", "lead", "opportunity"):
        if name in data:
            values[f"{name}_id"] = None
    account_id = key("account")
    if account_id is not None:
        account = Account.objects.filter(pk=account_id).first()
        if account is None or not (
            scope.everything or scope.allows(owner_id=account.owner_id, unit_id=account.org_unit_id)
        ):
            errors.setdefault("account", []).append(_("客户不存在或不在您的数据范围内"))
        else:
            values["account_id"] = account.pk
    contact_id = key("contact")
    if contact_id is not None:
        contact = Contact.objects.select_related("account").filter(pk=contact_id).first()
        if contact is None or not (
            scope.everything or scope.allows(owner_id=contact.account.owner_id, unit_id=contact.account.org_unit_id)
        ):
            errors.setdefault("contact", []).append(_("联系人不存在或不在您的数据范围内"))
        else:
            values["contact_id"] = contact.pk
            if values.get("account_id") is None:
                values["account_id"] = contact.account_id
    lead_id = key("lead")
    if lead_id is not None:
        lead = Lead.objects.filter(pk=lead_id).first()
        if lead is None or not _in_scope(actor, lead.owner_id, lead.org_unit_id):
            errors.setdefault("lead", []).append(_("线索不存在或不在您的数据范围内"))
        else:
            values["lead_id"] = lead.pk
    opportunity_id = key("opportunity")
    if opportunity_id is not None:
        opportunity = Opportunity.objects.filter(pk=opportunity_id).first()
        if opportunity is None or not _in_scope(actor, opportunity.owner_id, opportunity.org_unit_id):
            errors.setdefault("opportunity", []).append(_("商机不存在或不在您的数据范围内"))
        else:
            values["opportunity_id"] = opportunity.pk
            if values.get("account_id") is None:
                values["account_id"] = opportunity.account_id


def activity_clean(*, actor: Any, data: Mapping[str, Any], instance: Activity | None = None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    partial = instance is not None
    values: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data and not (partial and data[name] is None)

    if given("kind") or not partial:
        kind = _choice(data.get("kind"), ActivityKind, "kind", errors)
        if kind is None and "kind" not in errors:
            errors.setdefault("kind", []).append(_("请选择活动类型"))
        values["kind"] = kind
    if given("subject") or not partial:
        values["subject"] = _text(data, "subject", 200, errors)
        if not values["subject"]:
            errors.setdefault("subject", []).append(_("请填写主题"))
    if given("body") or not partial:
        values["body"] = _text(data, "body", 10000, errors)
    if given("due_at") or not partial:
        values["due_at"] = _datetime(data.get("due_at"), "due_at", errors)
    if given("duration_minutes"):
        raw = str(data.get("duration_minutes")).strip()
        if not raw.isdigit() or not 0 < int(raw) <= 24 * 60:
            errors.setdefault("duration_minutes", []).append(_("时长应为 1 到 1440 分钟"))
        else:
            values["duration_minutes"] = int(raw)
    if given("owner") or not partial:
        owner_key = data.get("owner")
        if owner_key in (None, ""):
            if not partial:
                unit = _actor_unit(actor)
                if unit is None:
                    errors.setdefault("owner", []).append(_("您没有员工档案，请指定负责人"))
                values["owner_id"], values["org_unit_id"] = actor.pk, unit
        else:
            try:
                values["owner_id"], values["org_unit_id"] = _owner_target(actor, owner_key)
            except ValidationFailed as exc:
                for field, msgs in exc.field_errors.items():
                    errors.setdefault(field, []).extend(msgs)
    _linked(actor, data, errors, values)
    if values.get("kind") in (ActivityKind.TASK, ActivityKind.MEETING) and not partial and values.get("due_at") is None:
        errors.setdefault("due_at", []).append(_("任务和会议需要时间"))
    if errors:
        raise ValidationFailed(_("活动资料有误"), errors=errors)
    return values


def _touch_opportunity(opportunity_id: int | None, at: dt.datetime) -> None:
    if opportunity_id:
        Opportunity.objects.filter(pk=opportunity_id).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
        ).update(last_activity_at=at)


@transaction.atomic
def activity_create(*, actor: Any, data: Mapping[str, Any]) -> Activity:
    _require(actor, "pipeline.add_activity")
    values = activity_clean(actor=actor, data=data)
    done = data.get("done") in (True, "1", "true", "on")
    activity = Activity.objects.create(**values, done_at=timezone.now() if done else None)
    audit_create(actor=actor, instance=activity)
    _touch_opportunity(activity.opportunity_id, timezone.now())
    return activity


def _scoped_activity(actor: Any, activity_id: int) -> Activity:
    activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
    if activity is None or not _in_scope(actor, activity.owner_id, activity.org_unit_id):
        raise NotFound(_("活动不存在"))
    return activity


@transaction.atomic
def activity_update(
    *, actor: Any, activity_id: int, data: Mapping[str, Any], expected_version: int | None = None
) -> Activity:
    activity = _scoped_activity(actor, activity_id)
    _require(actor, "pipeline.change_activity")
    _check_version(activity, expected_version, _("活动"))
    before = snapshot(activity, ACTIVITY_FIELDS)
    values = activity_clean(actor=actor, data=data, instance=activity)
    changed = {k: v for k, v in values.items() if getattr(activity, k) != v}
    if not changed:
        return activity
    for key, value in changed.items():
        setattr(activity, key, value)
    activity.version += 1
    activity.save(update_fields=[*changed.keys(), "version", "updated_at"])
    audit_update(actor=actor, instance=activity, before=before)
    return activity


@transaction.atomic
def activity_complete(*, actor: Any, activity_id: int, expected_version: int | None = None) -> Activity:
    activity = _scoped_activity(actor, activity_id)
    _require(actor, "pipeline.change_activity")
    _check_version(activity, expected_version, _("活动"))
    if activity.done_at is not None:
        raise ValidationFailed(_("该活动已完成"), code="already_done", field="done_at")
    before = snapshot(activity, ACTIVITY_FIELDS)
    activity.done_at = timezone.now()
    activity.version += 1
    activity.save(update_fields=["done_at", "version", "updated_at"])
    audit_update(actor=actor, instance=activity, before=before)
    _touch_opportunity(activity.opportunity_id, activity.done_at)
    return activity


@transaction.atomic
def activity_delete(*, actor: Any, activity_id: int) -> None:
    activity = _scoped_activity(actor, activity_id)
    _require(actor, "pipeline.delete_activity")
    audit_delete(actor=actor, instance=activity)
    activity.delete()


# --------------------------------------------------------------------------- alerts


def activity_reminders_send(*, now: dt.datetime | None = None, minutes: int | None = None) -> int:
    """Remind owners of open activities starting / due within ``minutes`` (once per due time)."""
    now = now or timezone.now()
    minutes = minutes if minutes is not None else int(getattr(settings, "PIPELINE_REMINDER_MINUTES", 30))
    due = Activity.objects.filter(
        done_at__isnull=True,
        owner__isnull=False,
        due_at__lte=now + dt.timedelta(minutes=minutes),
        due_at__gte=now - dt.timedelta(hours=12),
    ).order_by("due_at", "id")
    sent = 0
    for activity in due.iterator(chunk_size=500):
        assert activity.due_at is not None
        local = timezone.localtime(activity.due_at)
        with transaction.atomic():
            sent += len(
                notify(
                    users=[activity.owner_id],
                    kind="activity_due",
                    title=_("提醒：%(time)s %(subject)s")
                    % {"time": f"{local:%m-%d %H:%M}", "subject": activity.subject},
                    body=activity.body[:1000],
                    link=reverse("pipeline:activity_detail", args=[activity.pk]),
                    dedupe_key=f"activity_due:{activity.pk}:{activity.due_at.isoformat()}",
                )
            )
    return sent


def stale_deals_check(*, now: dt.datetime | None = None) -> int:
    """Notify owners (and their managers) of open opportunities with no activity for the
    pipeline's ``stale_days``; once per quiet spell (a new activity starts a new one)."""
    now = now or timezone.now()
    sent = 0
    for pipeline in Pipeline.objects.filter(active=True, stale_days__gt=0):
        cutoff = now - dt.timedelta(days=pipeline.stale_days)
        stale = Opportunity.objects.filter(
            pipeline=pipeline, status=OpportunityStatus.OPEN, owner__isnull=False
        ).filter(Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff))
        for opportunity in stale.select_related("account").iterator(chunk_size=500):
            since = opportunity.last_activity_at or opportunity.created_at
            users = [opportunity.owner_id, *manager_chain(opportunity.owner_id)[:1]]
            with transaction.atomic():
                sent += len(
                    notify(
                        users=users,
                        kind="stale_deal",
                        title=_("商机停滞：%(name)s 已 %(days)d 天没有活动")
                        % {"name": opportunity.name, "days": (now - since).days},
                        body=_("客户：%(account)s") % {"account": opportunity.account.name},
                        link=reverse("pipeline:opportunity_detail", args=[opportunity.pk]),
                        dedupe_key=f"stale_deal:{opportunity.pk}:{since.isoformat()}",
                    )
                )
    return sent


def large_deals_check() -> int:
    """The large-deal alert for every open opportunity above the threshold (sent once each)."""
    sent = 0
    for opportunity in (
        Opportunity.objects.filter(status=OpportunityStatus.OPEN, amount__gt=large_deal_threshold())
        .select_related("account")
        .iterator(chunk_size=500)
    ):
        with transaction.atomic():
            sent += large_deal_check(opportunity)
    return sent


def pipeline_alerts_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every check once: reminders, large deals, stale deals. Safe to run again."""
    return {
        "reminders": activity_reminders_send(now=now),
        "large_deals": large_deals_check(),
        "stale_deals": stale_deals_check(now=now),
    }


# --------------------------------------------------------------------------- calendar feed


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def calendar_feed_regenerate(*, actor: Any) -> str:
    """A new secret feed token for the actor (the old URL stops working). Shown once."""
    raw = secrets.token_urlsafe(32)
    existed = CalendarFeed.objects.filter(user_id=actor.pk).exists()
    CalendarFeed.objects.update_or_create(user_id=actor.pk, defaults={"token_hash": _hash(raw), "last_used_at": None})
    feed = CalendarFeed.objects.get(user_id=actor.pk)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if existed else AuditAction.CREATE,
        instance=feed,
        changes={"token": ["***" if existed else None, "***"]},
    )
    return raw


@transaction.atomic
def calendar_feed_revoke(*, actor: Any) -> bool:
    feed = CalendarFeed.objects.filter(user_id=actor.pk).first()
    if feed is None:
        return False
    audit_delete(actor=actor, instance=feed)
    feed.delete()
    return True


def calendar_feed_user(*, token: str) -> Any | None:
    """The active user whose feed token this is, or None."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(minutes=5):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


def lead_owner_check(*, actor: Any, owner: Any) -> int:
    """Validate an owner named for a new lead (imports check rows before writing): the user id."""
    user_id, _unit = _owner_target(actor, owner)
    return user_id
