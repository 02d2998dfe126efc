"""How SQL reaches ClickHouse: a server through clickhouse-connect, or chdb in this process.

Everything above this module (schema, the compiled rules, reading results) is one code path for
both; a transport only carries a statement with its server-side parameters (`{name:Type}` in the
text, values apart, so no value is ever pasted into SQL) and brings back rows as Python tuples.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

Params = dict[str, Any]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Transport(Protocol):
    """The three things the engine asks of ClickHouse."""

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing (DDL, ALTER, DELETE)."""

    def query(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Run a SELECT; its rows as tuples, in the columns' order."""

    def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *, token: str | None = None
    ) -> None:
        """Insert rows in one block. With `token`, a block inserted again with the same token is
        dropped by ClickHouse (insert deduplication), which makes a retried batch harmless."""

    def close(self) -> None:
        """Release the connection."""


def param_text(value: Any, *, nested: bool = False) -> str:
    """A value in ClickHouse's text form for a query parameter (chdb takes only strings).

    At the top level a string is its raw text; inside an array it is quoted, with `\\` and `'`
    escaped, so an array of any strings parses back to exactly those strings."""
    if isinstance(value, str):
        if not nested:
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return f"'{text}'" if nested else text
    if isinstance(value, list | tuple):
        return "[" + ",".join(param_text(v, nested=True) for v in value) + "]"
    raise TypeError(f"no ClickHouse parameter form for {type(value).__name__}")


def identifiers(names: Sequence[str]) -> list[str]:
    """Our own table and column names, refused unless plain identifiers (they go in SQL text)."""
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not an identifier: {name!r}")
    return list(names)


class ChdbTransport:
    """ClickHouse in this process (chdb), its data in one directory.

    chdb keeps one session per process and its queries are not meant to interleave, so one lock
    serialises them; a process opens the directory once (engine.py keeps the transport)."""

    def __init__(self, path: str) -> None:
        from chdb import session  # an optional extra: imported only when this engine is used

        self.path = path
        self._session = session.Session(path)
        self._lock = threading.Lock()

    def _run(self, sql: str, params: Params | None, fmt: str) -> Any:
        text_params = {k: param_text(v) for k, v in (params or {}).items()}
        with self._lock:
            return self._session.query(sql, fmt, params=text_params)

    def command(self, sql: str, params: Params | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        import pyarrow as pa

        # The Arrow file read here, not chdb's "ArrowTable" format, which imports pandas for it:
        # seconds on a process's first query (a server worker's first compute), for nothing.
        result = self._run(sql, params, "Arrow")
        if len(result) == 0:
            return []
        table = pa.RecordBatchFileReader(result.get_memview().view()).read_all()
        columns = [column.to_pylist() for column in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *, token: str | None = None
    ) -> None:
        import pyarrow as pa

        if not rows:
            return
        # chdb's Python() table function reads this local variable by its name.
        segops_insert_block = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
        settings = " SETTINGS insert_deduplication_token={token:String}" if token is not None else ""
        # The table and column names are the engine's own (schema.py), checked to be identifiers.
        names = identifiers([table, *columns])
        self._run(
            f"INSERT INTO {names[0]} ({', '.join(names[1:])}){settings} "  # noqa: S608
            "SELECT * FROM Python(segops_insert_block)",
            {"token": token} if token is not None else None,
            "CSV",
        )
        del segops_insert_block

    def close(self) -> None:
        with self._lock:
            self._session.close()


class HttpTransport:
    """A ClickHouse server (or a cluster's entry point) through the official clickhouse-connect."""

    def __init__(self, url: str) -> None:
        import clickhouse_connect  # an optional extra: imported only when this engine is used

        parts = urlsplit(url)
        database = parts.path.strip("/") or "default"
        self._client = clickhouse_connect.get_client(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=database,
            secure=parts.scheme == "https",
        )

    def command(self, sql: str, params: Params | None = None) -> None:
        self._client.command(sql, parameters=params or None)

    def query(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        result = self._client.query(sql, parameters=params or None)
        return [tuple(row) for row in result.result_rows]

    def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], *, token: str | None = None
    ) -> None:
        if not rows:
            return
        settings = {"insert_deduplication_token": token} if token is not None else None
        self._client.insert(table, list(rows), column_names=list(columns), settings=settings)

    def close(self) -> None:
        self._client.close()


def transport_open(url: str) -> Transport:
    """The transport a SEGOPS_CLICKHOUSE_URL names: chdb://<directory> or http(s)://..."""
    scheme = urlsplit(url).scheme
    if scheme == "chdb":
        path = url[len("chdb://") :]
        if not path:
            raise ValueError("chdb:// needs a directory: chdb://<directory>")
        return ChdbTransport(path)
    if scheme in ("http", "https"):
        return HttpTransport(url)
    raise ValueError(f"unsupported ClickHouse URL scheme {scheme!r} (http, https or chdb)")
