"""Model instances from hand-written SQL rows, for hot paths where the ORM's query building costs
more than the query itself (API-key verification runs on every machine request)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any, TypeVar

from django.db import OperationalError, connections, models, transaction

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


class StatementTimeout(Exception):
    """A statement ran past the bound `statement_timeout` set for it."""

    def __init__(self, seconds: int):
        super().__init__(f"took longer than {seconds} s")
        self.seconds = seconds


class _Bound:
    """What `statement_timeout` returns: leaving it removes SQLite's handler at once and turns the
    database's own timeout error (either vendor) into StatementTimeout."""

    def __init__(self, db: Any, seconds: int, deadline: float | None):
        self.db, self.seconds, self.deadline = db, seconds, deadline

    def __enter__(self) -> _Bound:
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
    """Bound every statement of the current transaction: a user's rule must not be able to hold
    the database (and, on SQLite, every other tenant's requests) for ever.

    PostgreSQL: its `statement_timeout`, local to the transaction. SQLite: a progress handler
    that interrupts a statement running past the deadline; it only acts inside the transaction
    it was set in. Use as `with statement_timeout(cursor, s):` around the statements, so that a
    statement past the bound raises StatementTimeout and SQLite's handler goes with the block.
    """
    db = cursor.db
    if db.vendor == "postgresql":
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(seconds)}s"])
        return _Bound(db, seconds, None)
    if db.vendor != "sqlite":
        return _Bound(db, seconds, None)
    deadline = time.monotonic() + seconds
    owner = db.atomic_blocks[-1] if db.atomic_blocks else None

    def past_deadline() -> bool:
        # Once the atomic block it was set in has ended (a caller that did not use `with`), a no-op.
        if owner is not None and not any(block is owner for block in db.atomic_blocks):
            return False
        return time.monotonic() >= deadline

    db.connection.set_progress_handler(past_deadline, _SQLITE_CHECK_EVERY)
    return _Bound(db, seconds, deadline)


def bounded_read(db: Any) -> AbstractContextManager[Any]:
    """The transaction a bounded read (`statement_timeout`) runs in: on PostgreSQL one, since its
    timeout is local to a transaction; on SQLite none, because its transactions here take the
    write lock at once (transaction_mode IMMEDIATE) and a rule's read must never hold writers."""
    if db.vendor == "sqlite":
        return nullcontext()
    return transaction.atomic(using=db.alias)
