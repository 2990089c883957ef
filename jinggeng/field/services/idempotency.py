"""Idempotency keys of device requests on visits (``Idempotency-Key``), shared by visits and stock.

A phone retries a request it has no answer for, offline queue included, with the same key.
The first request with a key is remembered (``VisitRequest``: actor, key, action, visit, the
object it made, a digest of its body); a retry answers with that result and changes nothing;
the same key for a different request is refused (409 ``idempotency_key_reused``). Keys are
kept ``FIELD_REQUEST_KEEP_DAYS`` days (30 by default), far longer than any phone stays offline,
and then pruned by ``requests_prune`` (run by ``jinggeng field_plan``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.errors import Conflict, ValidationFailed
from jinggeng.field.models import Visit, VisitRequest


def request_hash(payload: Any) -> str:
    """A digest of a request's body: the same body always gives the same digest."""
    raw = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def clean_key(key: str | None) -> str:
    key = (key or "").strip()
    if key and not (8 <= len(key) <= 100):
        raise ValidationFailed(_("Idempotency-Key 应为 8 到 100 个字符"), field="idempotency_key")
    return key


def _reused() -> Conflict:
    return Conflict(
        _("该 Idempotency-Key 已用于另一个不同的请求"), code="idempotency_key_reused", field="idempotency_key"
    )


def earlier_request(
    actor: Any, key: str, *, action: str, digest: str, visit: Visit | None = None
) -> VisitRequest | None:
    """The request this key already made, if any. A key used before for another action, another
    body or (when ``visit`` is given) another visit is refused."""
    if not key:
        return None
    found = VisitRequest.objects.filter(actor=actor, key=key).first()
    if found is None:
        return None
    if found.action != action or found.request_hash != digest or (visit is not None and found.visit_id != visit.pk):
        raise _reused()
    return found


def remember(
    actor: Any,
    key: str,
    *,
    action: str,
    digest: str,
    visit: Visit,
    object_id: int | None = None,
    savepoint: bool = False,
) -> None:
    """Remember the request made with ``key``. ``savepoint``: write it in a savepoint and turn
    a lost race on the unique (actor, key) into ``idempotency_key_reused``; without it the
    caller's transaction sees the ``IntegrityError`` and answers the winner's result."""
    if not key:
        return
    try:
        with transaction.atomic() if savepoint else contextlib.nullcontext():
            VisitRequest.objects.create(
                actor=actor, key=key, action=action, request_hash=digest, visit=visit, object_id=object_id
            )
    except IntegrityError:
        if not savepoint:
            raise
        raise _reused() from None


def requests_prune(*, now: dt.datetime | None = None, batch: int = 10_000) -> int:
    """Forget keys older than ``FIELD_REQUEST_KEEP_DAYS`` days, ``batch`` rows per statement so
    that a large backlog never holds long locks. Returns how many were removed."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.FIELD_REQUEST_KEEP_DAYS)
    removed = 0
    while True:
        ids = list(VisitRequest.objects.filter(created_at__lt=cutoff).order_by("created_at").values_list("id")[:batch])
        if not ids:
            return removed
        removed += VisitRequest.objects.filter(pk__in=[i for (i,) in ids]).delete()[0]
