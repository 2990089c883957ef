"""Shared base models, the audit log and API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessModel(models.Model):
    """Base of every business record: timestamps and a version for optimistic locking."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        abstract = True


class AuditAction(models.TextChoices):
    CREATE = "create", _("创建")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    TRANSFER = "transfer", _("转移")
    MERGE = "merge", _("合并")
    IMPORT = "import", _("导入")


class AuditLog(models.Model):
    """Who changed what, when: one row per create / update / delete of business data."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=16, choices=AuditAction.choices)
    entity = models.CharField(_("对象类型"), max_length=64)
    entity_id = models.CharField(_("对象编号"), max_length=64)
    entity_repr = models.CharField(_("对象"), max_length=255, blank=True)
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [models.Index(fields=["entity", "entity_id", "-at"], name="audit_entity_idx")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.entity}#{self.entity_id}"

    def change_rows(self) -> list[dict[str, Any]]:
        """The changes field by field: ``field`` (the name), ``label`` (its verbose name),
        ``old`` / ``new`` (as stored) and ``old_display`` / ``new_display`` (choice labels,
        yes / no, and the related record's name instead of its id)."""
        model = _model_of(self.entity)
        rows: list[dict[str, Any]] = []
        for name, values in (self.changes or {}).items():
            old, new = (
                (values[0], values[1]) if isinstance(values, list | tuple) and len(values) == 2 else (None, values)
            )
            field = _field_of(model, name)
            rows.append(
                {
                    "field": name,
                    "label": str(field.verbose_name) if field is not None else name,
                    "old": old,
                    "new": new,
                    "old_display": _display(field, old),
                    "new_display": _display(field, new),
                }
            )
        return rows


def _model_of(entity: str) -> type[models.Model] | None:
    from django.apps import apps

    try:
        return apps.get_model(entity)
    except (LookupError, ValueError):
        return None


def _field_of(model: type[models.Model] | None, name: str) -> Any:
    from django.core.exceptions import FieldDoesNotExist

    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    # Reverse relations ("lines" of an order, say) have no label of their own.
    return field if getattr(field, "verbose_name", None) is not None else None


def _display(field: Any, value: Any) -> Any:
    """A stored audit value as a person reads it."""
    if value is None or field is None:
        return value
    if getattr(field, "choices", None):
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False):
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value}"
    return value


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Notification(models.Model):
    """An in-app notification for one user; also sent by e-mail when the user has an address.

    ``dedupe_key`` makes a notification happen once per user: a reminder checked again after a
    worker restart finds the row already there and sends nothing more.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("用户")
    )
    kind = models.CharField(_("类型"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)
    dedupe_key = models.CharField(_("去重键"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="notification_dedupe_uniq"
            )
        ]
        indexes = [models.Index(fields=["user", "read_at", "-id"], name="notification_user_idx")]

    def __str__(self) -> str:
        return self.title
