"""A list of values as ONE query parameter (JSON text), for `IN` and for `INSERT ... SELECT`.

psycopg binds parameters on the client (Django's default), quoting each in Python: a list of
2,000 user ids costs about 19 ms a query to bind as 2,000 placeholders, 3.4 ms as an array, and
0.06 ms as one JSON text (measured with psycopg's ClientCursor.mogrify). PostgreSQL's and SQLite's
JSON functions unpack the list in the database. A placeholder per value also meets the
databases' parameter limits sooner. The real-time evaluator and ingestion's live queue pass
their users' lists this way.

- `values_sql()`: a subquery of the list's values, for `column IN (...)`.
- `rows_sql(columns)`: a subquery of the list's rows (each a JSON array), in list order.
- the `among` lookup: `User.objects.filter(user_id__among=ids)`, the ORM's form of the first.
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
    """The list as the one parameter `values_sql` and `rows_sql` read."""
    return json.dumps(list(values), separators=(",", ":"), default=str)


def values_sql(*, integer: bool = False, vendor: str | None = None) -> str:
    """`SELECT` of the JSON list parameter's values (text; bigint if `integer`)."""
    if (vendor or connection.vendor) == "postgresql":
        return "SELECT (jsonb_array_elements_text(%s::jsonb))" + ("::bigint" if integer else "")
    return "SELECT value FROM json_each(%s)"


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
        subquery = values_sql(integer=integer, vendor=connection.vendor)
        return f"{lhs} IN ({subquery})", [*lhs_params, json_param(self.rhs)]
