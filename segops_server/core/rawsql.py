"""Model instances from hand-written SQL rows, for hot paths where the ORM's query building costs
more than the query itself (API-key verification runs on every machine request)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any, TypeVar

from django.db import OperationalError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)


def select_columns(model: type[models.Model], alias: str) -> str:
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


@cache
def _converters(model: type[models.Model], vendor: str, db: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[db]
    result = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        # Field.get_db_converters is Django's (django-stubs leaves it out).
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


def value_from_db(model: type[models.Model], field_name: str, value: Any, db: str = "default") -> Any:
    """What the ORM would make of `value` read from `model`'s column for `field_name` (say, a
    MAX() of it), converters applied."""
    connection = connections[db]
    fields = model._meta.concrete_fields
    index = next(i for i, field in enumerate(fields) if field.name == field_name)
    col, converters = _converters(model, connection.vendor, db)[index]
    for converter in converters:
        value = converter(value, col, connection)
    return value


class StatementTimeout(Exception):
    """A statement ran past the bound `statement_timeout` set for it."""

    def __init__(self, seconds: int):
        super().__init__(f"took longer than {seconds} s")
        self.seconds = seconds


class _Bound:
    """What `statement_timeout` returns. Entering it starts SQLite's deadline; leaving it removes
    the handler and turns either database's own timeout error into StatementTimeout."""

    def __init__(self, db: Any, seconds: int):
        self.db, self.seconds = db, seconds
        self.deadline: float | None = None

    def __enter__(self) -> _Bound:
        if self.db.vendor == "sqlite":
            deadline = self.deadline = time.monotonic() + self.seconds
            self.db.connection.set_progress_handler(lambda: time.monotonic() >= deadline, _SQLITE_CHECK_EVERY)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if self.deadline is not None and self.db.connection is not None:
            self.db.connection.set_progress_handler(None, 0)
        if isinstance(exc, OperationalError) and self._timed_out(exc):
            raise StatementTimeout(self.seconds) from None

    def _timed_out(self, exc: OperationalError) -> bool:
        if self.deadline is None:
            return "statement timeout" in str(exc)
        return "interrupted" in str(exc) and time.monotonic() >= self.deadline


# SQLite calls the handler every this many virtual-machine instructions (~a millisecond).
_SQLITE_CHECK_EVERY = 10_000


def statement_timeout(cursor: Any, seconds: int) -> _Bound:
    """Bound statements: a user's rule must not be able to hold the database (and, on SQLite,
    every other tenant's requests) for ever. Use as `with statement_timeout(cursor, s):` around
    the statements; one past the bound raises StatementTimeout.

    PostgreSQL: its `statement_timeout`, set at once and local to the current transaction (so
    calling this without `with` still bounds it, as before). SQLite: a progress handler that
    interrupts a statement past the deadline, only inside the `with` block (a handler left
    behind would interrupt whatever the connection runs later).
    """
    db = cursor.db
    if db.vendor == "postgresql":
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(seconds)}s"])
    return _Bound(db, seconds)


def bounded_read(db: BaseDatabaseWrapper) -> AbstractContextManager[Any]:
    """The transaction a bounded read (`statement_timeout`) runs in: on PostgreSQL one, since its
    timeout is local to a transaction; on SQLite none, because its transactions here take the
    write lock at once (transaction_mode IMMEDIATE) and a rule's read must never hold writers."""
    if db.vendor == "sqlite":
        return nullcontext()
    return transaction.atomic(using=db.alias)
