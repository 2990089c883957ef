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
from django.db import connections
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


PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, answering one request at a time on SQLite.

    The in-memory SQLite test database has a single connection, which the server's threads
    share; two requests at once (a service worker fetches pages in parallel) break it with
    "bad parameter or other API misuse". A single-threaded server closes every connection
    after its answer, so the browser's requests queue instead. PostgreSQL keeps the threaded
    server: each thread has its own connection there."""
    import os

    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test import testcases
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    threaded = testcases.LiveServerThread

    class OneRequestAtATime(threaded):  # type: ignore[misc,valid-type]
        def _create_server(self, connections_override=None):  # type: ignore[no-untyped-def]
            return WSGIServer((self.host, self.port), testcases.QuietWSGIRequestHandler, allow_reuse_address=False)

    if connection.vendor == "sqlite":
        testcases.LiveServerThread = OneRequestAtATime  # LiveServer looks it up when it starts
    try:
        server = LiveServer(addr)
    finally:
        testcases.LiveServerThread = threaded
    yield server
    server.stop()


@pytest.fixture
def phone_browser(transactional_db, live_server, monkeypatch):
    """A headless Chromium page at 390×844 (a common phone), with a ``login(user)`` helper.
    Request it before the personas (``def test_x(phone_browser, rep)``).

    Uses the system Chromium (`make browser` installs Debian's package) driven by Playwright. A
    missing browser fails the test loudly rather than skipping it. The live server needs a
    transactional database; pytest-django runs such tests last, after others may have flushed
    the database, so roles, permissions and divisions are put back first."""
    import os
    import shutil

    from django.core.management.sql import emit_post_migrate_signal

    from jinggeng.org.models import Division

    emit_post_migrate_signal(0, False, "default")
    if not Division.objects.exists():
        divisions_load()

    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.fail("Chromium is not installed: run `make browser` (Debian's chromium package) or set CHROMIUM_PATH")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are
    # still synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
        )
        page = context.new_page()

        def login(user: AbstractBaseUser) -> None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies["sessionid"]
            context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])

        page.login = login  # type: ignore[attr-defined]
        page.base_url = live_server.url  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # The ORM calls made inside Playwright's context have their own connection (Django's
            # connections are per context); left open, the pool could not drop the test database.
            connections.close_all()


def page_overflow_px(page) -> int:
    """How far the page is wider than the phone screen (0 when nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
