"""A list of values as ONE query parameter (one text), for `IN` and for `INSERT ... SELECT`.

psycopg binds parameters on the client (Django's default), quoting each in Python: a list of
2,000 user ids costs about 19 ms a query to bind as 2,000 placeholders, 3.4 ms as a Python list
(an array), and well under 0.1 ms as one text (measured with psycopg's ClientCursor.mogrify).
A placeholder per value also meets the databases' parameter limits sooner. The real-time
evaluator and ingestion's live queue pass their users' lists this way.

- `among_sql(column)` with `list_param(values)`: `column` is one of the values. On PostgreSQL the
  text is an array literal (`'{"a","b"}'::text[]`): a constant the planner sees whole, so it
  plans as with an array parameter (an index scan of the listed values). On SQLite it is JSON,
  unpacked by json_each.
- `rows_sql(columns)` with `json_param(rows)`: the rows of a JSON list (each a JSON array of
  values), in list order, as the source of an `INSERT ... SELECT` (read once, never joined).
- the `among` lookup: `Event.objects.filter(user_id__among=ids)`, the ORM's form of the first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.lookups import Lookup
from django.db.models.sql.compiler import SQLCompiler


def json_param(values: Iterable[Any]) -> str:
    """A list as one JSON text (what `rows_sql` and SQLite's `among_sql` read)."""
    return json.dumps(list(values), separators=(",", ":"), default=str)


def _array_element(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def list_param(values: Iterable[Any], *, vendor: str | None = None) -> str:
    """A list as the one parameter `among_sql` reads: an array literal on PostgreSQL (each
    element quoted, `\\` and `"` escaped), JSON on SQLite."""
    if (vendor or connection.vendor) == "postgresql":
        return "{" + ",".join(_array_element(value) for value in values) + "}"
    return json_param(values)


def among_sql(column: str, *, integer: bool = False, vendor: str | None = None) -> str:
    """`column` is one of the values of the `list_param` parameter (text; bigint if `integer`)."""
    if (vendor or connection.vendor) == "postgresql":
        return f"{column} = ANY(%s::{'bigint' if integer else 'text'}[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608


def rows_sql(columns: Sequence[tuple[str, str]]) -> str:
    """`SELECT` of the JSON list parameter's rows, each a JSON array of values in the order of
    `columns` ((name, PostgreSQL type) pairs), in the list's order."""
    if connection.vendor == "postgresql":
        picked = ", ".join(f"(e.value ->> {i})::{kind} AS {name}" for i, (name, kind) in enumerate(columns))
        elements = "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(value, n)"
        return f"SELECT {picked} FROM {elements} ORDER BY e.n"  # noqa: S608
    picked = ", ".join(f"json_extract(e.value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    return f"SELECT {picked} FROM json_each(%s) AS e ORDER BY e.key"  # noqa: S608


@models.Field.register_lookup
class Among(Lookup[Any]):
    """`field__among=values`: the field is one of `values`, the list passed as one parameter."""

    lookup_name = "among"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        integer = isinstance(self.lhs.output_field, models.IntegerField)
        sql = among_sql(lhs, integer=integer, vendor=connection.vendor)
        return sql, [*lhs_params, list_param(self.rhs, vendor=connection.vendor)]
