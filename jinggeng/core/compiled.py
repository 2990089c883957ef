"""Hot read paths: a ``.values()`` query by primary keys, compiled by the ORM once and reused.

A list page loads its rows in two steps (see ``customers.selectors.account_list_values``): the
page's ids from a scoped, filtered, ordered query, then the columns to show for just those ids.
The second statement never changes except for the ids, yet building and compiling it through
the ORM (a ``.values()`` with a dozen related lookups) costs about 1.5 ms a request, as much as
the SQL itself. ``rows_by_pk`` asks the ORM for the statement once per model, field list and
number of ids, keeps the SQL text and the column converters, and afterwards only executes it.

The SQL is still the ORM's: a schema change flows through on the next process start. Rows come
back exactly as ``Model.objects.filter(pk__in=ids).values(*fields)`` gives them (the same
backend and field converters run), which ``core/tests/test_fast_paths.py`` checks on both
databases.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models


@dataclass(frozen=True)
class _Statement:
    sql: str
    names: tuple[str, ...]
    pk_position: int
    # (column position, converters, expression) as the compiler applies them
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@functools.lru_cache(maxsize=512)
def _statement(model: type[models.Model], fields: tuple[str, ...], count: int, alias: str) -> _Statement | None:
    sample = list(range(1, count + 1))
    query = model._default_manager.using(alias).filter(pk__in=sample).values(*fields).query
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if list(params) != sample:  # the ids are not the statement's only parameters: do not cache
        return None
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    pk_name = model._meta.pk.name if model._meta.pk is not None else "id"
    if pk_name not in names and "pk" not in names:
        return None
    expressions = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = tuple(
        (position, tuple(convs), expression)
        for position, (convs, expression) in compiler.get_converters(expressions).items()
    )
    pk_position = names.index(pk_name) if pk_name in names else names.index("pk")
    return _Statement(sql=sql, names=names, pk_position=pk_position, converters=converters)


def rows_by_pk(
    model: type[models.Model], fields: Sequence[str], ids: Sequence[int], *, using: str = "default"
) -> dict[int, dict[str, Any]]:
    """``{pk: row}`` for ``model.objects.filter(pk__in=ids).values(*fields)``; ``fields`` must
    include the primary key. Apply scope before: this loads whatever ids it is given."""
    if not ids:
        return {}
    statement = _statement(model, tuple(fields), len(ids), using)
    if statement is None:
        rows = model._default_manager.using(using).filter(pk__in=list(ids)).values(*fields)
        pk_name = model._meta.pk.name if model._meta.pk is not None else "id"
        return {row[pk_name if pk_name in row else "pk"]: row for row in rows}
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, list(ids))
        fetched = cursor.fetchall()
    names = statement.names
    result: dict[int, dict[str, Any]] = {}
    for raw in fetched:
        row = list(raw)
        for position, convs, expression in statement.converters:
            value = row[position]
            for convert in convs:
                value = convert(value, expression, connection)
            row[position] = value
        result[row[statement.pk_position]] = dict(zip(names, row, strict=True))
    return result
