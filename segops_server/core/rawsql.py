"""Model instances from hand-written SQL rows, for hot paths where the ORM's query building costs
more than the query itself (API-key verification runs on every machine request)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any, TypeVar

from django.db import connection, connections, models, transaction

M = TypeVar("M", bound=models.Model)


def select_columns(model: type[models.Model], alias: str) -> str:
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


@cache
def _converters(model: type[models.Model], vendor: str, db: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[db]
    result = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        result.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))  # type: ignore[attr-defined]
    return result


def instance_from_row(model: type[M], values: Sequence[Any], db: str = "default") -> M:
    """What the ORM would build from `SELECT select_columns(model) ...`, converters applied."""
    connection = connections[db]
    converted = []
    for value, (col, converters) in zip(values, _converters(model, connection.vendor, db), strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(db, [f.attname for f in model._meta.concrete_fields], converted)


def statement_timeout(cursor: Any, seconds: int) -> None:
    """Bound every statement of the current transaction (PostgreSQL): a user's rule, a regular
    expression above all, must not be able to hold the database for ever."""
    if cursor.db.vendor == "postgresql":
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(seconds)}s"])


def read_transaction() -> AbstractContextManager[Any]:
    """A transaction for reads that need one (statement_timeout is local to a transaction on
    PostgreSQL); none on SQLite, where every transaction takes the file's one write lock
    (IMMEDIATE, settings.py), so a long read would stall every writer."""
    if connection.vendor == "sqlite":
        return nullcontext()
    return transaction.atomic()
