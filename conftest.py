"""Personas shared by every app's tests (after healthchecks' alice / bob / charlie).

    华东大区 (region)          华北大区 (region)
      └ 上海区域 (area)          └ 北京区域 (area)
          rep  (业务员, self)        outsider (大区经理 of 华北, subtree)
          teammate (业务员, self)
          area_manager (区域经理, subtree)
    general_manager at the company root (all)

`outsider` is the regional manager of another region: every endpoint and page is checked
against them (404, nothing changed).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from jinggeng.org.divisions import divisions_load
from jinggeng.org.models import OrgUnit, OrgUnitKind
from jinggeng.org.tests.factories import OrgUnitFactory, make_employee


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The real GB/T 2260 divisions are loaded once per test database."""
    with django_db_blocker.unblock():
        divisions_load()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    settings.API_TOKEN_CACHE_SECONDS = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class OrgTree:
    company: OrgUnit
    east: OrgUnit
    shanghai: OrgUnit
    north: OrgUnit
    beijing: OrgUnit


@pytest.fixture
def org(db) -> OrgTree:
    company = OrgUnitFactory(code="HQ", name="精耕食品总部", kind=OrgUnitKind.COMPANY)
    east = OrgUnitFactory(code="R-EAST", name="华东大区", kind=OrgUnitKind.REGION, parent=company)
    shanghai = OrgUnitFactory(code="A-SH", name="上海区域", kind=OrgUnitKind.AREA, parent=east)
    north = OrgUnitFactory(code="R-NORTH", name="华北大区", kind=OrgUnitKind.REGION, parent=company)
    beijing = OrgUnitFactory(code="A-BJ", name="北京区域", kind=OrgUnitKind.AREA, parent=north)
    return OrgTree(company=company, east=east, shanghai=shanghai, north=north, beijing=beijing)


@pytest.fixture
def general_manager(org: OrgTree) -> AbstractBaseUser:
    return make_employee("gm", "general_manager", org.company, name="王总").user


@pytest.fixture
def area_manager(org: OrgTree, general_manager: AbstractBaseUser) -> AbstractBaseUser:
    return make_employee("am", "area_manager", org.shanghai, name="李经理", manager=general_manager.employee).user


@pytest.fixture
def rep(org: OrgTree, area_manager: AbstractBaseUser) -> AbstractBaseUser:
    return make_employee("rep", "rep", org.shanghai, name="张三", manager=area_manager.employee).user


@pytest.fixture
def teammate(org: OrgTree, area_manager: AbstractBaseUser) -> AbstractBaseUser:
    return make_employee("mate", "rep", org.shanghai, name="李四", manager=area_manager.employee).user


@pytest.fixture
def outsider(org: OrgTree, general_manager: AbstractBaseUser) -> AbstractBaseUser:
    return make_employee(
        "rm_north", "regional_manager", org.north, name="赵经理", manager=general_manager.employee
    ).user


@pytest.fixture
def administrator(org: OrgTree) -> AbstractBaseUser:
    return make_employee("admin1", "administrator", org.company, name="管理员").user


@pytest.fixture
def client_for():
    """A logged-in test client for a persona: ``client_for(rep).get(...)``."""

    def make(user: AbstractBaseUser) -> Client:
        c = Client()
        c.force_login(user)
        return c

    return make
