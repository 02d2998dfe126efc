"""The pieces of SQL that read JSON properties and shift times, which each dialect writes its own way.

PostgreSQL and SQLite are here (the Compiler inherits them); clickhouse.py overrides each one.
Every piece has one meaning, which the condition types rely on whatever the dialect:

- `number_of`: a JSON number, or a string that is a plain decimal, as a number; else NULL.
- `text_of`: a JSON string as text; NULL for any other value and for a missing key.
- `is_set`: TRUE for any value but JSON null; FALSE or NULL when the key is missing or null.
- `is_boolean`: TRUE when the value is that JSON boolean; FALSE or NULL otherwise.
- `number_sum` / `number_count`: aggregates of `number_of` over a group's rows (those `within`
  holds for, if given): the exact sum (NULL or 0 over no numbers), and how many numbers.
"""

from __future__ import annotations

from typing import Any

from segops_server.segments.rules.conditions.sqltext import Sql, sql

# A plain decimal number in a string, as conditions.numbers.PLAIN_DECIMAL_RE (PostgreSQL regex syntax).
PG_PLAIN_DECIMAL = r"'^-?[0-9]+(\.[0-9]+)?$'"


class Dialect:
    """PostgreSQL's pieces when `pg`, else SQLite's (`base` is the JSON column's expression)."""

    pg: bool

    # The compiler's parameters (compiler.py).
    def param(self, value: Any, pg_type: str) -> Sql:
        raise NotImplementedError

    def text(self, value: str) -> Sql:
        raise NotImplementedError

    def key(self, name: str) -> Sql:
        # The name is from a safe character set, and still a parameter; SQLite takes a path.
        return self.text(name) if self.pg else self.text(f'$."{name}"')

    def number_of(self, base: str, name: str) -> Sql:
        k = self.key(name)
        if self.pg:
            return sql(
                "CASE jsonb_typeof({b} -> {k}) WHEN 'number' THEN ({b} -> {k})::numeric "
                "WHEN 'string' THEN CASE WHEN ({b} ->> {k}) ~ {re} THEN ({b} ->> {k})::numeric END END",
                b=base,
                k=k,
                re=PG_PLAIN_DECIMAL,
            )
        t = sql("json_extract({b}, {k})", b=base, k=k)
        # GLOB (no callback into Python): starts with a digit or -digit, ends with a digit,
        # only digits and dots after the first character, at most one dot.
        plain = sql(
            "({t} GLOB '[0-9]*' OR {t} GLOB '-[0-9]*') AND {t} GLOB '*[0-9]' "
            "AND substr({t}, 2) NOT GLOB '*[^0-9.]*' AND {t} NOT GLOB '*.*.*'",
            t=t,
        )
        return sql(
            "CASE json_type({b}, {k}) WHEN 'integer' THEN {t} WHEN 'real' THEN {t} "
            "WHEN 'text' THEN CASE WHEN {plain} THEN CAST({t} AS NUMERIC) END END",
            b=base,
            k=k,
            t=t,
            plain=plain,
        )

    def number_sum(self, base: str, name: str, within: Sql | None) -> Sql:
        value = _within(self.number_of(base, name), within)
        return sql("SUM({v})" if self.pg else "TOTAL({v})", v=value)

    def number_count(self, base: str, name: str, within: Sql | None) -> Sql:
        return sql("COUNT({v})", v=_within(self.number_of(base, name), within))

    def text_of(self, base: str, name: str) -> Sql:
        if self.pg:
            return sql(
                "CASE WHEN jsonb_typeof({b} -> {k}) = 'string' THEN {b} ->> {k} END", b=base, k=self.key(name)
            )
        return sql(
            "CASE WHEN json_type({b}, {k}) = 'text' THEN json_extract({b}, {k}) END", b=base, k=self.key(name)
        )

    def is_set(self, base: str, name: str) -> Sql:
        # The JSON type's name is 'null' for JSON null, NULL when the key is missing.
        if self.pg:
            return sql("jsonb_typeof({b} -> {k}) <> 'null'", b=base, k=self.key(name))
        return sql("json_type({b}, {k}) <> 'null'", b=base, k=self.key(name))

    def is_boolean(self, base: str, name: str, value: bool) -> Sql:
        word = "true" if value else "false"
        if self.pg:
            return sql("({b} -> {k}) = {w}", b=base, k=self.key(name), w=self.param(word, "jsonb"))
        return sql("json_type({b}, {k}) = {w}", b=base, k=self.key(name), w=self.text(word))

    def contains(self, text: Sql, part: Sql) -> Sql:
        return sql("strpos({t}, {v}) > 0" if self.pg else "instr({t}, {v}) > 0", t=text, v=part)

    def regex_match(self, text: Sql, pattern: Sql) -> Sql:
        # PostgreSQL's ~ (under statement_timeout); SQLite's REGEXP is RE2 (segments/rules/regex.py).
        return sql("{t} ~ {v}" if self.pg else "{t} REGEXP {v}", t=text, v=pattern)

    def days_before(self, moment: str, days: int) -> Sql:
        """The time `days` days before the column `moment`, to the microsecond."""
        if self.pg:
            return sql(
                "{m} - make_interval(secs => {d})", m=moment, d=self.param(days * 86_400, "double precision")
            )
        # Shift the date part only (UTC has no DST): text in, text out, no rounding.
        return sql(
            "(date(substr({m}, 1, 10), {d}) || substr({m}, 11))", m=moment, d=self.text(f"-{days} days")
        )


def _within(value: Sql, within: Sql | None) -> Sql:
    """The value on the rows `within` holds for, NULL on the others (which aggregates skip)."""
    return value if within is None else sql("CASE WHEN {w} THEN {v} END", w=within, v=value)
