"""Bulk writes of events, profiles, aliases and message ids: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from segops_server.core.ids import anonymous_uid
from segops_server.ingestion.models import (
    IDENTIFY_EVENT,
    Event,
    IdentityAlias,
    ProfilePending,
    SeenMessage,
    UserProfile,
)
from segops_server.ingestion.validation import ValidEvent
from segops_server.segments.live import queue as live_queue

EVENT_COLUMNS = (
    "tenant_id",
    "user_id",
    "event_type",
    "occurred_at",
    "received_at",
    "payload",
    "anonymous_id",
    "schema_violations",
)


_PLACEHOLDERS = ", ".join(["%s"] * len(EVENT_COLUMNS))


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _db_time(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def messages_claim(*, tenant_id: int, message_ids: Sequence[str]) -> set[str]:
    """Record message ids; returns those seen for the first time (the others are retries)."""
    if not message_ids:
        return set()
    table = SeenMessage._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(message_ids))
    params: list[Any] = []
    for message_id in message_ids:
        params += [tenant_id, message_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, message_id) VALUES {values} "  # noqa: S608 (names are ours)
            "ON CONFLICT (tenant_id, message_id) DO NOTHING RETURNING message_id",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


def _event_row(tenant_id: int, e: ValidEvent, received_at: Any, occurred_at: Any = None) -> tuple[Any, ...]:
    """One event's values in EVENT_COLUMNS order."""
    occurred = e.occurred_at if occurred_at is None else occurred_at
    return (
        tenant_id,
        e.user_id,
        e.event_type,
        occurred,
        received_at,
        e.payload_json,
        e.anonymous_id,
        e.violations_json,
    )


def events_insert(*, tenant_id: int, events: Sequence[ValidEvent], received_at: datetime) -> None:
    table = Event._meta.db_table
    if _postgres():
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor: COPY is the fastest way into PostgreSQL
            with raw.copy(f"COPY {table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for e in events:
                    copy.write_row(_event_row(tenant_id, e, received_at))
        return
    received = _db_time(received_at)
    rows = [_event_row(tenant_id, e, received, occurred_at=_db_time(e.occurred_at)) for e in events]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)}) VALUES ({_PLACEHOLDERS})",  # noqa: S608
            rows,
        )


_PROFILE_SET = """
ON CONFLICT (tenant_id, user_id) DO UPDATE SET
    first_seen = {least}(p.first_seen, excluded.first_seen),
    last_seen = {greatest}(p.last_seen, excluded.last_seen),
    event_count = p.event_count + excluded.event_count,
    properties = CASE
        WHEN excluded.properties_at IS NOT NULL
             AND (p.properties_at IS NULL OR excluded.properties_at >= p.properties_at)
        THEN excluded.properties ELSE p.properties END,
    properties_at = CASE
        WHEN excluded.properties_at IS NOT NULL
             AND (p.properties_at IS NULL OR excluded.properties_at >= p.properties_at)
        THEN excluded.properties_at ELSE p.properties_at END
"""
_PROFILE_COLUMNS = "(tenant_id, user_id, first_seen, last_seen, event_count, properties, properties_at)"


def _profile_rows(events: Sequence[ValidEvent]) -> list[tuple[Any, ...]]:
    """Per user: first and last seen, count, and the latest identify's traits; sorted by user id
    so concurrent requests take row locks in the same order."""
    summary: dict[str, list[Any]] = {}
    for e in events:
        row = summary.get(e.user_id)
        if row is None:
            row = summary[e.user_id] = [e.occurred_at, e.occurred_at, 0, None, None]
        row[0] = min(row[0], e.occurred_at)
        row[1] = max(row[1], e.occurred_at)
        row[2] += 1
        if e.event_type == IDENTIFY_EVENT and (row[4] is None or e.occurred_at >= row[4]):
            row[3], row[4] = e.payload_json, e.occurred_at
    return [(user_id, *summary[user_id]) for user_id in sorted(summary)]


def _alias_rows(events: Sequence[ValidEvent]) -> list[tuple[str, str]]:
    """anon_<anonymous_id> -> user_id, the earliest event's pairing per anonymous id.

    The alias names the anonymous id by the user id its own events are stored under (core/ids.py),
    which is what resolution at read time matches events on."""
    first: dict[str, str] = {}
    known = {e.user_id for e in events if e.event_type == IDENTIFY_EVENT}
    for e in sorted(events, key=lambda e: e.occurred_at):
        if e.anonymous_id is None:
            continue
        alias = anonymous_uid(e.anonymous_id)
        if alias != e.user_id and alias not in known:
            first.setdefault(alias, e.user_id)
    return sorted(first.items())


