"""Factories for catalog records, and helpers for catalog personas."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import AbstractBaseUser

from jinggeng.catalog.models import Brand, Category, Product, ProductRole, ProductStatus, Sku
from jinggeng.org.models import OrgUnit
from jinggeng.org.tests.factories import make_employee


def grant_role(user: AbstractBaseUser) -> AbstractBaseUser:
    """Put ``user`` in the permission group of its employee role (idempotent).

    Roles carry their permissions as a Django group; a user gets them through membership.
    """
    employee = getattr(user, "employee", None)
    if employee is not None:
        user.groups.add(employee.role.group)  # type: ignore[attr-defined]
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        if hasattr(user, cache):
            delattr(user, cache)
    return user


def make_catalog_user(username: str, role_code: str, unit: OrgUnit, *, name: str = "") -> AbstractBaseUser:
    return grant_role(make_employee(username, role_code, unit, name=name or username).user)


def attach_category_path(category: Category) -> Category:
    category.path = (category.parent.path if category.parent else "/") + f"{category.pk}/"
    category.save(update_fields=["path"])
    return category


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n:03d}")
    name = factory.Sequence(lambda n: f"品牌{n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.Sequence(lambda n: f"品类{n}")
    parent = None

    @factory.post_generation
    def with_path(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            attach_category_path(self)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)
    role = ProductRole.MAIN
    status = ProductStatus.ACTIVE


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    code = factory.Sequence(lambda n: f"S{n:05d}")
    product = factory.SubFactory(ProductFactory)
    name = factory.Sequence(lambda n: f"SKU{n}")
    spec = "500ml"
    barcode = None
    piece_unit = "瓶"
    pack_unit = "提"
    case_unit = "箱"
    pieces_per_pack = 6
    packs_per_case = 4
    base_price = Decimal("3.50")
    status = ProductStatus.ACTIVE
