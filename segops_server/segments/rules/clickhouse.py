"""Segment definitions compiled to ClickHouse SQL: the same query shape as compiler.py, in
ClickHouse's dialect, over the engine's events table (events_engine/schema.py).

Every value from the definition is a server-side parameter `{pN:Type}` (sent apart from the text
by clickhouse-connect and chdb alike), so the text holds only our own names and constants.
Differences from the databases' dialects, each handled here:

- Numbers are `Decimal(38, 18)`, so sums and comparisons are exact like PostgreSQL's numeric; a
  payload number is read from its shortest text (`toString` of the JSON sub-column), as the
  databases read the JSON text.
- A LEFT JOIN fills missing rows with defaults unless `join_use_nulls = 1`, which the query sets:
  "no events of this type" must stay NULL.
- The query condition cache (ClickHouse 25.3+, on by default) is off for these queries: with
  `{pN:Type}` parameters it answered later queries from granules remembered for other values
  (seen on chDB 26.9: after one `event_property` rule, every other returned no users at all).
- A payload is a `JSON` column: a property is its subcolumn `payload.key` (the key an
  `Identifier` parameter; value_of says why not `getSubcolumn`), a Dynamic that is
  NULL for JSON null and a missing key alike (the same to every operator). An object has no value
  at its own key, only its leaf paths, so `is_set` looks for a path under `key.` (docs/architecture.md
  says what that cannot tell apart).
- An evaluation can count events that are not in the table (the sandbox's event, stored
  nowhere): `extra_events` are rows added to the table's by UNION ALL, each value a parameter,
  with ids above any stored one (so "latest" ties go to them, as to the next id stored).
- There is no profiles table: the users are the tenant's distinct event users, which is what
  the profiles are (one per user with an event), and their traits the payload of their latest
  identify event, which is what the profiles' properties are.

Condition types whose SQL is not written for ClickHouse yet are refused with
`EngineUnsupported`, never run in another dialect.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.ingestion.models import IDENTIFY_EVENT
from segops_server.segments.rules.compiler import Compiler, Scope
from segops_server.segments.rules.conditions import condition_type
from segops_server.segments.rules.conditions.sqltext import Sql, exact, joined, sql
from segops_server.segments.rules.dsl import DefinitionError, LookupDefinition, definition_validate

# The condition types this dialect compiles; the others raise EngineUnsupported.
SUPPORTED_TYPES = frozenset(
    {
        "event_count",
        "event_property",
        "event_sequence",
        "monetary",
        "recency",
        "segment_membership",
        "user_property",
    }
)

_TYPES = {
    "bigint": "Int64",
    "text": "String",
    "timestamptz": "DateTime64(6, 'UTC')",
    "numeric": "Decimal(38, 18)",
    "double precision": "Float64",
    # A payload key as the name of the JSON column's subcolumn (value_of): still a parameter.
    "identifier": "Identifier",
}

# A plain decimal number in a string, as conditions.numbers.PLAIN_DECIMAL_RE (RE2 syntax).
PLAIN_DECIMAL = r"'^-?[0-9]+(\\.[0-9]+)?$'"


# Every compiled query's settings (see the module's docstring).
QUERY_SETTINGS = "join_use_nulls = 1, use_query_condition_cache = 0"


class EngineUnsupported(DefinitionError):
    """A definition uses something the ClickHouse events engine does not evaluate yet: refused
    like an invalid definition (a 400 naming what), never run in another dialect."""


@dataclass(frozen=True)
class ExtraEvent:
    """An event evaluated as if stored (the sandbox's): its tenant is the compile's."""

    user_id: str
    event_type: str
    occurred_at: datetime
    payload_json: str
    anonymous_id: str | None = None


EXTRA_IDS_TO = 2**64 - 1  # extra events' ids end here, in their order: above any stored id


@dataclass(frozen=True)
class Param:
    """One server-side parameter: its name in the text, and its value."""

    name: str
    value: Any


def clickhouse_definition_compile(
    definition: dict[str, Any],
    *,
    tenant_id: int,
    now: datetime,
    lookup_definition: LookupDefinition,
    only_users: list[str] | None = None,
    extra_events: Sequence[ExtraEvent] = (),
    timeout_seconds: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """(sql, params) selecting the distinct user_id of the tenant's users matching `definition`,
    over the ClickHouse events table and `extra_events`; params by name, for the `{name:Type}`
    placeholders. `timeout_seconds`: the query's bound (ClickHouse's max_execution_time)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    definition = definition_validate(definition, lookup_definition=lookup_definition)
    compiler = ClickHouseCompiler(
        tenant_id=tenant_id,
        now=now.astimezone(UTC),
        lookup=lookup_definition,
        only_users=only_users,
        extra_events=extra_events,
    )
    query = compiler.query(definition, stack=())
    params: dict[str, Any] = {}
    for param in query.params:
        params[param.name] = param.value
    bound = "" if timeout_seconds is None else f", max_execution_time = {int(timeout_seconds)}"
    return f"{query.text} SETTINGS {QUERY_SETTINGS}{bound}", params


