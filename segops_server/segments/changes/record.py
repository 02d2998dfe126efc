"""Recording a compute's changes: the difference between the old and the new generation, in SQL.

The rows are worked out by the database (INSERT ... SELECT ... WHERE NOT EXISTS between the two
generations), never by comparing lists in Python. PostgreSQL records them in the swap's
transaction (compute/materialise.py), so they appear with the new generation or not at all.
SQLite records them before the swap in short transactions, each over a range of CHUNK user ids of
one generation (found by a read, which takes no write lock); until the swap moves
`Segment.generation` the feed does not show them (changes/selectors.py), and a compute that fails
deletes them with its unswapped members.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from segops_server.segments.models import ChangeKind, SegmentChange, SegmentMember


def _insert_sql(*, ranged: bool) -> str:
    """Rows of generation `side` whose user is not in generation `other`, recorded as `change`."""
    members = SegmentMember._meta.db_table
    bounds = "AND m.user_id > %s AND m.user_id <= %s " if ranged else ""
    return (
        f"INSERT INTO {SegmentChange._meta.db_table} "  # noqa: S608
        "(tenant_id, segment_id, generation, user_id, change, at) "
        f"SELECT %s, %s, %s, m.user_id, %s, %s FROM {members} m "
        f"WHERE m.segment_id = %s AND m.generation = %s {bounds}"
        f"AND NOT EXISTS (SELECT 1 FROM {members} o "
        "WHERE o.segment_id = m.segment_id AND o.generation = %s AND o.user_id = m.user_id) "
        "ORDER BY m.user_id"
    )


_RANGE_END_SQL = (
    "SELECT MAX(user_id) FROM (SELECT user_id FROM {members} "
    "WHERE segment_id = %s AND generation = %s AND user_id > %s ORDER BY user_id LIMIT {chunk}) r"
)


def _sides(generation: int) -> list[tuple[str, int, int]]:
    """(change, generation read, generation compared with): the exits first, then the entries."""
    return [(ChangeKind.EXITED, generation - 1, generation), (ChangeKind.ENTERED, generation, generation - 1)]


def changes_record(
    *, cursor: CursorWrapper, tenant_id: int, segment_id: int, generation: int, now: datetime
) -> None:
    """Record the changes between `generation - 1` and `generation` in two statements (PostgreSQL,
    inside the swap's transaction)."""
    at = connection.ops.adapt_datetimefield_value(now)
    for change, side, other in _sides(generation):
        cursor.execute(
            _insert_sql(ranged=False),
            [tenant_id, segment_id, generation, change, at, segment_id, side, other],
        )


def changes_record_chunked(
    *, tenant_id: int, segment_id: int, generation: int, now: datetime, chunk: int
) -> None:
    """Record the same changes in short transactions of at most `chunk` rows read (SQLite)."""
    at = connection.ops.adapt_datetimefield_value(now)
    range_end = _RANGE_END_SQL.format(members=SegmentMember._meta.db_table, chunk=int(chunk))
    insert = _insert_sql(ranged=True)
    with connection.cursor() as cursor:
        for change, side, other in _sides(generation):
            start = ""  # every user id sorts after the empty string
            while True:
                cursor.execute(range_end, [segment_id, side, start])  # a read: no write lock
                row = cursor.fetchone()
                end = None if row is None else row[0]
                if end is None:
                    break
                with transaction.atomic():
                    cursor.execute(
                        insert,
                        [tenant_id, segment_id, generation, change, at, segment_id, side, start, end, other],
                    )
                start = end
