"""Fast writes for the demo: COPY on PostgreSQL, one prepared INSERT elsewhere
(`jinggeng.core.bulk.bulk_insert`). Values are written as given: ``auto_now`` /
``auto_now_add`` fields keep the demo's back-dated times (orders placed months ago).

Rows are tuples of column values in the order of ``columns`` (attnames such as ``owner_id``).
Ids are allocated here, not by the database, so related rows (contacts, links, audit records)
can be generated before their parents are written; the PostgreSQL sequences are moved past the
ids used when the build finishes (`sync_sequences`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from jinggeng.core.bulk import bulk_insert


class BulkWriter:
    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self._next_id: dict[type[models.Model], int] = {}
        self.written: dict[str, int] = {}

    def next_id(self, model: type[models.Model]) -> int:
        """A fresh primary key for ``model`` (ids follow the table's current maximum)."""
        if model not in self._next_id:
            top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
            self._next_id[model] = int(top) + 1
        value = self._next_id[model]
        self._next_id[model] = value + 1
        return value

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        bulk_insert(model, columns, rows)
        label = model._meta.label_lower
        self.written[label] = self.written.get(label, 0) + len(rows)

    def sync_sequences(self) -> None:
        """Move each PostgreSQL id sequence past the largest id written."""
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for model in self._next_id:
                table = model._meta.db_table
                pk = model._meta.pk
                assert pk is not None and pk.column is not None
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608
                    f"GREATEST((SELECT COALESCE(MAX({connection.ops.quote_name(pk.column)}), 0) "
                    f"FROM {connection.ops.quote_name(table)}), 1))",
                    [table, pk.column],
                )
