"""The queue of users to evaluate in real time: written with the events, claimed under a lease.

Ingestion adds the users of a request in the events' own transaction (the same statement on
PostgreSQL's short path), so a 202 means both the events and their evaluation are durable. A
user's row coalesces every later event: its `due_at` becomes the earliest asked for and its
`stamp` grows, so the worker that evaluated an older stamp leaves the row for another round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from segops_server.segments.models import LivePending

LEASE = timedelta(seconds=30)  # a claimed row's worker renews nothing: evaluations are short


def _table() -> str:
    return LivePending._meta.db_table


def _least() -> str:
    return "LEAST" if connection.vendor == "postgresql" else "MIN"


def upsert_sql(rows: int) -> str:
    """INSERT of `rows` (tenant_id, user_id, due_at) rows, each merged into the user's row.

    A user already waiting, unclaimed, since no later than this due time is left as it is: the
    evaluation that claims the row reads every event from its due time on, this one's included.
    Only a claimed row (its stamp tells its evaluator a newer event came) or a row due later (a
    time window's moment) is written, so a busy user's events do not rewrite the row each time."""
    cast = "::bigint" if connection.vendor == "postgresql" else ""
    stamp = "::timestamptz" if connection.vendor == "postgresql" else ""
    values = ", ".join([f"(%s{cast}, %s, %s{stamp}, 0, '')"] * rows)
    return (
        f"INSERT INTO {_table()} AS q (tenant_id, user_id, due_at, stamp, lease_owner) "  # noqa: S608
        f"VALUES {values} ON CONFLICT (tenant_id, user_id) DO UPDATE SET "
        f"due_at = {_least()}(q.due_at, excluded.due_at), stamp = q.stamp + 1 "
        "WHERE q.lease_owner <> '' OR q.due_at > excluded.due_at"
    )


def upsert_params(*, tenant_id: int, user_ids: Iterable[str], due_at: datetime) -> tuple[int, list[Any]]:
    """(row count, params) for upsert_sql: each user once, in order (no two writers deadlock)."""
    return _params(tenant_id, dict.fromkeys(user_ids, due_at))


def _params(tenant_id: int, dues: dict[str, datetime]) -> tuple[int, list[Any]]:
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    for user_id in sorted(dues):
        params += [tenant_id, user_id, adapt(dues[user_id])]
    return len(dues), params


def users_enqueue(*, tenant_id: int, user_ids: Iterable[str], due_at: datetime) -> None:
    """Ask for an evaluation of these users from `due_at` on (in the caller's transaction)."""
    users_enqueue_at(tenant_id=tenant_id, dues=dict.fromkeys(user_ids, due_at))


def users_enqueue_at(*, tenant_id: int, dues: dict[str, datetime]) -> None:
    """Ask for an evaluation of each user from their own due time on."""
    count, params = _params(tenant_id, dues)
    if not count:
        return
    with connection.cursor() as cursor:
        cursor.execute(upsert_sql(count), params)


@dataclass(frozen=True)
class Claimed:
    id: int
    tenant_id: int
    user_id: str
    stamp: int
    due_at: datetime  # no later than any event or moment the row asks about (triggers.py)


def users_claim(*, owner: str, now: datetime, limit: int) -> list[Claimed]:
    """Lease up to `limit` due rows nothing else holds (a lapsed lease's too), oldest due first."""
    at = connection.ops.adapt_datetimefield_value(now)
    expires = connection.ops.adapt_datetimefield_value(now + LEASE)
    free = "due_at <= %s AND (lease_expires_at IS NULL OR lease_expires_at < %s)"
    skip = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {_table()} SET lease_owner = %s, lease_expires_at = %s "  # noqa: S608
        f"WHERE {free} AND id IN (SELECT id FROM {_table()} WHERE {free} "
        f"ORDER BY due_at LIMIT %s{skip}) RETURNING id, tenant_id, user_id, stamp, due_at"
    )
    with connection.cursor() as cursor:
        # A read first: an idle evaluator polls often, and must not take SQLite's write lock to
        # find nothing.
        cursor.execute(f"SELECT 1 FROM {_table()} WHERE {free} LIMIT 1", [at, at])  # noqa: S608
        if cursor.fetchone() is None:
            return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [owner, expires, at, at, at, at, limit])
        rows = cursor.fetchall()
    return [Claimed(int(r[0]), int(r[1]), str(r[2]), int(r[3]), _datetime(r[4])) for r in rows]


def _datetime(value: Any) -> datetime:
    """A timestamp as a raw cursor returns it (text on SQLite), aware."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        value = parsed
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def users_done(*, rows: list[Claimed], owner: str, next_due: dict[str, datetime]) -> None:
    """The users were evaluated as of each row's stamp: delete each row unless a newer write came
    (then only its lease is let go: it is due again), and keep the next moment time changes
    their membership (`next_due`) as their row's due time, in the same transaction."""
    if not rows:
        return
    pairs = ", ".join(["(%s, %s)"] * len(rows))
    params: list[Any] = [owner]
    for row in rows:
        params += [row.id, row.stamp]
    ids = ", ".join(["%s"] * len(rows))
    with transaction.atomic(), connection.cursor() as cursor:
        # One statement each, whatever the batch: a row whose stamp moved stays, its lease let go.
        cursor.execute(
            f"DELETE FROM {_table()} WHERE lease_owner = %s AND (id, stamp) IN (VALUES {pairs})",  # noqa: S608
            params,
        )
        cursor.execute(
            f"UPDATE {_table()} SET lease_owner = '', lease_expires_at = NULL "  # noqa: S608
            f"WHERE lease_owner = %s AND id IN ({ids})",
            [owner, *(row.id for row in rows)],
        )
        if next_due:
            users_enqueue_at(tenant_id=rows[0].tenant_id, dues=next_due)


def users_later(*, rows: list[Claimed], owner: str, due_at: datetime) -> None:
    """Keep the users pending (a segment is being computed): claimable again at `due_at`. Their
    due time stays (what they ask about is read from it, triggers.py): the lease, held by
    nobody, expires then."""
    if not rows:
        return
    ids = ", ".join(["%s"] * len(rows))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET lease_owner = '', lease_expires_at = %s "  # noqa: S608
            f"WHERE lease_owner = %s AND id IN ({ids})",
            [connection.ops.adapt_datetimefield_value(due_at), owner, *(row.id for row in rows)],
        )


def users_hold(*, rows: list[Claimed], owner: str, now: datetime) -> bool:
    """In an applying transaction: renew the lease on `rows`, True if this worker still holds
    every one. A worker whose lease lapsed (a round longer than LEASE) may have been overtaken by
    another that read newer events; it then applies nothing, so an older read never lands after
    a newer one (the other's claim waits for this transaction, or this one sees it)."""
    if not rows:
        return True
    ids = ", ".join(["%s"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET lease_expires_at = %s "  # noqa: S608
            f"WHERE lease_owner = %s AND id IN ({ids})",
            [connection.ops.adapt_datetimefield_value(now + LEASE), owner, *(row.id for row in rows)],
        )
        return int(cursor.rowcount) == len(rows)


def pending_count() -> int:
    """Rows waiting (due or not): the evaluator's backlog, for the metrics and the tests."""
    return LivePending.objects.unscoped_all_tenants().count()  # worker bookkeeping spans tenants


def batch_size() -> int:
    return int(settings.SEGOPS_LIVE_BATCH)