def profiles_upsert(*, tenant_id: int, events: Sequence[ValidEvent]) -> None:
    """SQLite: upsert the profiles in the same transaction as the events."""
    rows = _profile_rows(events)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = (
        f"INSERT INTO {UserProfile._meta.db_table} AS p {_PROFILE_COLUMNS} VALUES {values}"  # noqa: S608
        + _PROFILE_SET.format(least="MIN", greatest="MAX")
    )
    params: list[Any] = []
    for user_id, first, last, count, props_json, props_at in rows:
        params += [
            tenant_id,
            user_id,
            _db_time(first),
            _db_time(last),
            count,
            props_json or "{}",
            _db_time(props_at) if props_at else None,
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def aliases_insert(*, tenant_id: int, events: Sequence[ValidEvent], now: datetime) -> None:
    """First identify wins: an existing alias is never rewritten, and an id that already has
    events of its own is a known user, never an alias: so two known users never merge."""
    rows = _alias_rows(events)
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for anonymous_id, user_id in rows:
        params += [tenant_id, anonymous_id, user_id, _db_time(now)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(t, a, u, c) AS (VALUES {values}) "  # noqa: S608 (names are ours)
            f"INSERT INTO {IdentityAlias._meta.db_table} (tenant_id, anonymous_id, user_id, created_at) "
            f"SELECT t, a, {_RESOLVED.format(user='v.u', tenant='v.t')}, c FROM v "
            f"WHERE NOT EXISTS ({_KNOWN_USER.format(anonymous='v.a')}) "
            "ON CONFLICT (tenant_id, anonymous_id) DO NOTHING",
            [*params, tenant_id, tenant_id],
        )


# A known user: something already resolves to it, or it was identified (context_identified).
# Anonymous visitors send events under their anonymous id too, so "has events" would not do.
_KNOWN_USER = (
    "SELECT 1 FROM " + IdentityAlias._meta.db_table + " k WHERE k.tenant_id = %s AND k.user_id = {anonymous} "  # noqa: S608
    "UNION ALL SELECT 1 FROM " + Event._meta.db_table + " e WHERE e.tenant_id = %s "
    "AND e.event_type = '" + IDENTIFY_EVENT + "' AND e.user_id = {anonymous}"
)


# The id a new alias points at: the user's own edge's target if it was merged (identity/services.py),
# so that every edge stays one hop and reads resolve with a single join.
_RESOLVED = (
    "COALESCE((SELECT r.user_id FROM " + IdentityAlias._meta.db_table + " r "  # noqa: S608
    "WHERE r.tenant_id = {tenant} AND r.anonymous_id = {user}), {user})"
)


_PENDING_COLUMNS = "(tenant_id, user_id, first_seen, last_seen, event_count, properties, properties_at)"


def pending_insert(*, tenant_id: int, events: Sequence[ValidEvent]) -> None:
    """PostgreSQL: COPY this request's per-user deltas into the pending table."""
    rows = _profile_rows(events)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {ProfilePending._meta.db_table} {_PENDING_COLUMNS} FROM STDIN") as copy,
    ):
        for user_id, first, last, count, props, props_at in rows:
            copy.write_row((tenant_id, user_id, first, last, count, props, props_at))


