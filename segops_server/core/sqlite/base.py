"""Django's SQLite backend, with web requests' writes taken through the write gate (core/writelock.py).

settings.DATABASES names this backend for every SQLite database. Outside a server process (the
task worker, management commands, tests) the gate is off and it is Django's backend unchanged.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

from segops_server.core.writelock import gate, takes_write_lock


class GatedCursor(base.SQLiteCursorWrapper):
    """Statements that take the write lock outside a transaction (a BEGIN IMMEDIATE, an UPDATE in
    autocommit) wait for it through the gate; everything else runs as it is."""

    path = ""  # the database file, set by DatabaseWrapper.create_cursor

    def execute(self, query: str, params: Any = None) -> Any:
        if gate.enabled and not self.connection.in_transaction and takes_write_lock(query):
            with gate.turn(self.connection, self.path):
                return super().execute(query, params)
        try:
            return super().execute(query, params)
        finally:
            gate.end(self.connection)  # a COMMIT or ROLLBACK statement ends this thread's turn

    def executemany(self, query: str, param_list: Any) -> Any:
        if gate.enabled and not self.connection.in_transaction and takes_write_lock(query):
            with gate.turn(self.connection, self.path):
                return super().executemany(query, param_list)
        try:
            return super().executemany(query, param_list)
        finally:
            gate.end(self.connection)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if gate.enabled:
            params["timeout"] = gate.wait_seconds  # sqlite3's busy timeout, in seconds
        return params

    # A server thread's turn to write (core/writelock.py) lasts until its transaction ends.
    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # django-stubs leave it out
        finally:
            gate.end(self.connection)

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            gate.end(self.connection)

    def _close(self) -> None:
        db = self.connection
        try:
            super()._close()  # type: ignore[misc]
        finally:
            gate.end(db, closed=True)  # closing rolls back what was not committed

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=GatedCursor)
        cursor.path = str(self.settings_dict["NAME"])
        return cursor
