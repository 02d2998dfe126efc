"""A compute's member set: worked out, written as a new generation, then swapped in at once.

Readers (the delivery API, member lists, exports) only see the rows whose generation is the
segment's current one, so a new generation is invisible until the swap, one short transaction
that moves `Segment.generation`.

PostgreSQL writes the new generation with one INSERT ... SELECT in the swap's transaction: its
writers do not block each other or any reader. SQLite has one write lock for the whole file, so
there the member set is worked out in a read (which never takes the lock), written in short
transactions of CHUNK rows, and the old generation deleted the same way; ingestion and the API
wait at most one chunk for the lock, never the whole compute.

Each compute also records who entered and who exited the set (changes/record.py): on PostgreSQL in
the swap's transaction, on SQLite in chunks before the swap, in both cases while the old
generation is still there to compare with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from segops_server.core.rawsql import statement_timeout
from segops_server.segments.changes.record import changes_record, changes_record_chunked
from segops_server.segments.models import SegmentChange, SegmentMember

CHUNK = 5_000  # rows per write transaction on SQLite: a few milliseconds of write lock each

Swap = Callable[[int], None]  # given the member count, moves the segment to the new generation


def _table() -> str:
    return SegmentMember._meta.db_table


def _changes() -> str:
    return SegmentChange._meta.db_table


def members_materialise(
    *,
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
    sql: str,
    params: Sequence[Any],
    swap: Swap,
) -> int:
    """Write the rows of `sql` (one user_id column) as `generation`, then `swap(count)`; returns
    the count. Rows of older generations are deleted after the swap."""
    if connection.vendor == "postgresql":
        count = _insert_select_and_swap(tenant_id, segment_id, generation, now, sql, params, swap)
    else:
        count = _chunked_and_swap(tenant_id, segment_id, generation, now, sql, params, swap)
    _delete_chunked(_table(), segment_id, "generation < %s", generation)
    return count


def members_discard_unswapped(*, segment_id: int, generation: int) -> None:
    """Delete rows of a generation that was never swapped in (a failed or interrupted compute),
    and the changes recorded for it: a failed compute leaves no changes."""
    _delete_chunked(_changes(), segment_id, "generation >= %s", generation)
    _delete_chunked(_table(), segment_id, "generation >= %s", generation)


def _insert_select_and_swap(
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
    sql: str,
    params: Sequence[Any],
    swap: Swap,
) -> int:
    insert = (
        f"INSERT INTO {_table()} (tenant_id, segment_id, generation, user_id, computed_at) "  # noqa: S608
        f"SELECT %s, %s, %s, q.user_id, %s FROM ({sql}) q"
    )
    with transaction.atomic():
        with (
            connection.cursor() as cursor,
            statement_timeout(cursor, settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS),
        ):
            at = connection.ops.adapt_datetimefield_value(now)
            cursor.execute(insert, [tenant_id, segment_id, generation, at, *params])
            count = int(cursor.rowcount)
            changes_record(
                cursor=cursor, tenant_id=tenant_id, segment_id=segment_id, generation=generation, now=now
            )
        swap(count)
    return count


def _chunked_and_swap(
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
    sql: str,
    params: Sequence[Any],
    swap: Swap,
) -> int:
    # Leftovers of an earlier attempt at this generation would collide with the unique constraint.
    members_discard_unswapped(segment_id=segment_id, generation=generation)
    # A plain read in autocommit: in WAL mode it sees one snapshot and takes no write lock.
    with connection.cursor() as cursor, statement_timeout(cursor, settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS):
        cursor.execute(sql, list(params))
        user_ids = [row[0] for row in cursor.fetchall()]
    insert = (
        f"INSERT INTO {_table()} (tenant_id, segment_id, generation, user_id, computed_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s)"
    )
    at = connection.ops.adapt_datetimefield_value(now)
    for start in range(0, len(user_ids), CHUNK):
        rows = [(tenant_id, segment_id, generation, uid, at) for uid in user_ids[start : start + CHUNK]]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, rows)
    changes_record_chunked(
        tenant_id=tenant_id, segment_id=segment_id, generation=generation, now=now, chunk=CHUNK
    )
    with transaction.atomic():
        swap(len(user_ids))
    return len(user_ids)


def _delete_chunked(table: str, segment_id: int, condition: str, generation: int) -> None:
    """DELETE in short transactions of CHUNK rows (one statement on PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"DELETE FROM {table} WHERE segment_id = %s AND {condition}",  # noqa: S608
                [segment_id, generation],
            )
            return
        while True:
            with transaction.atomic():
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608
                    f"WHERE segment_id = %s AND {condition} LIMIT {CHUNK})",
                    [segment_id, generation],
                )
                deleted = cursor.rowcount
            if deleted < CHUNK:
                return
