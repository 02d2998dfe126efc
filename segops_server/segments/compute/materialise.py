"""A compute's member set: worked out, its difference from the current set written, then swapped
in at once.

Members are stays (models.SegmentMember: from one generation until another). A compute writes
only the difference: it ends the stays of those who left and opens stays for those who came at
the next generation, recording each as a change (changes/record.py). Readers (the delivery API,
member lists, exports) see the set of the segment's current generation (segments/members.py), so
the difference is invisible until the swap, one short transaction that moves
`Segment.generation`.

PostgreSQL does it all in the swap's transaction, the difference found in one pass over the new
set and the old: its writers do not block each other or any reader. SQLite has one write lock for
the whole file, so there the new set is written to a temporary table (which takes no lock on the
database), the difference in short transactions of CHUNK users, and the swap last; ingestion and
the API wait at most one chunk for the lock.
Stays that ended are deleted after the swap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from segops_server.core.rawsql import statement_timeout
from segops_server.segments.changes.record import (
    SET_TABLE,
    difference_apply,
    difference_apply_chunked,
    difference_find,
)
from segops_server.segments.models import SegmentChange, SegmentMember

COMPUTE_WORK_MEM = "128MB"  # PostgreSQL's work_mem for a compute's difference (a million ids ~ 70 MB)
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
    """Make the rows of `sql` (one user_id column) the set of `generation`, then `swap(count)`;
    returns the count. Stays that ended (SQLite) are deleted after the swap."""
    if connection.vendor == "postgresql":
        # No stay is ever ended there: the leavers' are deleted in the swap's transaction, so
        # there is nothing to collect, and looking would scan every member of the segment.
        return _in_one_transaction(tenant_id, segment_id, generation, now, sql, params, swap)
    count = _chunked_and_swap(tenant_id, segment_id, generation, now, sql, params, swap)
    stays_ended_delete(segment_id=segment_id, generation=generation)
    return count


def stays_ended_delete(*, segment_id: int, generation: int) -> None:
    """Delete the stays that ended at or before `generation`, the segment's current one: no
    reader of it or of a later one sees them."""
    _delete_chunked(_table(), segment_id, "until_generation <= %s", generation)


def members_discard_unswapped(*, segment_id: int, generation: int) -> None:
    """Undo what a compute of `generation` that was never swapped in (failed or interrupted)
    wrote: its changes, the stays it opened, the ends it gave to open stays."""
    _delete_chunked(_changes(), segment_id, "generation >= %s", generation)
    _delete_chunked(_table(), segment_id, "generation >= %s", generation)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET until_generation = NULL WHERE segment_id = %s AND until_generation >= %s",  # noqa: S608
            [segment_id, generation],
        )


def _in_one_transaction(
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
    sql: str,
    params: Sequence[Any],
    swap: Swap,
) -> int:
    with transaction.atomic():
        with (
            connection.cursor() as cursor,
            statement_timeout(cursor, settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS),
        ):
            # The difference is one hash join of the old and the new set: room for it in memory
            # rather than in batches on disk (this transaction only).
            cursor.execute(f"SET LOCAL work_mem = '{COMPUTE_WORK_MEM}'")
            difference = difference_find(cursor=cursor, segment_id=segment_id, sql=sql, params=params)
            difference_apply(
                cursor=cursor,
                difference=difference,
                tenant_id=tenant_id,
                segment_id=segment_id,
                generation=generation,
                now=now,
            )
        swap(difference.count)
    return difference.count


def _chunked_and_swap(
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
    sql: str,
    params: Sequence[Any],
    swap: Swap,
) -> int:
    # What an earlier attempt at this generation wrote would be taken for the current set's.
    members_discard_unswapped(segment_id=segment_id, generation=generation)
    with connection.cursor() as cursor:
        # Autocommit statements that write only the connection's temporary table: they read the
        # database in one snapshot (WAL) and take no write lock on it.
        cursor.execute(f"DROP TABLE IF EXISTS temp.{SET_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SET_TABLE} (user_id TEXT NOT NULL PRIMARY KEY)")
        with statement_timeout(cursor, settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS):
            cursor.execute(
                f"INSERT OR IGNORE INTO temp.{SET_TABLE} (user_id) SELECT q.user_id FROM ({sql}) q",  # noqa: S608
                list(params),
            )
        cursor.execute(f"SELECT COUNT(*) FROM temp.{SET_TABLE}")  # noqa: S608
        count = int(cursor.fetchone()[0])
    try:
        difference_apply_chunked(
            tenant_id=tenant_id, segment_id=segment_id, generation=generation, now=now, chunk=CHUNK
        )
        with transaction.atomic():
            swap(count)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS temp.{SET_TABLE}")
    return count


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
