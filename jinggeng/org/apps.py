from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "jinggeng.org"
    label = "org"
    verbose_name = _("组织与区域")

    def ready(self) -> None:
        # Like auth's permissions, the default roles are configuration made after migrating.
        from jinggeng.org.roles import ensure_default_roles_after_migrate

        post_migrate.connect(ensure_default_roles_after_migrate, sender=self)
