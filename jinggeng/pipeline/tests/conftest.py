from __future__ import annotations

import json

import pytest

from jinggeng.org.models import Division
from jinggeng.org.tests.factories import TerritoryFactory


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def shanghai_territory(org):
    """上海市 (province-level code) belongs to the 上海区域 unit."""
    return TerritoryFactory(
        code="T-SH", name="上海", org_unit=org.shanghai, divisions=[Division.objects.get(code="310000")]
    )
