from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "jinggeng.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self) -> None:
        # Each app registers its importable / exportable entities in its importers.py.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("importers")
