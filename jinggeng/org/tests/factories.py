"""Factories for org records. Roles come from the defaults made after migrating."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission

from jinggeng.org.models import Employee, OrgUnit, OrgUnitKind, Role, Territory


def attach_path(unit: OrgUnit) -> OrgUnit:
    unit.path = (unit.parent.path if unit.parent else "/") + f"{unit.pk}/"
    unit.depth = unit.parent.depth + 1 if unit.parent else 0
    unit.save(update_fields=["path", "depth"])
    return unit


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"组织{n}")
    kind = OrgUnitKind.TEAM
    parent = None

    @factory.post_generation
    def with_path(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            attach_path(self)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-1234-word")


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    user = factory.SubFactory(UserFactory)
    code = factory.Sequence(lambda n: f"E{n:05d}")
    name = factory.Sequence(lambda n: f"员工{n}")
    role = factory.LazyFunction(lambda: Role.objects.get(code="rep"))
    org_unit = factory.SubFactory(OrgUnitFactory)
    phone = factory.Sequence(lambda n: f"138{n:08d}")


def make_employee(
    username: str, role_code: str, unit: OrgUnit, *, name: str = "", manager: Employee | None = None
) -> Employee:
    """An employee whose user belongs to the role's group (so has the role's permissions)."""
    user = UserFactory(username=username)
    role = Role.objects.select_related("group").get(code=role_code)
    user.groups.add(role.group)
    return EmployeeFactory(user=user, name=name or username, role=role, org_unit=unit, manager=manager)


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"T{n:04d}")
    name = factory.Sequence(lambda n: f"销售区域{n}")
    org_unit = factory.SubFactory(OrgUnitFactory)
    active = True

    @factory.post_generation
    def divisions(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and extracted:
            self.divisions.set(list(extracted))  # type: ignore[attr-defined,call-overload]


def grant(user: AbstractBaseUser, *perms: str) -> AbstractBaseUser:
    """Give ``user`` extra Django permissions; returns a fresh copy (no cached permissions)."""
    for name in perms:
        app_label, codename = name.split(".")
        user.user_permissions.add(  # type: ignore[attr-defined]
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)
