from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "jinggeng.pipeline"
    label = "pipeline"
    verbose_name = _("销售过程")

    def ready(self) -> None:
        # After the org app made the default roles: give them their pipeline permissions.
        from jinggeng.pipeline.permissions import ensure_pipeline_permissions_after_migrate

        post_migrate.connect(ensure_pipeline_permissions_after_migrate, sender=self)
