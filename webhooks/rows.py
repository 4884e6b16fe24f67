"""Insert a few new rows of different tables at once.

The ingest path writes several rows per request. On Postgres a statement may carry
data-modifying CTEs (``WITH a AS (INSERT ...), b AS (INSERT ...) INSERT ...``), so the
rows go to the server in one statement: one round trip and one parse instead of one per
row, which is most of the time an ingest spends when the database is busy. The SQL of
each insert is Django's own (same columns, same value conversion as ``save()``); only
the statements are joined. Other databases get one insert per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


def insert_rows(objects: Sequence[Model], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert unsaved instances whose primary keys are already set (UUID defaults are).

    No model signals are sent and nothing is read back, as with ``bulk_create``. Call it
    inside the transaction the rows belong to. Foreign keys between the rows are fine:
    Django's are checked at commit.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or len(objects) < 2:
        for obj in objects:
            type(obj)._default_manager.using(using).bulk_create([obj])
        return
    statements: list[str] = []
    params: list[Any] = []
    for obj in objects:
        query = InsertQuery(type(obj))
        query.insert_values([field for field in obj._meta.local_concrete_fields if not field.generated], [obj])
        [(sql, values)] = query.get_compiler(using=using).as_sql()
        statements.append(sql)
        params.extend(values)
    *leading, last = statements
    sql = "WITH " + ", ".join(f"row_{n} AS ({statement})" for n, statement in enumerate(leading)) + " " + last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for obj in objects:
        obj._state.adding = False
        obj._state.db = using
