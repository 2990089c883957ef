"""Keyset (cursor) pagination: stable and fast at any depth.

A list is ordered by one sort field plus the primary key as tie-breaker. The cursor carries the
last row's values, so page 5,000 costs the same as page 1 (an index seek, no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from jinggeng.core.audit import json_safe
from jinggeng.core.errors import ValidationFailed

M = TypeVar("M", bound=models.Model)
R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    items: list[R]
    next_cursor: str | None
    sort: str

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(_("分页游标无效"), code="invalid_cursor", field="cursor") from exc
    if not isinstance(data, dict) or "id" not in data:
        raise ValidationFailed(_("分页游标无效"), code="invalid_cursor", field="cursor")
    return data


def keyset_paginate(
    queryset: models.QuerySet[M, Any],
    *,
    sort: str,
    allowed_sorts: Sequence[str],
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """One page of ``queryset`` ordered by ``sort`` (``name`` or ``-name``) then ``id``.

    ``allowed_sorts`` lists the non-null fields a client may sort on. Works on model
    querysets and on ``.values()`` querysets (which must include ``id`` and the sort field).
    """
    field_name = sort.lstrip("-")
    if field_name not in allowed_sorts:
        raise ValidationFailed(_("不支持的排序字段：%(sort)s") % {"sort": sort}, code="invalid_sort", field="sort")
    descending = sort.startswith("-")
    direction = "lt" if descending else "gt"
    prefix = "-" if descending else ""
    qs = queryset
    if cursor:
        data = decode_cursor(cursor)
        if data.get("s") != sort:
            raise ValidationFailed(_("分页游标与排序不一致"), code="invalid_cursor", field="cursor")
        pk = data["id"]
        if field_name in ("id", "pk"):
            qs = qs.filter(**{f"pk__{direction}": pk})
        else:
            model_field = queryset.model._meta.get_field(field_name)
            if not isinstance(model_field, models.Field):
                raise ValidationFailed(
                    _("不支持的排序字段：%(sort)s") % {"sort": sort}, code="invalid_sort", field="sort"
                )
            value = model_field.to_python(data.get("v"))
            # (field, pk) after (value, pk0), written so that an index on (field, pk) can seek
            # to ``value`` first: field >= value AND (field > value OR pk > pk0).
            qs = qs.filter(
                Q(**{f"{field_name}__{direction}e": value})
                & (Q(**{f"{field_name}__{direction}": value}) | Q(**{f"pk__{direction}": pk}))
            )
    ordering = [f"{prefix}pk"] if field_name in ("id", "pk") else [f"{prefix}{field_name}", f"{prefix}pk"]
    rows = list(qs.order_by(*ordering)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        if isinstance(last, dict):  # a .values() queryset: rows are dicts with "id"
            payload: dict[str, Any] = {"s": sort, "id": last["id"]}
            if field_name not in ("id", "pk"):
                payload["v"] = json_safe(last[field_name])
        else:
            payload = {"s": sort, "id": last.pk}
            if field_name not in ("id", "pk"):
                payload["v"] = json_safe(getattr(last, field_name))
        next_cursor = encode_cursor(payload)
    return Page(items=rows, next_cursor=next_cursor, sort=sort)
