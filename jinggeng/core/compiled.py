"""Hot read paths: a ``.values()`` query by primary keys, compiled by the ORM once and reused.

A list page loads its rows in two steps (see ``customers.selectors.account_list_values``): the
page's ids from a scoped, filtered, ordered query, then the columns to show for just those ids.
The second statement never changes except for the ids, yet building and compiling it through
the ORM (a ``.values()`` with a dozen related lookups) costs about 1.5 ms a request, as much as
the SQL itself. ``rows_by_pk`` asks the ORM for the statement once per model, field list and
number of ids, keeps the SQL text and the column converters, and afterwards only executes it.
``rows_where_in`` does the same for any integer key (an account's tags by ``account_id``).

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
    # (column position, converters, expression) as the compiler applies them
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@functools.lru_cache(maxsize=512)
def _statement(
    model: type[models.Model], fields: tuple[str, ...], key: str, count: int, alias: str
) -> _Statement | None:
    sample = list(range(1, count + 1))
    query = model._default_manager.using(alias).filter(**{f"{key}__in": sample}).values(*fields).query
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if list(params) != sample:  # the values are not the statement's only parameters: do not cache
        return None
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    expressions = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = tuple(
        (position, tuple(convs), expression)
        for position, (convs, expression) in compiler.get_converters(expressions).items()
    )
    return _Statement(sql=sql, names=names, converters=converters)


def rows_where_in(
    model: type[models.Model], fields: Sequence[str], key: str, values: Sequence[int], *, using: str = "default"
) -> list[dict[str, Any]]:
    """``list(model.objects.filter(<key>__in=values).values(*fields))`` from a statement compiled
    once per model, fields, key and number of values. ``key`` is a field holding integers (the
    primary key, a foreign key's ``_id``). Unordered. Apply scope before: this loads whatever it
    is given."""
    if not values:
        return []
    statement = _statement(model, tuple(fields), key, len(values), using)
    if statement is None:
        return list(model._default_manager.using(using).filter(**{f"{key}__in": list(values)}).values(*fields))
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, list(values))
        fetched = cursor.fetchall()
    names = statement.names
    result: list[dict[str, Any]] = []
    for raw in fetched:
        row = list(raw)
        for position, convs, expression in statement.converters:
            value = row[position]
            for convert in convs:
                value = convert(value, expression, connection)
            row[position] = value
        result.append(dict(zip(names, row, strict=True)))
    return result


def rows_by_pk(
    model: type[models.Model], fields: Sequence[str], ids: Sequence[int], *, using: str = "default"
) -> dict[int, dict[str, Any]]:
    """``{pk: row}`` for ``model.objects.filter(pk__in=ids).values(*fields)``; ``fields`` must
    include the primary key (by its name). Apply scope before: this loads whatever ids it is given."""
    pk_name = model._meta.pk.name if model._meta.pk is not None else "id"
    if pk_name not in fields:
        raise ValueError(f"rows_by_pk needs the primary key ({pk_name}) among the fields")
    return {row[pk_name]: row for row in rows_where_in(model, fields, "pk", ids, using=using)}
