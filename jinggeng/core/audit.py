"""Audit records: every create, update and delete of business data says who, when and what.

Services take a snapshot before they change a record and call `audit_update` after; the diff of
the two is stored field by field as ``{field: [old, new]}`` with JSON-safe values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from jinggeng.core.models import AuditAction, AuditLog

Actor = AbstractBaseUser | AnonymousUser | None


_PLAIN = frozenset({type(None), bool, int, float, str})


def json_safe(value: Any) -> Any:
    """``value`` with only JSON types: Decimal, UUID and other objects as text, dates in ISO
    format, model instances as their primary key, sets as sorted lists."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    # Plain dicts and lists first, without a call per plain item: imports build many of them.
    if kind is dict:
        return {(k if type(k) is str else str(k)): (v if type(v) in _PLAIN else json_safe(v)) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PLAIN else json_safe(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def concrete_field_names(instance: models.Model, *, exclude: Iterable[str] = ()) -> list[str]:
    skip = {"created_at", "updated_at", "version", *exclude}
    return [f.name for f in instance._meta.concrete_fields if f.name not in skip]


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """JSON-safe values of the given fields (all concrete fields by default); FKs as ids."""
    names = list(fields) if fields is not None else concrete_field_names(instance)
    result: dict[str, Any] = {}
    for name in names:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = json_safe(getattr(instance, attname))
    return result


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _actor_id(actor: Actor) -> Any:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor.pk


def _entity(instance: models.Model) -> str:
    return str(instance._meta.label_lower)


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditLog:
    return AuditLog.objects.create(
        actor_id=_actor_id(actor),
        action=action,
        entity=_entity(instance),
        entity_id=str(instance.pk),
        entity_repr=str(instance)[:255],
        changes=json_safe(dict(changes or {})),
        reason=reason[:500],
    )


def audit_create(*, actor: Actor, instance: models.Model, extra: Mapping[str, Any] | None = None) -> AuditLog:
    values = snapshot(instance)
    values.update(json_safe(dict(extra or {})))
    changes = {k: [None, v] for k, v in values.items() if v not in (None, "", [], {})}
    return audit_record(actor=actor, action=AuditAction.CREATE, instance=instance, changes=changes)


def audit_update(
    *,
    actor: Actor,
    instance: models.Model,
    before: Mapping[str, Any],
    after: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditLog | None:
    """Record the fields that changed; nothing when nothing did."""
    now = dict(after) if after is not None else snapshot(instance, before.keys())
    changes = diff(before, now)
    if not changes:
        return None
    return audit_record(actor=actor, action=AuditAction.UPDATE, instance=instance, changes=changes, reason=reason)


def audit_delete(*, actor: Actor, instance: models.Model, reason: str = "") -> AuditLog:
    values = snapshot(instance)
    changes = {k: [v, None] for k, v in values.items() if v not in (None, "", [], {})}
    return audit_record(actor=actor, action=AuditAction.DELETE, instance=instance, changes=changes, reason=reason)


def audit_history(*, entity: str, entity_id: Any) -> models.QuerySet[AuditLog]:
    """The history of one record, newest first. Callers check the record is in scope first."""
    return AuditLog.objects.filter(entity=entity, entity_id=str(entity_id)).select_related("actor")
