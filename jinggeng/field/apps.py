from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "jinggeng.field"
    label = "field"
    verbose_name = _("终端执行")

    def ready(self) -> None:
        # After the org app has made the default roles (it is earlier in INSTALLED_APPS).
        from jinggeng.field.roles import grant_field_permissions_after_migrate

        post_migrate.connect(grant_field_permissions_after_migrate, sender=self)
