"""Segment definitions compiled to one parameterised SQL query, for PostgreSQL or SQLite.

The query returns one column, `user_id`, once per matching user of the tenant. Every value
from the definition (event types, property names, numbers, strings, patterns, times) travels
as a `%s` parameter; the SQL text holds only our own table names, aliases and constants.

Shape: the universe (the tenant's profiles: every user with an event) LEFT JOINed to one
grouped subquery per event type (counts, sums, last times: one scan and GROUP BY whatever the
number of conditions on that type) and one "latest event" subquery per event type for the
conditions on a latest payload; the other conditions are semi-joins. When the top level is an
AND with a condition that needs the user to have such events (a sum >= 500, a count >= 1),
that event type's grouped subquery drives the query instead of the profiles, which is what a
hand-written GROUP BY ... HAVING does.

This module assembles the query (groups, nesting, joins, referenced segments inlined) and the
dialect's parameters; what each condition type adds is in its module under conditions/.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from segops_server.segments.rules.conditions import condition_type
from segops_server.segments.rules.conditions.sqltext import (
    EVENTS,
    PROFILES,
    RESOLVED_EVENTS,
    RESOLVED_PROFILES,
    Sql,
    exact,
    joined,
    sql,
)
from segops_server.segments.rules.dialect import Dialect
from segops_server.segments.rules.dsl import DefinitionError, LookupDefinition, definition_validate
from segops_server.segments.rules.identities import resolved_sources


def definition_compile(
    definition: dict[str, Any],
    *,
    tenant_id: int,
    vendor: str,
    now: datetime,
    lookup_definition: LookupDefinition,
    resolve_identities: bool = False,
    only_users: list[str] | None = None,
) -> tuple[str, list[Any]]:
    """(sql, params) selecting the distinct user_id of the tenant's users matching `definition`.

    With `resolve_identities` (the tenant has identity edges: identity/selectors.py), events and
    traits count for the id they resolve to, and the users are the resolved ids.

    With `only_users`, every scan of events and profiles (of this definition and of the segments
    it references) reads only those users: the answer is the matching users among them, at the
    cost of their rows only (real-time evaluation, segments/live/)."""
    if vendor not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported database vendor {vendor!r}")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    definition = definition_validate(definition, lookup_definition=lookup_definition)
    compiler = Compiler(
        vendor=vendor,
        tenant_id=tenant_id,
        now=now.astimezone(UTC),
        lookup=lookup_definition,
        resolve_identities=resolve_identities,
        only_users=only_users,
    )
    query = compiler.query(definition, stack=())
    if resolve_identities:
        query = sql("WITH {sources} {query}", sources=resolved_sources(tenant=compiler.tenant()), query=query)
    return query.text, list(query.params)


@dataclass
class Group:
    """One grouped subquery over one event type: its aggregates, deduplicated."""

    alias: str
    event_type: str
    aggregates: dict[Sql, str] = field(default_factory=dict)
    # The window start of each aggregate (None: all time); all windowed -> filter the scan.
    starts: list[datetime | None] = field(default_factory=list)


@dataclass
class Scope:
    """The query being built: who the users are, and the subqueries joined to them."""

    users: str  # the alias whose user_id is the user (the profiles, or the driving group)
    profiles: str  # the alias of the profiles (the same as `users` unless a group drives)
    driver: Group | None = None
    needs_profiles: bool = False
    groups: dict[str, Group] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)


class Compiler(Dialect):
    """Builds one query: the parameters of either dialect, the joins, the dispatch to each type."""

    def __init__(
        self,
        *,
        vendor: str,
        tenant_id: int,
        now: datetime,
        lookup: LookupDefinition,
        resolve_identities: bool = False,
        only_users: list[str] | None = None,
    ) -> None:
        self.vendor = vendor
        self.pg = vendor == "postgresql"
        self.only_users = only_users
        self.tenant_id = tenant_id
        self.now = now
        self.lookup = lookup
        self._aliases = itertools.count(1)
        # What the conditions read: the tables, or the same rows with ids resolved (identities.py).
        self.events: str | Sql = RESOLVED_EVENTS if resolve_identities else EVENTS
        self.profiles: str | Sql = RESOLVED_PROFILES if resolve_identities else PROFILES

    # ---- parameters: a placeholder per value; PostgreSQL gets explicit types, so the query
    # ---- also runs with untyped (text) parameters, as psycopg sends them from other clients.

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self._aliases)}"

    def param(self, value: Any, pg_type: str) -> Sql:
        return Sql(f"%s::{pg_type}" if self.pg else "%s", (value,))

    def tenant(self) -> Sql:
        return self.param(self.tenant_id, "bigint")

    def scan(self, alias: str = "") -> Sql:
        """The WHERE of every scan of events or profiles: the tenant and, when the compile is
        restricted to some users, those users (the one place that restriction is applied)."""
        column = f"{alias}." if alias else ""
        where = sql(f"{column}tenant_id = {{tenant}}", tenant=self.tenant())
        if self.only_users is None:
            return where
        return sql(
            "{w} AND {users}",
            w=where,
            users=self.one_of(Sql(f"{column}user_id"), self.only_users, "text"),
        )

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
            "FROM {events} WHERE {scan} AND event_type = {type}",
            events=self.events,
            scan=self.scan(),
            type=self.text(event_type),
        )

    def number(self, value: int | float) -> Sql:
        if self.pg:
            return self.param(exact(value), "numeric")
        return self.param(value, "numeric")

    def one_of(self, subject: Sql, values: list[Any], pg_type: str, *, scale: Sql | None = None) -> Sql:
        """subject IN values (each times `scale`, if given), the list as ONE parameter.

        An OR per value, or a placeholder per value, nests 1,000 deep (SQLite refuses an
        expression tree that deep) and can pass SQLite's and PostgreSQL's parameter limits.
        """
        times = Sql("") if scale is None else sql(" * {s}", s=scale)
        if self.pg:
            if pg_type == "numeric":
                values = [exact(v) for v in values]
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
        scope = Scope(users=users, profiles=users)
        driving = self.driving_type(definition)
        if driving is not None:
            scope.driver = scope.groups[driving] = Group(self.alias("g"), driving)
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
                "SELECT {u}.user_id FROM {profiles} {u}{joins} WHERE {scan} AND {where}",
                profiles=self.profiles,
                u=scope.users,
                joins=joined("", joins),
                scan=self.scan(scope.users),
                where=where,
            )
        if scope.needs_profiles:
            joins.append(
                sql(
                    " LEFT JOIN {profiles} {p} ON {p}.tenant_id = {tenant} AND {p}.user_id = {u}.user_id",
                    profiles=self.profiles,
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
            kind = condition_type(condition.get("type"))
            event_type = kind.driving_event_type(condition) if kind is not None else None
            if event_type is not None:
                return event_type
        return None

    def group(self, group: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        pieces = [self.condition(c, scope, stack) for c in group["conditions"]]
        return sql("({inner})", inner=joined(f" {group['logic']} ", pieces))

    def condition(self, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        kind = condition_type(condition.get("type"))
        if kind is None:
            return self.group(condition, scope, stack)
        return kind.sql(self, condition, scope, stack)

    def referenced_query(self, segment_id: int, stack: tuple[int, ...]) -> Sql:
        """Another segment's query by its saved definition, to inline (`stack`: the chain so far)."""
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
        return self.query(nested, (*stack, segment_id))

    # ---- the subqueries joined to the users: one grouped scan per event type, its latest event

    def group_of(self, scope: Scope, event_type: str) -> Group:
        """The grouped subquery over one event type, where each type adds its aggregates."""
        group = scope.groups.get(event_type)
        if group is None:
            group = scope.groups[event_type] = Group(self.alias("g"), event_type)
        return group

    def latest_of(self, scope: Scope, event_type: str) -> str:
        """The alias of each user's latest event of a type (one subquery per type)."""
        if event_type not in scope.latest:
            scope.latest[event_type] = self.alias("l")
        return scope.latest[event_type]

    def traits(self, scope: Scope) -> str:
        """The JSON column of the user's traits: their profile's properties."""
        scope.needs_profiles = True
        return f"{scope.profiles}.properties"

    def aggregate(self, group: Group, expression: Sql, start: datetime | None) -> Sql:
        name = group.aggregates.get(expression)
        if name is None:
            name = group.aggregates[expression] = f"a{len(group.aggregates)}"
            group.starts.append(start)
        return Sql(f"{group.alias}.{name}")

    def group_sql(self, group: Group) -> Sql:
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
