"""Insert a few new rows of different tables at once.

The ingest path writes several rows per request. On Postgres a statement may carry
data-modifying CTEs (``WITH a AS (INSERT ...), b AS (INSERT ...) INSERT ...``), so the
rows go to the server in one statement: one round trip and one parse instead of one per
row, which is most of the time an ingest spends when the database is busy. The SQL of
each insert is Django's own (same columns, same value conversion as ``save()``); only
the statements are joined. Other databases get one insert per row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery


def insert_rows(objects: Sequence[Model], *, using: str = DEFAULT_DB_ALIAS,
                also: tuple[str, Sequence[Any]] | None = None) -> None:
    """Insert unsaved instances whose primary keys are already set (UUID defaults are).

    No model signals are sent and nothing is read back, as with ``bulk_create``. Call it
    inside the transaction the rows belong to. Foreign keys between the rows are fine:
    Django's are checked at commit.

    ``also``: one more data-modifying statement (SQL and parameters) that belongs to the same
    change, such as ``agents.live.bump_statement``'s. On Postgres it joins the statement as
    its first CTE; elsewhere it runs after the inserts, in the same transaction.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or len(objects) < 2:
        for obj in objects:
            type(obj)._default_manager.using(using).bulk_create([obj])
        if also is not None:
            with connection.cursor() as cursor:
                cursor.execute(also[0], list(also[1]))
        return
    plan = _plan(using, tuple(type(obj) for obj in objects))
    params = _plain_values(plan, objects, connection) if plan is not None else None
    if params is not None and plan is not None:
        sql = plan.sql
    else:
        sql, params = _compiled(objects, using)
    if also is not None:
        sql, params = _with_first(also[0], sql), [*also[1], *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = using


def _compiled(objects: Sequence[Model], using: str) -> tuple[str, list[Any]]:
    """The statement as Django's insert compiler writes it for these objects."""
    statements: list[str] = []
    params: list[Any] = []
    for obj in objects:
        query = InsertQuery(type(obj))
        query.insert_values(_insert_fields(type(obj)), [obj])
        [(sql, values)] = query.get_compiler(using=using).as_sql()
        statements.append(sql)
        params.extend(values)
    return _joined(statements), params


def _joined(statements: list[str]) -> str:
    """One statement: every insert but the last as a data-modifying CTE, then the last."""
    *leading, last = statements
    return "WITH " + ", ".join(f"row_{n} AS ({statement})" for n, statement in enumerate(leading)) + " " + last


@functools.lru_cache(maxsize=32)
def _with_first(first: str, joined: str) -> str:
    """``joined`` (``WITH row_0 AS (...), ... INSERT ...``) with ``first`` as its first CTE."""
    assert joined.startswith("WITH ")
    return f"WITH also AS ({first}), {joined[len('WITH '):]}"


def _insert_fields(model: type[Model]) -> list[Field]:
    return [field for field in model._meta.local_concrete_fields if not field.generated]


class _Plan:
    """One compiled statement for a sequence of models: the SQL and, per row, its fields."""

    def __init__(self, sql: str, fields: tuple[tuple[Field, ...], ...]) -> None:
        self.sql, self.fields = sql, fields


@functools.cache
def _plan(using: str, models: tuple[type[Model], ...]) -> _Plan | None:
    """The statement for rows of ``models``, compiled once (compiling it on every ingest
    cost a quarter of the request's CPU). None when a field's SQL could depend on its value
    (a custom placeholder or a database default): those rows are compiled each time."""
    per_model = tuple(tuple(_insert_fields(model)) for model in models)
    if any(getattr(field, "get_placeholder_sql", None) is not None or field.has_db_default()
           for fields in per_model for field in fields):
        return None
    statements = []
    for model, fields in zip(models, per_model, strict=True):
        query = InsertQuery(model)
        query.insert_values(list(fields), [model()])
        [(sql, _)] = query.get_compiler(using=using).as_sql()
        statements.append(sql)
    return _Plan(_joined(statements), per_model)


def _plain_values(plan: _Plan, objects: Sequence[Model], connection: Any) -> list[Any] | None:
    """The parameters in the plan's order, as the insert compiler prepares them; None when
    a value is an expression (it needs compiling)."""
    params: list[Any] = []
    for obj, fields in zip(objects, plan.fields, strict=True):
        for field in fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression") or hasattr(value, "as_sql"):
                return None
            params.append(field.get_db_prep_save(value, connection=connection))
    return params
