"""Platform endpoints: who am I, my API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from jinggeng.core.models import ApiToken
from jinggeng.core.tokens import token_create, token_revoke

router = Router()


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str | None
    org_unit: str | None
    language: str


class TokenIn(Schema):
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    employee = getattr(user, "employee", None) if hasattr(user, "employee") else None
    return {
        "id": user.pk,
        "username": user.username,
        "name": employee.name if employee else user.username,
        "role": employee.role.code if employee else None,
        "org_unit": employee.org_unit.code if employee else None,
        "language": getattr(request, "LANGUAGE_CODE", "zh-hans"),
    }


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request: HttpRequest) -> Any:
    return ApiToken.objects.filter(user__pk=request.user.pk or 0).order_by("-created_at")


@router.post("/tokens", response={201: TokenCreated}, summary="Create an API token (shown once)")
def create_token(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    token, raw = token_create(actor=request.user, user=request.user, name=payload.name)
    body = {f: getattr(token, f) for f in ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")}
    return Status(201, {**body, "token": raw})


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of my tokens")
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    token_revoke(actor=request.user, token_id=token_id, user=request.user)
    return Status(204, None)


# --------------------------------------------------------------------------- notifications


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


@router.get("/notifications", response=NotificationPage, summary="My notifications, newest first")
def list_notifications(
    request: HttpRequest, unread: bool = False, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    from django.conf import settings

    from jinggeng.core.notifications import notification_list, notification_unread_count
    from jinggeng.core.pagination import keyset_paginate

    page = keyset_paginate(
        notification_list(actor=request.user, unread_only=unread),
        sort="-id",
        allowed_sorts=("id",),
        cursor=cursor,
        limit=max(1, min(limit, settings.PAGE_SIZE_MAX)),
    )
    return {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "unread": notification_unread_count(actor=request.user),
    }


@router.post("/notifications/{notification_id}/read", response={204: None}, summary="Mark a notification read")
def read_notification(request: HttpRequest, notification_id: int) -> Status[None]:
    from jinggeng.core.notifications import notification_mark_read

    notification_mark_read(actor=request.user, notification_id=notification_id)
    return Status(204, None)


@router.post("/notifications/read-all", response={200: dict[str, int]}, summary="Mark all my notifications read")
def read_all_notifications(request: HttpRequest) -> dict[str, int]:
    from jinggeng.core.notifications import notification_mark_read

    return {"marked": notification_mark_read(actor=request.user)}
