"""Default pipeline permissions of the roles.

The org app creates the roles after migrating; this runs after it (the pipeline app comes later
in INSTALLED_APPS) and gives each role's group its default pipeline permissions, but only to
groups that hold no pipeline permission yet, so an administrator's later changes stay.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission

VIEW = ["view_lead", "view_opportunity", "view_activity", "view_pipeline", "view_stage", "view_lossreason"]
WORK = [*VIEW, "add_lead", "change_lead", "add_opportunity", "change_opportunity", "add_activity", "change_activity"]
MANAGE = [*WORK, "assign_lead", "delete_lead", "delete_opportunity", "delete_activity"]
CONFIGURE = [f"{verb}_{model}" for verb in ("add", "change", "delete") for model in ("pipeline", "stage", "lossreason")]

DEFAULT_GRANTS: dict[str, list[str]] = {
    "general_manager": [*MANAGE, *CONFIGURE],
    "sales_director": [*MANAGE, *CONFIGURE],
    "regional_manager": MANAGE,
    "area_manager": MANAGE,
    "supervisor": VIEW,
    "rep": [*WORK, "delete_activity"],
    "promoter": VIEW,
    "marketing": [*VIEW, "add_lead", "change_lead"],
    "service_agent": [*VIEW, "add_activity", "change_activity"],
    "administrator": [*MANAGE, *CONFIGURE],
}


def ensure_pipeline_permissions() -> int:
    """Grant the defaults to roles whose group has no pipeline permission. Returns how many."""
    from jinggeng.org.models import Role

    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="pipeline")}
    granted = 0
    for role in Role.objects.select_related("group"):
        names = DEFAULT_GRANTS.get(role.code)
        if not names or role.group.permissions.filter(content_type__app_label="pipeline").exists():
            continue
        role.group.permissions.add(*[perms[n] for n in names if n in perms])
        granted += 1
    return granted


def ensure_pipeline_permissions_after_migrate(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("using", "default") != "default":
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    create_permissions(apps.get_app_config("pipeline"), verbosity=0, using="default")
    ensure_pipeline_permissions()
