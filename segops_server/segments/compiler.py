"""Segment definitions compiled to one parameterised SQL query, for PostgreSQL or SQLite.

The query returns one column, `user_id`, once per matching user of the tenant. Every value
from the definition (event types, property names, numbers, strings, patterns, times) travels
as a `%s` parameter; the SQL text holds only our own table names, aliases and constants.

Shape: the universe (the tenant's profiles: every user with an event) LEFT JOINed to one
grouped subquery per event type (counts, sums, last times: one scan and GROUP BY whatever the
number of conditions on that type) and one "latest event" subquery per event type for
event_property; sequences and segment references are semi-joins. When the top level is an AND
with a condition that needs the user to have such events (a sum >= 500, a count >= 1), that
event type's grouped subquery drives the query instead of the profiles, which is what a
hand-written GROUP BY ... HAVING does.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from string import Formatter
from typing import Any

from segops_server.ingestion.models import Event, UserProfile
from segops_server.segments import reference
from segops_server.segments.dsl import DefinitionError, LookupDefinition, definition_validate, positive

EVENTS = Event._meta.db_table
PROFILES = UserProfile._meta.db_table
AGGREGATED = ("event_count", "recency", "monetary")
# A plain decimal number in a string, as reference.PLAIN_DECIMAL_RE (PostgreSQL regex syntax).
PG_PLAIN_DECIMAL = r"'^-?[0-9]+(\.[0-9]+)?$'"


@dataclass(frozen=True)
class Sql:
    """A piece of SQL text with its parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()


_formatter = Formatter()


def sql(template: str, **parts: Sql | str) -> Sql:
    """Fill `{name}` fields with pieces (their params follow in order) or with our own names.

    Plain strings are inserted as text, so they must be ours (aliases, table names); values
    from a definition always arrive as Sql pieces holding a placeholder. `{events}` and
    `{profiles}` are the tables.
    """
    parts = {"events": EVENTS, "profiles": PROFILES, **parts}
    text: list[str] = []
    params: list[Any] = []
    for literal, name, _, _ in _formatter.parse(template):
        text.append(literal)
        if name is None:
            continue
        part = parts[name]
        if isinstance(part, Sql):
            text.append(part.text)
            params.extend(part.params)
        else:
            text.append(part)
    return Sql("".join(text), tuple(params))


def _exact(value: int | float) -> Decimal:
    """numeric is exact: a float as its shortest repr, as JSON carries it ("0.1")."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def joined(separator: str, pieces: list[Sql]) -> Sql:
    return Sql(
        separator.join(p.text for p in pieces), tuple(itertools.chain.from_iterable(p.params for p in pieces))
    )


def definition_compile(
    definition: dict[str, Any],
    *,
    tenant_id: int,
    vendor: str,
    now: datetime,
    lookup_definition: LookupDefinition,
) -> tuple[str, list[Any]]:
    """(sql, params) selecting the distinct user_id of the tenant's users matching `definition`."""
    if vendor not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported database vendor {vendor!r}")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    definition = definition_validate(definition, lookup_definition=lookup_definition)
    compiler = _Compiler(
        vendor=vendor, tenant_id=tenant_id, now=now.astimezone(UTC), lookup=lookup_definition
    )
    query = compiler.query(definition, stack=())
    return query.text, list(query.params)


@dataclass
class _Group:
    """One grouped subquery over one event type: its aggregates, deduplicated."""

    alias: str
    event_type: str
    aggregates: dict[Sql, str] = field(default_factory=dict)
    # The window start of each aggregate (None: all time); all windowed -> filter the scan.
    starts: list[datetime | None] = field(default_factory=list)


@dataclass
class _Scope:
    """The query being built: who the users are, and the subqueries joined to them."""

    users: str  # the alias whose user_id is the user (the profiles, or the driving group)
    profiles: str  # the alias of the profiles (the same as `users` unless a group drives)
    driver: _Group | None = None
    needs_profiles: bool = False
    groups: dict[str, _Group] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)


