"""Personal API tokens: created and shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.audit import audit_record
from jinggeng.core.errors import NotFound, ValidationFailed
from jinggeng.core.models import ApiToken, AuditAction

TOKEN_PREFIX = "jg_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: Any, user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with the raw secret, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写令牌名称"), field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], token_hash=hash_token(raw))
    audit_record(actor=actor, action=AuditAction.CREATE, instance=token, changes={"name": [None, token.name]})
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Any, token_id: int, user: Any | None = None) -> ApiToken:
    qs = ApiToken.objects.select_for_update().filter(pk=token_id, revoked_at__isnull=True)
    if user is not None:
        qs = qs.filter(user=user)
    token = qs.first()
    if token is None:
        raise NotFound(_("令牌不存在或已吊销"))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    forget_token(token.token_hash)
    audit_record(
        actor=actor, action=AuditAction.DELETE, instance=token, changes={"revoked_at": [None, str(token.revoked_at)]}
    )
    return token


# Authenticated token -> (expires at, token id, user). The user object carries the caches
# Django and Jinggeng keep per user (permissions, data scope), so a client calling the API
# many times a second does not reload them on every request. A revoked token, a deactivated
# user or a changed role is seen after at most API_TOKEN_CACHE_SECONDS (in every process);
# at once in the process that revoked it.
_AUTH_CACHE: dict[str, tuple[float, int, Any]] = {}
_AUTH_CACHE_LOCK = threading.Lock()
_AUTH_CACHE_MAX = 10_000


def _cache_seconds() -> float:
    return float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 30))


def forget_token(token_hash: str | None = None) -> None:
    with _AUTH_CACHE_LOCK:
        if token_hash is None:
            _AUTH_CACHE.clear()
        else:
            _AUTH_CACHE.pop(token_hash, None)


def token_authenticate(raw: str) -> Any | None:
    """The active user behind a raw token, or None. Records the last-used time (per minute)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(raw)
    ttl = _cache_seconds()
    now_mono = time.monotonic()
    if ttl > 0:
        cached = _AUTH_CACHE.get(digest)
        if cached is not None and cached[0] > now_mono:
            return cached[2]
    token = (
        ApiToken.objects.select_related("user", "user__employee__role", "user__employee__org_unit")
        .filter(token_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        forget_token(digest)
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if ttl > 0:
        with _AUTH_CACHE_LOCK:
            if len(_AUTH_CACHE) >= _AUTH_CACHE_MAX:
                _AUTH_CACHE.clear()
            _AUTH_CACHE[digest] = (now_mono + ttl, token.pk, token.user)
    return token.user
