"""Notifications: in-app rows plus an e-mail sent by the background worker.

`notify` is called by services inside their transaction. The e-mail is enqueued with
``transaction.on_commit`` so nothing is sent for a rolled-back change, and a ``dedupe_key``
makes each notification happen once per user however often a check runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from jinggeng.core.errors import NotFound
from jinggeng.core.models import Notification


def _user_ids(users: Iterable[Any]) -> list[int]:
    ids: list[int] = []
    for user in users:
        pk = user if isinstance(user, int) else getattr(user, "pk", None)
        if isinstance(pk, int) and pk not in ids:
            ids.append(pk)
    return ids


def notify(
    *,
    users: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str = "",
) -> list[Notification]:
    """Create one notification per user (users or user ids) and e-mail it after commit.

    With a ``dedupe_key``, a user who already has a notification with that key gets nothing
    new. Returns the notifications created now.
    """
    created: list[Notification] = []
    ids = _user_ids(users)
    if not ids:
        return created
    existing: set[int] = set()
    if dedupe_key:
        existing = set(
            Notification.objects.filter(user_id__in=ids, dedupe_key=dedupe_key).values_list("user_id", flat=True)
        )
    for user_id in ids:
        if user_id in existing:
            continue
        try:
            with transaction.atomic():
                note = Notification.objects.create(
                    user_id=user_id,
                    kind=kind[:40],
                    title=title[:200],
                    body=body,
                    link=link[:500],
                    dedupe_key=dedupe_key[:200],
                )
        except IntegrityError:
            continue  # another worker created it at the same moment
        created.append(note)
    if created:
        note_ids = [n.pk for n in created]
        transaction.on_commit(lambda: _enqueue_emails(note_ids))
    return created


def _enqueue_emails(note_ids: list[int]) -> None:
    for note_id in note_ids:
        notification_send_email.enqueue(note_id)


@task()
def notification_send_email(note_id: int) -> bool:
    """Send one notification by e-mail, once: ``emailed_at`` is set in the same transaction."""
    with transaction.atomic():
        note = Notification.objects.select_for_update().filter(pk=note_id, emailed_at__isnull=True).first()
        if note is None:
            return False
        email = get_user_model().objects.filter(pk=note.user_id).values_list("email", flat=True).first()
        if not email:
            return False
        body = note.body
        if note.link:
            body = f"{body}\n\n{note.link}" if body else note.link
        send_mail(note.title, body, settings.DEFAULT_FROM_EMAIL, [str(email)])
        note.emailed_at = timezone.now()
        note.save(update_fields=["emailed_at"])
    return True


def notification_list(*, actor: Any, unread_only: bool = False) -> models.QuerySet[Notification]:
    """The actor's own notifications, newest first."""
    qs = Notification.objects.filter(user_id=getattr(actor, "pk", None) or 0)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def notification_unread_count(*, actor: Any) -> int:
    return notification_list(actor=actor, unread_only=True).count()


@transaction.atomic
def notification_mark_read(*, actor: Any, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications (or all, without an id) as read; returns how many."""
    qs = notification_list(actor=actor, unread_only=True)
    if notification_id is not None:
        if not notification_list(actor=actor).filter(pk=notification_id).exists():
            raise NotFound(_("通知不存在"))
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
