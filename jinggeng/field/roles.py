"""The field-execution permissions of the default roles.

`jinggeng.org.roles.DEFAULT_ROLES` predates this app; the roles get these after migrating —
once: a role that already holds any ``field`` permission is left alone, so an administrator's
later changes stand. Other parts of the field app add the permissions they need here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction

MODELS = (
    "visitstandard",
    "route",
    "routestop",
    "routeproposal",
    "visit",
    "visitflag",
    "visitstep",
    "visitphoto",
    "stockcount",
    "suggestedorderline",
    "competitornote",
    "outletcoverage",
    "dailyreport",
    "visitaudit",
)


def _perms(verbs: tuple[str, ...], *models: str) -> list[str]:
    return [f"field.{verb}_{model}" for model in models for verb in verbs]


VIEW_ALL = _perms(("view",), *MODELS)
# What a rep does in the field: their routes and standards (read), their visits with steps,
# photos, stock counts, suggested orders, competitor notes, and their daily report.
REP = [
    *_perms(("view",), "visitstandard", "route", "routestop", "outletcoverage", "visitflag"),
    *_perms(("view", "add", "change"), "visit", "visitstep", "stockcount", "suggestedorderline", "competitornote"),
    *_perms(("view", "add", "change"), "dailyreport"),
    *_perms(("view", "add"), "visitphoto"),
]
# Managers of reps: everything a rep does, plus designing routes (with the optimiser's
# proposals, which they accept or reject) and supervisor audits.
MANAGE = sorted(
    {
        *REP,
        *VIEW_ALL,
        *_perms(("add", "change", "delete"), "route", "routestop"),
        *_perms(("add", "change"), "routeproposal", "visitaudit"),
    }
)
ALL = _perms(("view", "add", "change", "delete"), *MODELS)

FIELD_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "general_manager": ALL,
    "sales_director": ALL,
    "regional_manager": MANAGE,
    "area_manager": MANAGE,
    "supervisor": MANAGE,
    "rep": REP,
    "promoter": _perms(("view",), "visitstandard", "route", "routestop", "visit"),
    "marketing": _perms(("view",), "visitstandard", "visit", "stockcount", "competitornote", "outletcoverage"),
    "service_agent": _perms(("view",), "visitstandard", "route", "routestop", "visit", "outletcoverage"),
    "administrator": ALL,
}


@transaction.atomic
def grant_field_permissions() -> int:
    """Give each default role its field permissions unless it holds some already. Returns how
    many roles were given them."""
    from jinggeng.org.models import Role

    wanted = {p for perms in FIELD_ROLE_PERMISSIONS.values() for p in perms}
    by_name = {f"field.{perm.codename}": perm for perm in Permission.objects.filter(content_type__app_label="field")}
    missing = wanted - set(by_name)
    if missing:
        raise LookupError(f"permissions do not exist: {sorted(missing)}")
    granted = 0
    for role in Role.objects.select_related("group"):
        perms = FIELD_ROLE_PERMISSIONS.get(role.code)
        if not perms or role.group.permissions.filter(content_type__app_label="field").exists():
            continue
        role.group.permissions.add(*[by_name[p] for p in perms])
        granted += 1
    return granted


def grant_field_permissions_after_migrate(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("using", "default") != "default":
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    create_permissions(apps.get_app_config("field"), verbosity=0, using="default")
    grant_field_permissions()