def pending_tenants() -> list[int]:
    """PostgreSQL: the tenants with pending profile deltas."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tenant_id FROM {ProfilePending._meta.db_table} ORDER BY tenant_id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def profiles_rollup(*, tenant_id: int, limit: int) -> int:
    """PostgreSQL: fold up to `limit` of one tenant's pending deltas (oldest first) into its
    profiles, atomically; returns how many were folded.

    The rows are locked, then deleted with RETURNING: each is taken exactly once, even with
    several rollups at once (a second one waits on the first's row locks, then finds those rows
    gone). Deltas merge in any order (least, greatest, sum, latest traits by time), so a batch
    boundary never changes the result.
    """
    table = ProfilePending._meta.db_table
    sql = (
        f"WITH moved AS (DELETE FROM {table} WHERE id IN ("  # noqa: S608
        f"SELECT id FROM {table} WHERE tenant_id = %s ORDER BY id LIMIT %s FOR UPDATE) RETURNING *), "
        f"folded AS (INSERT INTO {UserProfile._meta.db_table} AS p {_PROFILE_COLUMNS} "
        "SELECT tenant_id, user_id, min(first_seen), max(last_seen), sum(event_count), "
        "coalesce((array_agg(properties ORDER BY properties_at DESC NULLS LAST))[1], '{}'::jsonb), "
        "max(properties_at) FROM moved GROUP BY tenant_id, user_id ORDER BY tenant_id, user_id"
        + _PROFILE_SET.format(least="LEAST", greatest="GREATEST")
        + ") SELECT count(*) FROM moved"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, limit])
        return int(cursor.fetchone()[0])


def events_store_one_statement(
    *, tenant_id: int, events: Sequence[ValidEvent], received_at: datetime, live: bool
) -> None:
    """PostgreSQL, small requests: events, profile deltas (and aliases, if any) in one statement.

    One statement is one round trip and is atomic on its own (autocommit), where BEGIN, the
    INSERTs and COMMIT would be four or five. Plain VALUES lists plan faster than unnest()
    for a few rows; the alias part is left out when no event carries an anonymous id, the
    real-time queue's unless `live` (the tenant keeps a segment live).
    """
    aliases = _alias_rows(events)
    sql, params = _one_statement_sql([(tenant_id, events, received_at)])
    if aliases:
        alias_values = ", ".join(["(%s, %s, %s::bigint, %s::timestamptz)"] * len(aliases))
        for anonymous_id, user_id in aliases:
            params += [anonymous_id, user_id, tenant_id, received_at]
        alias_table = IdentityAlias._meta.db_table
        sql += (
            f", al AS (INSERT INTO {alias_table} (tenant_id, anonymous_id, user_id, created_at) "  # noqa: S608
            f"SELECT t, a, {_RESOLVED.format(user='y.u', tenant='y.t')}, c "
            f"FROM (VALUES {alias_values}) AS y(a, u, t, c) "
            f"WHERE NOT EXISTS ({_KNOWN_USER.format(anonymous='y.a')}) "
            "ON CONFLICT (tenant_id, anonymous_id) DO NOTHING)"
        )
        params += [tenant_id, tenant_id]
    if live:  # the users to evaluate in real time, in the same statement: durable with their events
        sql += f", lq AS ({live_queue.upsert_sql()})"
        params += live_queue.upsert_params(
            tenant_id=tenant_id, user_ids=(e.user_id for e in events), due_at=received_at
        )
    _one_statement_run(sql, params, [(tenant_id, events)])


def can_share_one_statement(*, events: Sequence[ValidEvent], live: bool) -> bool:
    """Whether a request's rows can be written in one statement with other requests' (a group
    commit): only its events and profile deltas, which no other request's rows change. Aliases
    read what was stored before them and the real-time queue updates rows in place: a statement
    does not see its own changes, so requests with those are written by their own statements."""
    return not live and not _alias_rows(events)


def requests_store_one_statement(requests: Sequence[tuple[int, Sequence[ValidEvent], datetime]]) -> None:
    """PostgreSQL: several requests' events and profile deltas, each request's rows as its own
    statement would write them (`can_share_one_statement`), in one statement: one round trip and
    one commit. `requests` are (tenant id, events, received at)."""
    sql, params = _one_statement_sql(requests)
    _one_statement_run(sql, params, [(tenant_id, events) for tenant_id, events, _ in requests])


def _one_statement_sql(
    requests: Sequence[tuple[int, Sequence[ValidEvent], datetime]],
) -> tuple[str, list[Any]]:
    params: list[Any] = []
    event_values = []
    for tenant_id, events, received_at in requests:
        for e in events:
            event_values.append("(%s, %s, %s, %s, %s, %s::jsonb, %s, %s::jsonb)")
            params += _event_row(tenant_id, e, received_at)
    columns = ", ".join(EVENT_COLUMNS)
    sql = f"WITH ev AS (INSERT INTO {Event._meta.db_table} ({columns}) VALUES {', '.join(event_values)})"  # noqa: S608
    return sql, params


def _one_statement_run(
    sql: str, params: list[Any], requests: Sequence[tuple[int, Sequence[ValidEvent]]]
) -> None:
    """Ends the statement with the profile deltas of each request (its own rows, per user) and runs it."""
    pending_values = []
    for tenant_id, events in requests:
        for user_id, first, last, count, props, props_at in _profile_rows(events):
            pending_values.append("(%s, %s, %s, %s, %s, %s::jsonb, %s)")
            params += [tenant_id, user_id, first, last, count, props, props_at]
    sql += (
        f" INSERT INTO {ProfilePending._meta.db_table} {_PENDING_COLUMNS} VALUES {', '.join(pending_values)}"  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
