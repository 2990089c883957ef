"""Fast inserts of many rows: COPY on PostgreSQL, one prepared statement on SQLite.

Django's ``bulk_create`` builds a large SQL statement in Python for every batch, which costs
more than the database's own work for imports of 100,000 rows. These helpers take rows as
tuples of column values (attnames such as ``owner_id``), prepare each column's values once
by field type, and hand them to the database in its fastest bulk path. Ids are allocated
safely first (PostgreSQL: from the table's sequence; SQLite: writers are serialised by the
IMMEDIATE transaction lock), so related rows can refer to them. Call inside a transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, models

Row = Sequence[Any]


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys for ``model``'s table, reserved for the caller."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None and pk.column is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk.column, count]
            )
            return [int(row[0]) for row in cursor.fetchall()]
        quoted = connection.ops.quote_name(table)
        cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(pk.column)}), 0) FROM {quoted}")  # noqa: S608
        top = int(cursor.fetchone()[0])
        if connection.vendor == "sqlite":
            # AUTOINCREMENT tables never reuse an id: start past the highest ever handed out.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            seq = cursor.fetchone()
            if seq is not None:
                top = max(top, int(seq[0]))
        return list(range(top + 1, top + 1 + count))


def json_text(value: Any) -> str:
    """A JSON document as compact text. orjson writes it (several times faster than ``json``,
    which matters for one audit record per imported row); what orjson refuses (integers beyond
    64 bits, non-text keys) goes through ``json``, which refuses what is not JSON at all."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _converter(field: models.Field[Any, Any], postgres: bool) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json_text(v)
    if postgres:
        return None  # psycopg adapts Decimal, datetime, date, bool and UUID itself
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else str(v if isinstance(v, Decimal) else Decimal(str(v)))
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda v: None if v is None else adapt(v)
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(field, models.UUIDField):
        return lambda v: None if v is None else (v.hex if isinstance(v, uuid.UUID) else str(v))
    return None


def bulk_insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[Row]) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``model``'s table."""
    if not rows:
        return 0
    postgres = connection.vendor == "postgresql"
    fields = {f.attname: f for f in model._meta.concrete_fields}
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for i, c in enumerate(columns):
        conv = _converter(fields[c], postgres)
        if conv is not None:
            converters.append((i, conv))

    def prepared(row: Row) -> list[Any]:
        values = list(row)
        for i, conv in converters:
            values[i] = conv(values[i])
        return values

    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(fields[c].column or c) for c in columns)
    with connection.cursor() as cursor:
        if postgres:
            with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", [prepared(r) for r in rows])  # noqa: S608
    return len(rows)
