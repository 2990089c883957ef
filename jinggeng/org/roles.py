"""Default roles: each a Django group with permissions and a default data scope.

Created after `migrate` when missing; an administrator changes them in the admin afterwards
(permissions on the group, default scope on the role). Existing roles are never overwritten.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from jinggeng.core.scope import ScopeLevel
from jinggeng.org.models import Role, RoleCode

VIEW_ALL = [
    "org.view_orgunit",
    "org.view_employee",
    "org.view_territory",
    "org.view_division",
    "catalog.view_brand",
    "catalog.view_category",
    "catalog.view_product",
    "catalog.view_sku",
    "customers.view_account",
    "customers.view_contact",
    "customers.view_supplylink",
]
EDIT_CUSTOMERS = [
    "customers.add_account",
    "customers.change_account",
    "customers.add_contact",
    "customers.change_contact",
    "customers.delete_contact",
    "customers.add_supplylink",
    "customers.change_supplylink",
    "customers.delete_supplylink",
    "customers.export_account",
]
MANAGE_CUSTOMERS = [
    *EDIT_CUSTOMERS,
    "customers.delete_account",
    "customers.transfer_account",
    "customers.merge_account",
    "customers.import_account",
]
EDIT_CATALOG = [
    f"catalog.{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("brand", "category", "product", "sku")
]
MANAGE_ORG = [
    f"org.{verb}_{model}" for verb in ("add", "change", "delete") for model in ("orgunit", "employee", "territory")
]

DEFAULT_ROLES: dict[str, tuple[str, list[str]]] = {
    RoleCode.GENERAL_MANAGER: (ScopeLevel.ALL, [*VIEW_ALL, *MANAGE_CUSTOMERS]),
    RoleCode.SALES_DIRECTOR: (ScopeLevel.ALL, [*VIEW_ALL, *MANAGE_CUSTOMERS]),
    RoleCode.REGIONAL_MANAGER: (ScopeLevel.SUBTREE, [*VIEW_ALL, *MANAGE_CUSTOMERS]),
    RoleCode.AREA_MANAGER: (
        ScopeLevel.SUBTREE,
        [*VIEW_ALL, *EDIT_CUSTOMERS, "customers.transfer_account"],
    ),
    RoleCode.SUPERVISOR: (ScopeLevel.SUBTREE, [*VIEW_ALL]),
    RoleCode.REP: (ScopeLevel.SELF, [*VIEW_ALL, *EDIT_CUSTOMERS]),
    RoleCode.PROMOTER: (ScopeLevel.SELF, [*VIEW_ALL]),
    RoleCode.MARKETING: (ScopeLevel.ALL, [*VIEW_ALL, *EDIT_CATALOG, "customers.export_account"]),
    RoleCode.SERVICE_AGENT: (
        ScopeLevel.ALL,
        [*VIEW_ALL, "customers.add_contact", "customers.change_contact"],
    ),
    RoleCode.DISTRIBUTOR_USER: (
        ScopeLevel.SELF,
        ["catalog.view_product", "catalog.view_sku", "customers.view_account"],
    ),
    RoleCode.ADMINISTRATOR: (
        ScopeLevel.ALL,
        [*VIEW_ALL, *MANAGE_CUSTOMERS, *EDIT_CATALOG, *MANAGE_ORG, "org.change_role"],
    ),
}


def _permissions(names: list[str]) -> list[Permission]:
    result = []
    for name in names:
        app_label, codename = name.split(".")
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is None:
            raise LookupError(f"permission {name} does not exist")
        result.append(perm)
    return result


@transaction.atomic
def ensure_default_roles() -> int:
    """Create the roles that do not exist yet. Returns how many were created."""
    created = 0
    for code, (scope, perms) in DEFAULT_ROLES.items():
        if Role.objects.filter(code=code).exists():
            continue
        group, _ = Group.objects.get_or_create(name=f"role:{code}")
        group.permissions.set(_permissions(perms))
        Role.objects.create(code=code, group=group, default_scope=scope)
        created += 1
    return created


def ensure_default_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    using = kwargs.get("using", "default")
    if using != "default":
        return
    # Permissions of every app must exist first: they are made by auth's own post_migrate.
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    ensure_default_roles()
