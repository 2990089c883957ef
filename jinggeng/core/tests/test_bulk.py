"""Fast bulk inserts: ids reserved safely, values prepared by type, sequences stay correct."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jinggeng.core.bulk import allocate_ids, bulk_insert
from jinggeng.core.models import AuditLog


@pytest.mark.django_db
def test_bulk_insert_then_ordinary_create_never_collides(rep):
    first = AuditLog.objects.create(action="create", entity="x", entity_id="1")
    ids = allocate_ids(AuditLog, 3)
    assert ids[0] > first.pk and ids == list(range(ids[0], ids[0] + 3))
    at = timezone.make_aware(dt.datetime(2026, 5, 1, 8, 30))
    rows = [
        (i, at, rep.pk, "import", "customers.account", str(i), f"名称{i}", {"name": [None, f"名称{i}"]}, "导入")
        for i in ids
    ]
    columns = ["id", "at", "actor_id", "action", "entity", "entity_id", "entity_repr", "changes", "reason"]
    assert bulk_insert(AuditLog, columns, rows) == 3
    stored = AuditLog.objects.get(pk=ids[1])
    assert stored.changes == {"name": [None, f"名称{ids[1]}"]}
    assert stored.at == at and stored.actor == rep
    later = AuditLog.objects.create(action="create", entity="x", entity_id="2")
    assert later.pk > ids[-1]
    assert allocate_ids(AuditLog, 2)[0] > later.pk


def test_json_text_is_compact_unescaped_json_and_refuses_what_json_refuses():
    import json
    from decimal import Decimal

    from jinggeng.core.bulk import json_text

    value = {"name": [None, "上海惠民超市"], "n": 3, "x": 2.5, "ok": True, "tags": ["甲", "乙"]}
    text = json_text(value)
    assert json.loads(text) == value
    assert "上海" in text and " " not in text
    assert json.loads(json_text({"big": 2**70, 7: "k"})) == {"big": 2**70, "7": "k"}
    with pytest.raises(TypeError):
        json_text({"amount": Decimal("1.5")})
