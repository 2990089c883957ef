"""The order-to-cash permissions of the default roles.

`jinggeng.org.roles.DEFAULT_ROLES` predates this app; until its lists include these, the roles
get them here after migrating — once: a role that already holds any ``orders`` permission is
left alone, so an administrator's later changes stand.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction

VIEW = [
    "orders.view_pricelist",
    "orders.view_contract",
    "orders.view_salesorder",
    "orders.view_paymentreceipt",
    "orders.view_paymentallocation",
    "orders.view_approvalrule",
]
SELL = [
    *VIEW,
    "orders.add_salesorder",
    "orders.change_salesorder",
    "orders.delete_salesorder",
    "orders.add_contract",
    "orders.change_contract",
    "orders.add_paymentreceipt",
    "orders.change_paymentreceipt",
    "orders.add_paymentallocation",
    "orders.delete_paymentallocation",
]
APPROVE = [*SELL, "orders.approve_salesorder", "orders.ship_salesorder", "orders.delete_contract"]
PRICING = [f"orders.{verb}_{model}" for verb in ("add", "change", "delete") for model in ("pricelist", "pricelistitem")]
RULES = [f"orders.{verb}_approvalrule" for verb in ("add", "change", "delete")]

ORDER_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "general_manager": [*APPROVE, "orders.approve_over_credit", *PRICING, *RULES],
    "sales_director": [*APPROVE, "orders.approve_over_credit", *PRICING, *RULES],
    "regional_manager": [*APPROVE, "orders.approve_over_credit"],
    "area_manager": [*APPROVE],
    "supervisor": [*VIEW],
    "rep": [*SELL],
    "promoter": ["orders.view_pricelist"],
    "marketing": ["orders.view_pricelist", *PRICING],
    "service_agent": [*VIEW],
    "distributor_user": ["orders.view_salesorder", "orders.view_paymentreceipt", "orders.view_contract"],
    "administrator": [*APPROVE, "orders.approve_over_credit", *PRICING, *RULES, "orders.delete_paymentreceipt"],
}


@transaction.atomic
def grant_order_permissions() -> int:
    """Give each default role its order permissions unless it holds some already. Returns how
    many roles were given them."""
    from jinggeng.org.models import Role

    wanted = {p for perms in ORDER_ROLE_PERMISSIONS.values() for p in perms}
    by_name = {
        f"orders.{codename}": perm
        for codename, perm in ((p.codename, p) for p in Permission.objects.filter(content_type__app_label="orders"))
    }
    missing = wanted - set(by_name)
    if missing:
        raise LookupError(f"permissions do not exist: {sorted(missing)}")
    granted = 0
    for role in Role.objects.select_related("group"):
        perms = ORDER_ROLE_PERMISSIONS.get(role.code)
        if not perms or role.group.permissions.filter(content_type__app_label="orders").exists():
            continue
        role.group.permissions.add(*[by_name[p] for p in perms])
        granted += 1
    return granted


def grant_order_permissions_after_migrate(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("using", "default") != "default":
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    create_permissions(apps.get_app_config("orders"), verbosity=0, using="default")
    grant_order_permissions()