class _Compiler:
    def __init__(self, *, vendor: str, tenant_id: int, now: datetime, lookup: LookupDefinition) -> None:
        self.pg = vendor == "postgresql"
        self.tenant_id = tenant_id
        self.now = now
        self.lookup = lookup
        self._aliases = itertools.count(1)

    # ---- parameters: a placeholder per value; PostgreSQL gets explicit types, so the query
    # ---- also runs with untyped (text) parameters, as psycopg sends them from other clients.

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self._aliases)}"

    def param(self, value: Any, pg_type: str) -> Sql:
        return Sql(f"%s::{pg_type}" if self.pg else "%s", (value,))

    def tenant(self) -> Sql:
        return self.param(self.tenant_id, "bigint")

    def text(self, value: str) -> Sql:
        return self.param(value, "text")

    def time(self, value: datetime) -> Sql:
        if self.pg:
            return self.param(value, "timestamptz")
        # Django's SQLite format: naive UTC, 'YYYY-MM-DD HH:MM:SS[.ffffff]'; compared as text.
        return Sql("%s", (value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "),))

    def of_type(self, event_type: str) -> Sql:
        """The FROM and WHERE of one tenant's events of one type (the index's leading columns)."""
        return sql(
            "FROM {events} WHERE tenant_id = {tenant} AND event_type = {type}",
            tenant=self.tenant(),
            type=self.text(event_type),
        )

    def number(self, value: int | float) -> Sql:
        if self.pg:
            return self.param(_exact(value), "numeric")
        return self.param(value, "numeric")

    def one_of(self, subject: Sql, values: list[Any], pg_type: str, *, scale: Sql | None = None) -> Sql:
        """subject IN values (each times `scale`, if given), the list as ONE parameter.

        An OR per value, or a placeholder per value, nests 1,000 deep (SQLite refuses an
        expression tree that deep) and can pass SQLite's and PostgreSQL's parameter limits.
        """
        times = Sql("") if scale is None else sql(" * {s}", s=scale)
        if self.pg:
            if pg_type == "numeric":
                values = [_exact(v) for v in values]
            return sql(
                "{s} IN (SELECT x{times} FROM unnest({v}) AS x)",
                s=subject,
                times=times,
                v=self.param(values, f"{pg_type}[]"),
            )
        return sql(
            "{s} IN (SELECT value{times} FROM json_each({v}))",
            s=subject,
            times=times,
            v=Sql("%s", (json.dumps(values),)),
        )

    def window_start(self, window_days: int | None) -> datetime | None:
        return None if window_days is None else self.now - timedelta(days=window_days)

    # ---- the query

    def query(self, definition: dict[str, Any], stack: tuple[int, ...]) -> Sql:
        users = self.alias("u")
        scope = _Scope(users=users, profiles=users)
        driving = self.driving_type(definition)
        if driving is not None:
            scope.driver = scope.groups[driving] = _Group(self.alias("g"), driving)
            scope.users = scope.driver.alias
        where = self.group(definition, scope, stack)

        def left_join(sub: Sql, alias: str) -> Sql:
            return sql(" LEFT JOIN ({sub}) {a} ON {a}.user_id = {u}.user_id", sub=sub, a=alias, u=scope.users)

        joins = [
            left_join(self.group_sql(g), g.alias) for g in scope.groups.values() if g is not scope.driver
        ]
        joins += [left_join(self.latest_sql(event_type), alias) for event_type, alias in scope.latest.items()]
        if scope.driver is None:
            return sql(
                "SELECT {u}.user_id FROM {profiles} {u}{joins} WHERE {u}.tenant_id = {tenant} AND {where}",
                u=scope.users,
                joins=joined("", joins),
                tenant=self.tenant(),
                where=where,
            )
        if scope.needs_profiles:
            joins.append(
                sql(
                    " LEFT JOIN {profiles} {p} ON {p}.tenant_id = {tenant} AND {p}.user_id = {u}.user_id",
                    p=scope.profiles,
                    tenant=self.tenant(),
                    u=scope.users,
                )
            )
        return sql(
            "SELECT {g}.user_id FROM ({driver}) {g}{joins} WHERE {where}",
            g=scope.driver.alias,
            driver=self.group_sql(scope.driver),
            joins=joined("", joins),
            where=where,
        )

    def driving_type(self, definition: dict[str, Any]) -> str | None:
        """An event type that every member must have done: then its GROUP BY drives the query."""
        if definition["logic"] != "AND":
            return None
        for condition in definition["conditions"]:
            if condition.get("type") in AGGREGATED and not reference.absent_truth(condition):
                return str(condition["event_type"])
        return None

    def group(self, group: dict[str, Any], scope: _Scope, stack: tuple[int, ...]) -> Sql:
        pieces = [self.condition(c, scope, stack) for c in group["conditions"]]
        return sql("({inner})", inner=joined(f" {group['logic']} ", pieces))

    def condition(self, condition: dict[str, Any], scope: _Scope, stack: tuple[int, ...]) -> Sql:
        kind = condition.get("type")
        if kind is None:
            return self.group(condition, scope, stack)
        if kind in AGGREGATED:
            return self.aggregated(condition, scope)
        if kind == "event_property":
            if condition["event_type"] not in scope.latest:
                scope.latest[condition["event_type"]] = self.alias("l")
            return self.property(f"{scope.latest[condition['event_type']]}.payload", condition)
        if kind == "user_property":
            scope.needs_profiles = True
            return self.property(f"{scope.profiles}.properties", condition)
        if kind == "event_sequence":
            return sql("{u}.user_id IN ({sub})", u=scope.users, sub=self.sequence(condition))
        return self.membership(condition, scope, stack)

    # ---- event_count, recency, monetary: aggregates of one grouped subquery per event type

    def aggregated(self, condition: dict[str, Any], scope: _Scope) -> Sql:
        group = scope.groups.get(condition["event_type"])
        if group is None:
            group = scope.groups[condition["event_type"]] = _Group(self.alias("g"), condition["event_type"])
        present = self.aggregate_predicate(condition, group)
        if group is scope.driver:
            return present  # every row of the driving group has such events
        # A user without such events has no row: the condition is what it is for zero events.
        if reference.absent_truth(condition):
            return sql("({g}.user_id IS NULL OR {p})", g=group.alias, p=present)
        return sql("({g}.user_id IS NOT NULL AND {p})", g=group.alias, p=present)

    def aggregate_predicate(self, condition: dict[str, Any], group: _Group) -> Sql:
        """The condition on a user who has a row in the group; never NULL there."""
        op, negate = positive(condition["operator"])
        inner = self.aggregate_positive(condition, op, group)
        return sql("NOT {i}", i=inner) if negate else inner

    def aggregate_positive(self, condition: dict[str, Any], op: str, group: _Group) -> Sql:
        kind = condition["type"]
        if kind == "recency":
            last = self.aggregate(group, Sql("MAX(occurred_at)"), None)
            return self.recency_compare(last, op, condition["window_days"])
        start = self.window_start(condition["window_days"])
        if kind == "event_count":
            count = (
                Sql("COUNT(*)")
                if start is None
                else sql("SUM(CASE WHEN occurred_at > {start} THEN 1 ELSE 0 END)", start=self.time(start))
            )
            return self.compare(self.aggregate(group, count, start), op, condition["value"])
        value = self.number_of("payload", condition["property"])
        if start is not None:
            value = sql("CASE WHEN occurred_at > {start} THEN {v} END", start=self.time(start), v=value)
        metric = condition["metric"]
        if metric == "max":
            top = self.aggregate(group, sql("MAX({v})", v=value), start)
            return sql("({m} IS NOT NULL AND {c})", m=top, c=self.compare(top, op, condition["value"]))
        total = self.aggregate(group, sql("SUM({v})" if self.pg else "TOTAL({v})", v=value), start)
        total = sql("COALESCE({t}, 0)", t=total)  # a sum over no numbers is 0
        if metric == "sum":
            return self.compare(total, op, condition["value"])
        # avg compared exactly, without dividing: sum op value * count, for a count above zero.
        count = self.aggregate(group, sql("COUNT({v})", v=value), start)
        return sql("({n} > 0 AND {c})", n=count, c=self.compare(total, op, condition["value"], scale=count))

    def aggregate(self, group: _Group, expression: Sql, start: datetime | None) -> Sql:
        name = group.aggregates.get(expression)
        if name is None:
            name = group.aggregates[expression] = f"a{len(group.aggregates)}"
            group.starts.append(start)
        return Sql(f"{group.alias}.{name}")

    def group_sql(self, group: _Group) -> Sql:
        columns = [sql("{e} AS {n}", e=e, n=n) for e, n in group.aggregates.items()]
        starts = group.starts
        condition = Sql("")
        if starts and all(s is not None for s in starts):
            # Every aggregate is windowed: read only the widest window's events.
            condition = sql(" AND occurred_at > {s}", s=self.time(min(s for s in starts if s is not None)))
        return sql(
            "SELECT user_id{sep}{columns} {events}{condition} GROUP BY user_id",
            sep=", " if columns else "",
            columns=joined(", ", columns),
            events=self.of_type(group.event_type),
            condition=condition,
        )

    def recency_compare(self, last: Sql, op: str, days: Any) -> Sql:
        """days since `last` op days, as `last` against now - days (exact, no arithmetic on rows)."""

        def ago(days: int) -> Sql:
            return self.time(self.now - timedelta(days=days))

        if op == "between":
            inner = sql("{l} BETWEEN {a} AND {b}", l=last, a=ago(days[1]), b=ago(days[0]))
        elif op == "in":
            times = [self.time(self.now - timedelta(days=d)).params[0] for d in days]
            inner = self.one_of(last, times, "timestamptz")
        else:
            # More days since means an earlier last time: the comparison flips.
            flipped = {"eq": "=", "gt": "<", "gte": "<=", "lt": ">", "lte": ">="}[op]
            inner = sql("{l} {o} {v}", l=last, o=flipped, v=ago(days))
        return sql("({i})", i=inner)

    def compare(self, subject: Sql, op: str, value: Any, *, scale: Sql | None = None) -> Sql:
        """subject op value (a positive operator); with `scale`, value * scale (for avg)."""

        def v(x: int | float) -> Sql:
            return self.number(x) if scale is None else sql("{x} * {s}", x=self.number(x), s=scale)

        if op == "between":
            inner = sql("{s} BETWEEN {a} AND {b}", s=subject, a=v(value[0]), b=v(value[1]))
        elif op == "in":
            inner = self.one_of(subject, value, "numeric", scale=scale)
        else:
            symbol = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            inner = sql("{s} {o} {x}", s=subject, o=symbol, x=v(value))
        return sql("({i})", i=inner)

    # ---- JSON properties (payloads and traits)

    def key(self, name: str) -> Sql:
        # The name is from a safe character set, and still a parameter; SQLite takes a path.
        return self.text(name) if self.pg else self.text(f'$."{name}"')

    def text_of(self, base: str, name: str) -> Sql:
        """The value as text if it is a JSON string (NULL otherwise)."""
        if self.pg:
            return sql(
                "CASE WHEN jsonb_typeof({b} -> {k}) = 'string' THEN {b} ->> {k} END", b=base, k=self.key(name)
            )
        return sql(
            "CASE WHEN json_type({b}, {k}) = 'text' THEN json_extract({b}, {k}) END", b=base, k=self.key(name)
        )

    def number_of(self, base: str, name: str) -> Sql:
        """The value as a number: a JSON number, or a string that is a plain decimal; else NULL."""
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

    def json_type(self, base: str, name: str) -> Sql:
        """The JSON type name; 'null' for JSON null, NULL when the key is missing."""
        if self.pg:
            return sql("jsonb_typeof({b} -> {k})", b=base, k=self.key(name))
        return sql("json_type({b}, {k})", b=base, k=self.key(name))

    def property(self, base: str, condition: dict[str, Any]) -> Sql:
        op, negate = positive(condition["operator"])
        name, value = condition["property"], condition.get("value")
        inner = self.property_positive(base, name, op, value)
        # Positive first, never NULL (a missing property is false), then negated if asked.
        positive_sql = sql("COALESCE({i}, FALSE)", i=inner)
        return sql("NOT {p}", p=positive_sql) if negate else positive_sql

    def property_positive(self, base: str, name: str, op: str, value: Any) -> Sql:
        if op == "is_set":
            return sql("{t} <> 'null'", t=self.json_type(base, name))
        if op in ("is_true", "is_false"):
            return self.equals(base, name, op == "is_true")
        if op == "eq":
            return sql("({e})", e=self.equals(base, name, value))
        if op == "in":
            return sql("({e})", e=joined(" OR ", self.equals_any(base, name, value)))
        if op in ("gt", "gte", "lt", "lte", "between"):
            return self.compare(self.number_of(base, name), op, value)
        text = self.text_of(base, name)
        if op == "contains":
            return sql(
                "strpos({t}, {v}) > 0" if self.pg else "instr({t}, {v}) > 0", t=text, v=self.text(value)
            )
        if op == "starts_with":
            return sql("substr({t}, 1, length({v})) = {v}", t=text, v=self.text(value))
        if op == "ends_with":
            return sql(
                "(length({t}) >= length({v}) AND substr({t}, length({t}) - length({v}) + 1) = {v})",
                t=text,
                v=self.text(value),
            )
        if op == "matches_regex":
            # PostgreSQL's ~ (under statement_timeout); SQLite's REGEXP is RE2 (segments/regex.py).
            return sql("{t} ~ {v}" if self.pg else "{t} REGEXP {v}", t=text, v=self.text(value))
        raise DefinitionError(f"operator: unknown operator {op!r}")

    def equals(self, base: str, name: str, value: Any) -> Sql:
        """Booleans equal JSON booleans; numbers compare numerically; strings equal strings only."""
        if isinstance(value, bool):
            word = "true" if value else "false"
            if self.pg:
                return sql("({b} -> {k}) = {w}", b=base, k=self.key(name), w=self.param(word, "jsonb"))
            return sql("json_type({b}, {k}) = {w}", b=base, k=self.key(name), w=self.text(word))
        if isinstance(value, str):
            return sql("{t} = {v}", t=self.text_of(base, name), v=self.text(value))
        return sql("{n} = {v}", n=self.number_of(base, name), v=self.number(value))

    def equals_any(self, base: str, name: str, values: list[Any]) -> list[Sql]:
        """`equals` one of the values: the strings as one list, the numbers as another."""
        strings = [v for v in values if isinstance(v, str)]
        numbers = [v for v in values if not isinstance(v, str | bool)]
        pieces = [self.equals(base, name, v) for v in dict.fromkeys(v for v in values if isinstance(v, bool))]
        if strings:
            pieces.append(self.one_of(self.text_of(base, name), strings, "text"))
        if numbers:
            pieces.append(self.one_of(self.number_of(base, name), numbers, "numeric"))
        return pieces

    def latest_sql(self, event_type: str) -> Sql:
        """Each user's most recent event of a type: latest occurred_at, then the highest id."""
        if self.pg:
            return sql(
                "SELECT DISTINCT ON (user_id) user_id, payload {events} "
                "ORDER BY user_id, occurred_at DESC, id DESC",
                events=self.of_type(event_type),
            )
        return sql(
            "SELECT user_id, payload FROM (SELECT user_id, payload, ROW_NUMBER() OVER "
            "(PARTITION BY user_id ORDER BY occurred_at DESC, id DESC) AS rn {events}) WHERE rn = 1",
            events=self.of_type(event_type),
        )

    # ---- event_sequence

    def within(self, start: str, end: str, window_days: int | None) -> Sql:
        """end - start <= window_days days, exactly (microseconds count)."""
        if window_days is None:
            return Sql("")
        if self.pg:
            return sql(
                " AND {s} >= {e} - make_interval(secs => {d})",
                s=start,
                e=end,
                d=self.param(window_days * 86_400, "double precision"),
            )
        # Shift the date part only (UTC has no DST): text in, text out, no rounding.
        return sql(
            " AND {s} >= (date(substr({e}, 1, 10), {d}) || substr({e}, 11))",
            s=start,
            e=end,
            d=self.text(f"-{window_days} days"),
        )

    def sequence(self, condition: dict[str, Any]) -> Sql:
        steps: list[str] = condition["events"]
        window = condition["window_days"]
        if condition["strict"]:
            return self.strict_sequence(steps, window)
        # For each event of step k: the latest start of a chain of steps 1..k ending at it
        # (a running MAX over the user's earlier step k-1 events, ordered by occurred_at, id).
        # Each step is a named CTE over the previous one rather than a subquery nested in it:
        # SQLite's parser overflows past four steps of nesting ("parser stack overflow").
        name = self.alias("c")
        ctes = [
            sql(
                "{n} AS (SELECT user_id, occurred_at, id, occurred_at AS best {events})",
                n=name,
                events=self.of_type(steps[0]),
            )
        ]
        for step in steps[1:]:
            # kind 0 (this step) sorts before kind 1 (the previous step) for the same event,
            # so an event never follows itself when two steps have the same type.
            merged = sql(
                "SELECT user_id, occurred_at, id, 1 AS kind, best FROM {chain} UNION ALL "
                "SELECT user_id, occurred_at, id, 0 AS kind, {null} {events}",
                chain=name,
                null="CAST(NULL AS timestamptz)" if self.pg else "NULL",
                events=self.of_type(step),
            )
            ranked = sql(
                "SELECT user_id, occurred_at, id, kind, MAX(best) OVER (PARTITION BY user_id "
                "ORDER BY occurred_at, id, kind ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best "
                "FROM ({merged}) {m}",
                merged=merged,
                m=self.alias("m"),
            )
            # A chain already longer than the window cannot end within it later: dropped early.
            name = self.alias("c")
            ctes.append(
                sql(
                    "{n} AS (SELECT user_id, occurred_at, id, best FROM ({ranked}) {r} "
                    "WHERE kind = 0 AND best IS NOT NULL{within})",
                    n=name,
                    ranked=ranked,
                    r=self.alias("r"),
                    within=self.within("best", "occurred_at", window),
                )
            )
        return sql("WITH {ctes} SELECT user_id FROM {last}", ctes=joined(", ", ctes), last=name)

    def strict_sequence(self, steps: list[str], window: int | None) -> Sql:
        """Consecutive events of the user's timeline: LEAD over all the user's events."""
        leads = [Sql("event_type AS s0")] + [
            Sql(f"LEAD(event_type, {i}) OVER w AS s{i}") for i in range(1, len(steps))
        ]
        leads.append(Sql(f"occurred_at AS first_at, LEAD(occurred_at, {len(steps) - 1}) OVER w AS last_at"))
        matches = joined(" AND ", [sql(f"s{i} = {{t}}", t=self.text(t)) for i, t in enumerate(steps)])
        return sql(
            "SELECT user_id FROM (SELECT user_id, {leads} FROM {events} WHERE tenant_id = {tenant} "
            "WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, id)) {x} WHERE {matches}{within}",
            leads=joined(", ", leads),
            tenant=self.tenant(),
            x=self.alias("x"),
            matches=matches,
            within=self.within("first_at", "last_at", window),
        )

    # ---- segment_membership: the other segment's definition, inlined

    def membership(self, condition: dict[str, Any], scope: _Scope, stack: tuple[int, ...]) -> Sql:
        segment_id = condition["segment_id"]
        if segment_id in stack:
            raise DefinitionError(f"segment_id: segment {segment_id} leads to a cycle")
        saved = self.lookup(segment_id)
        if saved is None:
            raise DefinitionError(f"segment_id: no such segment ({segment_id})")
        try:
            nested = definition_validate(saved, lookup_definition=self.lookup, segment_id=segment_id)
        except DefinitionError as exc:
            raise DefinitionError(
                f"segment_id: segment {segment_id} has an invalid definition ({exc})"
            ) from None
        sub = self.query(nested, (*stack, segment_id))
        if self.pg:
            # EXISTS / NOT EXISTS: PostgreSQL plans (anti-)semi-joins for both; NOT IN it cannot.
            exists = "EXISTS" if condition["operator"] == "in" else "NOT EXISTS"
            return sql(
                "{x} (SELECT 1 FROM ({sub}) {m} WHERE {m}.user_id = {u}.user_id)",
                x=exists,
                sub=sub,
                m=self.alias("s"),
                u=scope.users,
            )
        keyword = "IN" if condition["operator"] == "in" else "NOT IN"
        return sql("{u}.user_id {k} ({sub})", u=scope.users, k=keyword, sub=sub)
