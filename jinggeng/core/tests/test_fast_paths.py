"""The API's fast paths give exactly what the plain ORM and ninja's own encoder give.

``core.compiled.rows_by_pk`` reuses a statement the ORM compiled once; ``core.api.JSONRenderer``
writes JSON with orjson; ``core.api.Row`` validates without ninja's per-field getter; the
account scope's queryset is built once per scope. Each is checked against the slow path it
replaces, on SQLite and on PostgreSQL (the suite runs on both).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext_lazy
from ninja.responses import NinjaJSONEncoder

from jinggeng.core.api import JSONRenderer
from jinggeng.core.compiled import _statement, rows_by_pk, rows_where_in
from jinggeng.customers.models import Account
from jinggeng.customers.schemas import AccountPage
from jinggeng.customers.selectors import LIST_VALUES, scoped_accounts
from jinggeng.customers.tests.factories import AccountFactory

FIELDS = (*LIST_VALUES, "created_at", "credit_limit")


@pytest.mark.django_db
def test_rows_by_pk_equals_the_orm_values_query(rep, teammate):
    made = [AccountFactory(owner=rep if i % 2 else teammate, credit_limit=Decimal("1234.50")) for i in range(7)]
    made.append(AccountFactory(owner=None, org_unit=made[0].org_unit, latitude=None, longitude=None))
    ids = [a.pk for a in reversed(made)]
    expected = {row["id"]: row for row in Account.objects.filter(pk__in=ids).values(*FIELDS)}

    got = rows_by_pk(Account, FIELDS, ids)

    assert got == expected
    assert set(got) == set(ids)
    sample = got[made[0].pk]
    assert isinstance(sample["latitude"], Decimal) and isinstance(sample["credit_limit"], Decimal)
    assert isinstance(sample["created_at"], dt.datetime) and sample["created_at"].tzinfo is not None
    assert got[made[-1].pk]["owner_id"] is None and got[made[-1].pk]["owner__employee__name"] is None


@pytest.mark.django_db
def test_rows_by_pk_compiles_once_per_length_and_runs_one_statement(rep):
    accounts = [AccountFactory(owner=rep) for _ in range(5)]
    ids = [a.pk for a in accounts]
    _statement.cache_clear()
    rows_by_pk(Account, FIELDS, ids[:3])
    rows_by_pk(Account, FIELDS, ids[2:5])
    rows_by_pk(Account, FIELDS, ids)
    info = _statement.cache_info()
    assert (info.misses, info.hits) == (2, 1)
    with CaptureQueriesContext(connection) as queries:
        assert set(rows_by_pk(Account, FIELDS, ids[1:4])) == set(ids[1:4])
    assert len(queries) == 1


@pytest.mark.django_db
def test_rows_by_pk_of_unknown_and_no_ids():
    assert rows_by_pk(Account, FIELDS, []) == {}
    assert rows_by_pk(Account, FIELDS, [987654321]) == {}
    with pytest.raises(ValueError, match="primary key"):
        rows_by_pk(Account, ("name",), [1])


@pytest.mark.django_db
def test_rows_where_in_a_foreign_key_equals_the_orm_values_query(rep):
    from jinggeng.customers.models import Tag

    first, second, bare = (AccountFactory(owner=rep) for _ in range(3))
    first.tags.add(Tag.objects.create(name="重点"), Tag.objects.create(name="新店"))
    second.tags.add(Tag.objects.get(name="重点"))
    through = Account.tags.through
    fields = ("account_id", "tag__name")
    for ids in ([first.pk], [first.pk, second.pk, bare.pk], [bare.pk]):
        expected = sorted(through.objects.filter(account_id__in=ids).values_list(*fields))
        got = sorted((r["account_id"], r["tag__name"]) for r in rows_where_in(through, fields, "account_id", ids))
        assert got == expected
    assert sorted(r["tag__name"] for r in rows_where_in(through, fields, "account_id", [first.pk])) == ["新店", "重点"]
    assert rows_where_in(through, fields, "account_id", []) == []


def test_renderer_writes_what_ninjas_encoder_writes():
    data = {
        "name": "上海浦东便利店",
        "amount": Decimal("12.30"),
        "at": dt.datetime(2026, 11, 25, 8, 30, 0, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 25),
        "label": gettext_lazy("全部"),
        "nested": [{"lat": Decimal("31.230400"), "n": 3, "ok": True, "none": None}],
        7: "int key",
    }
    ours = JSONRenderer().render(None, data, response_status=200)  # type: ignore[arg-type]
    theirs = json.dumps(data, cls=NinjaJSONEncoder)
    assert json.loads(ours) == json.loads(theirs)
    assert "上海浦东便利店".encode() in ours  # UTF-8, not \\u escapes
    assert b'"2026-11-25T08:30:00.123Z"' in ours and b'"12.30"' in ours


@pytest.mark.django_db
def test_account_page_schema_validates_the_rows_the_api_returns(client_for, rep):
    AccountFactory(owner=rep, name="甲店")
    AccountFactory(owner=rep, name="乙店", latitude=None, longitude=None)
    body = client_for(rep).get("/api/v1/customers/accounts").json()
    page = AccountPage.model_validate(body)
    assert [item.name for item in page.items] == sorted(["甲店", "乙店"])
    assert page.items[0].owner is not None and page.items[0].owner.id == rep.pk


@pytest.mark.django_db
def test_cached_scope_queryset_sees_new_rows_and_stays_per_scope(rep, teammate, area_manager):
    first = AccountFactory(owner=rep)
    assert list(scoped_accounts(rep).values_list("id", flat=True)) == [first.pk]
    second = AccountFactory(owner=rep)  # built after the scope's queryset was cached
    assert sorted(scoped_accounts(rep).values_list("id", flat=True)) == sorted([first.pk, second.pk])
    other = AccountFactory(owner=teammate)
    assert list(scoped_accounts(teammate).values_list("id", flat=True)) == [other.pk]
    assert sorted(scoped_accounts(area_manager).values_list("id", flat=True)) == sorted([first.pk, second.pk, other.pk])
