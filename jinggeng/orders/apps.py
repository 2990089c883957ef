from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "jinggeng.orders"
    label = "orders"
    verbose_name = _("订单与回款")

    def ready(self) -> None:
        # After the org app has made the default roles (it is earlier in INSTALLED_APPS).
        from jinggeng.orders.roles import grant_order_permissions_after_migrate

        post_migrate.connect(grant_order_permissions_after_migrate, sender=self)
