"""Catalog personas: the shared ones with their role permissions, plus marketing and a
distributor user. Each persona joins its role's permission group."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from jinggeng.catalog.tests.factories import grant_role, make_catalog_user


@pytest.fixture
def rep(rep):
    return grant_role(rep)


@pytest.fixture
def teammate(teammate):
    return grant_role(teammate)


@pytest.fixture
def area_manager(area_manager):
    return grant_role(area_manager)


@pytest.fixture
def outsider(outsider):
    return grant_role(outsider)


@pytest.fixture
def general_manager(general_manager):
    return grant_role(general_manager)


@pytest.fixture
def administrator(administrator):
    return grant_role(administrator)


@pytest.fixture
def marketing(org):
    return make_catalog_user("mkt", "marketing", org.company, name="市场小王")


@pytest.fixture
def distributor_user(org):
    return make_catalog_user("dist1", "distributor_user", org.shanghai, name="经销商小刘")


@pytest.fixture
def no_profile_user(db):
    """A login without an employee profile."""
    return get_user_model().objects.create_user(username="nobody", password="pass-1234-word")


class CatalogData:
    """A small catalog: 饮料 (DRINK) > 茶饮料 (TEA); brand JG; two products, three SKUs."""

    def __init__(self) -> None:
        from decimal import Decimal

        from jinggeng.catalog.models import ProductRole, ProductStatus
        from jinggeng.catalog.tests.factories import (
            BrandFactory,
            CategoryFactory,
            ProductFactory,
            SkuFactory,
        )

        self.brand = BrandFactory(code="JG", name="精耕")
        self.other_brand = BrandFactory(code="RIVAL", name="竞品", is_own=False)
        self.drink = CategoryFactory(code="DRINK", name="饮料")
        self.tea = CategoryFactory(code="TEA", name="茶饮料", parent=self.drink)
        self.snack = CategoryFactory(code="SNACK", name="零食")
        self.green_tea = ProductFactory(
            code="P-GT", name="绿茶", brand=self.brand, category=self.tea, role=ProductRole.IMAGE
        )
        self.water = ProductFactory(code="P-WATER", name="矿泉水", brand=self.brand, category=self.drink)
        self.old = ProductFactory(
            code="P-OLD",
            name="老款饼干",
            brand=self.brand,
            category=self.snack,
            status=ProductStatus.DISCONTINUED,
        )
        self.gt500 = SkuFactory(
            code="GT-500",
            product=self.green_tea,
            name="绿茶 500ml",
            barcode="6901234567892",
            pieces_per_pack=6,
            packs_per_case=4,
            base_price=Decimal("3.50"),
        )
        self.gt1l = SkuFactory(code="GT-1L", product=self.green_tea, name="绿茶 1L", status=ProductStatus.DISCONTINUED)
        self.water550 = SkuFactory(code="W-550", product=self.water, name="矿泉水 550ml")
        self.old_sku = SkuFactory(code="OLD-1", product=self.old, name="老款饼干 100g")


@pytest.fixture
def catalog(db):
    return CatalogData()