class ClickHouseCompiler(Compiler):
    """The compiler's pieces in ClickHouse's dialect (see the module's docstring)."""

    def __init__(
        self,
        *,
        tenant_id: int,
        now: datetime,
        lookup: LookupDefinition,
        only_users: list[str] | None = None,
        extra_events: Sequence[ExtraEvent] = (),
    ) -> None:
        super().__init__(
            vendor="clickhouse", tenant_id=tenant_id, now=now, lookup=lookup, only_users=only_users
        )
        self._names = itertools.count()
        self.events = self._events(extra_events)
        # The tenant filter is pushed into this subquery by ClickHouse (the outer WHERE has it).
        self.profiles = sql("(SELECT DISTINCT tenant_id, user_id FROM {events})", events=self.events)

    def _typed(self, value: Any, ch_type: str) -> Sql:
        name = f"p{next(self._names)}"
        return Sql(f"{{{name}:{ch_type}}}", (Param(name, value),))

    def _events(self, extra: Sequence[ExtraEvent]) -> str | Sql:
        """The table, or the table and `extra` rows (the last of them with the highest id)."""
        if not extra:
            return EVENTS_TABLE
        columns = ", ".join(EVENT_COLUMNS)
        rows = [
            sql(
                "SELECT {id} AS id, {tenant} AS tenant_id, {type} AS event_type, {user} AS user_id, "
                "{at} AS occurred_at, {at} AS received_at, {anonymous} AS anonymous_id, "
                "CAST({payload} AS JSON) AS payload",
                id=self._typed(EXTRA_IDS_TO - len(extra) + 1 + index, "UInt64"),
                tenant=self._typed(self.tenant_id, "UInt64"),
                type=self._typed(event.event_type, "String"),
                user=self._typed(event.user_id, "String"),
                at=self._typed(event.occurred_at.astimezone(UTC), "DateTime64(6, 'UTC')"),
                anonymous=(
                    Sql("CAST(NULL AS Nullable(String))")
                    if event.anonymous_id is None
                    else self._typed(event.anonymous_id, "Nullable(String)")
                ),
                payload=self._typed(event.payload_json, "String"),
            )
            for index, event in enumerate(extra)
        ]
        return sql(
            f"(SELECT {columns} FROM {EVENTS_TABLE} UNION ALL {{rows}})",  # noqa: S608 (our names)
            rows=joined(" UNION ALL ", rows),
        )

    def condition(self, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        kind = condition_type(condition.get("type"))
        if kind is not None and kind.name not in SUPPORTED_TYPES:
            raise EngineUnsupported(
                f"{kind.name} conditions are not evaluated on the clickhouse events engine yet"
            )
        return super().condition(condition, scope, stack)

    def param(self, value: Any, pg_type: str) -> Sql:
        array = pg_type.endswith("[]")
        ch_type = f"Array({_TYPES[pg_type[:-2]]})" if array else _TYPES[pg_type]
        name = f"p{next(self._names)}"
        return Sql(f"{{{name}:{ch_type}}}", (Param(name, value),))

    def time(self, value: datetime) -> Sql:
        return self.param(value.astimezone(UTC), "timestamptz")

    def number(self, value: int | float) -> Sql:
        return self.param(exact(value), "numeric")

    def one_of(self, subject: Sql, values: list[Any], pg_type: str, *, scale: Sql | None = None) -> Sql:
        """has(values, subject): the list as ONE array parameter (each times `scale`, if given)."""
        plain = [v.value if isinstance(v, Param) else v for v in values]
        if pg_type == "numeric":
            plain = [exact(v) if not isinstance(v, Decimal) else v for v in plain]
        array = self.param(plain, f"{pg_type}[]")
        if scale is not None:
            array = sql("arrayMap(x -> x * {s}, {a})", s=scale, a=array)
        return sql("has({a}, {s})", a=array, s=subject)

    def key(self, name: str) -> Sql:
        return self.text(name)

    def value_of(self, base: str, name: str) -> Sql:
        """The payload's value at the key: a Dynamic, NULL for JSON null and a missing key.

        Written `payload.{key:Identifier}`, the path's own subcolumn, which is all ClickHouse then
        reads; `getSubcolumn(payload, key)` is the same value but reads the whole JSON column
        (every path of the events read) first: High-Value Churners on 1M events took about 1.25
        times the CPU that way with one-key payloads, and more keys cost more. A key is of
        letters, digits, `_` and `-` (property_name), which an Identifier parameter takes as one
        name: the text holds no value from the definition."""
        return sql("{b}.{k}", b=base, k=self.param(name, "identifier"))

    def number_of(self, base: str, name: str) -> Sql:
        """The number's exact value, as the databases read the JSON text: an amount in cents by
        arithmetic (`_cents`), any other number from its shortest text (toString), which costs
        about as much again as a Float64 sum. `if` reads the text only for the rows that need it."""
        cents, exact = self._cents(base, name)
        return sql("if({c}, {e}, {t})", c=cents, e=exact, t=self._number_text(base, name))

    def _number_text(self, base: str, name: str) -> Sql:
        """A JSON number, or a string that is a plain decimal, read from its text; else NULL."""
        value = self.value_of(base, name)
        read = sql("toDecimal128OrNull(toString({v}), 18)", v=value)
        return sql(
            "multiIf(dynamicType({v}) IN ('Int64', 'UInt64', 'Float64'), {read}, "
            "dynamicType({v}) = 'String' AND match(toString({v}), {re}), {read}, NULL)",
            v=value,
            read=read,
            re=PLAIN_DECIMAL,
        )

    def number_sum(self, base: str, name: str, within: Sql | None) -> Sql:
        """sum(number_of), with no NULL to track (a row that is no number adds 0)."""
        cents, exact = self._cents(base, name)
        row = sql("if({c}, {e}, ifNull({t}, 0))", c=cents, e=exact, t=self._number_text(base, name))
        if within is None:
            return sql("sum({r})", r=row)
        return sql("sumIf({r}, {w})", r=row, w=within)

    def number_count(self, base: str, name: str, within: Sql | None) -> Sql:
        cents, _ = self._cents(base, name)
        numbers = sql("({c} OR isNotNull({t}))", c=cents, t=self._number_text(base, name))
        return sql("countIf({x})", x=numbers if within is None else sql("{x} AND {w}", x=numbers, w=within))

    def _cents(self, base: str, name: str) -> tuple[Sql, Sql]:
        """(cents, exact): whether the value is an amount in cents, and then its exact value.

        A Float64 x is in cents when |x| < 1e13 and c = round(x * 100) gives c / 100 = x (a
        division rounded to the nearest double): then the decimal c/100 reads back as x, and it
        is the only decimal of at most two places that does (below 2^46 adjacent doubles are
        under 0.01 apart, so at most one such decimal rounds to x; at 2^46 and above two can), so
        x's shortest text, which has no more places, is c/100 too. An Int64 i below 1e13 is a
        Float64 exactly (below 2^53), with c = 100i. So the value is c/100, an Int64 times a
        constant, with no text (High-Value Churners on 10M events in cents: about 1.2 times the
        hand-written Float64 sum, against about 1.45 with a Decimal division per row)."""
        value = self.value_of(base, name)
        number = sql(
            "coalesce(dynamicElement({v}, 'Float64'), toFloat64(dynamicElement({v}, 'Int64')))", v=value
        )
        x = sql("assumeNotNull({n})", n=number)  # 0 where NULL, which `cents` then excludes
        c = sql("round({x} * 100)", x=x)
        cents = sql("(isNotNull({n}) AND abs({x}) < 1e13 AND {c} / 100 = {x})", n=number, x=x, c=c)
        # c * 10^16 at scale 18 is c / 100: two multiplications, no Decimal division.
        exact = sql("toDecimal128(toInt64({c}), 16) * toDecimal32('0.01', 2)", c=c)
        return cents, exact

    def text_of(self, base: str, name: str) -> Sql:
        return sql("dynamicElement({v}, 'String')", v=self.value_of(base, name))

    def is_set(self, base: str, name: str) -> Sql:
        # An object is stored as its leaf paths (`plan.tier`), not at its own key: it is set
        # when it has one (so an empty object, or one of nulls only, reads as not set).
        return sql(
            "(dynamicType({v}) <> 'None' "
            "OR arrayExists(p -> startsWith(p, concat({k}, '.')), JSONAllPaths({b})))",
            v=self.value_of(base, name),
            k=self.key(name),
            b=base,
        )

    def is_boolean(self, base: str, name: str, value: bool) -> Sql:
        word = "true" if value else "false"  # our constant, not the definition's text
        return sql(f"(dynamicElement({{v}}, 'Bool') = {word})", v=self.value_of(base, name))

    def contains(self, text: Sql, part: Sql) -> Sql:
        return sql("position({t}, {v}) > 0", t=text, v=part)

    def regex_match(self, text: Sql, pattern: Sql) -> Sql:
        return sql("match({t}, {v})", t=text, v=pattern)  # RE2, as segments/rules/regex.py

    def days_before(self, moment: str, days: int) -> Sql:
        # DateTime64 arithmetic keeps the microseconds; UTC has no DST, so a day is 86,400 s.
        return sql("subtractDays({m}, {d})", m=moment, d=self.param(days, "bigint"))

    def traits(self, scope: Scope) -> str:
        # A profile's properties are the payload of the user's latest identify event, by
        # occurred_at and then arrival (ingestion/storage.py), which this table holds: its
        # latest event of that type is the profile's properties, with no profiles to copy.
        return f"{self.latest_of(scope, IDENTIFY_EVENT)}.payload"

    def latest_sql(self, event_type: str) -> Sql:
        """Each user's most recent event of a type: latest occurred_at, then the highest id."""
        return sql(
            "SELECT user_id, payload {events} ORDER BY user_id, occurred_at DESC, id DESC LIMIT 1 BY user_id",
            events=self.of_type(event_type),
        )
