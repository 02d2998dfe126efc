"""A compute's difference, in SQL: who left the set and who came, applied to the member stays and
recorded as changes by the same statements.

The new set is first written to a scratch table of the connection (`SET_TABLE`, one user_id
column). Then:
- exits: the open stays (`until_generation IS NULL`) of users not in the new set are ended at the
  new generation, and recorded `exited`;
- entries: users of the new set without an open stay get one from the new generation, recorded
  `entered`.
Only the difference is written: a compute that replaces 10 % of a million members writes 200,000
rows, not a million. Exits come first, so a change's id orders them as before.

PostgreSQL does each side in one statement (a data-modifying CTE) inside the swap's transaction,
and deletes the stays that ended outright.
SQLite does them in short transactions over ranges of CHUNK user ids (found by a read, which takes
no write lock), before the swap; readers of the current generation do not see them until the swap
(segments/members.py), and a compute that fails undoes them (compute/materialise.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from segops_server.segments.models import ChangeKind, SegmentChange, SegmentMember

SET_TABLE = "segops_compute_set"  # the new set, a temporary table of the computing connection


def _members() -> str:
    return SegmentMember._meta.db_table


def _changes_insert(change: str) -> str:
    return (
        f"INSERT INTO {SegmentChange._meta.db_table} "
        "(tenant_id, segment_id, generation, user_id, change, at) "
        f"SELECT %s, %s, %s, user_id, '{change}', %s "
    )


def _not_in_set(alias: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {SET_TABLE} n WHERE n.user_id = {alias}.user_id)"  # noqa: S608


def _no_open_stay(alias: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM {_members()} m WHERE m.segment_id = %s "  # noqa: S608
        f"AND m.until_generation IS NULL AND m.user_id = {alias}.user_id)"
    )


def difference_apply(
    *, cursor: CursorWrapper, tenant_id: int, segment_id: int, generation: int, now: datetime
) -> None:
    """PostgreSQL: delete the stays of those who left and open stays for those who came, recording
    both, in two statements of the caller's (the swap's) transaction."""
    at = connection.ops.adapt_datetimefield_value(now)
    exited, entered = ChangeKind.EXITED.value, ChangeKind.ENTERED.value
    # Those who left: their stays are deleted at once, not ended (nobody sees this transaction
    # before the swap commits, and a deletion costs less than a new row version).
    cursor.execute(
        f"WITH gone AS (DELETE FROM {_members()} o "  # noqa: S608
        f"WHERE o.segment_id = %s AND o.until_generation IS NULL AND {_not_in_set('o')} "
        "RETURNING o.user_id) " + _changes_insert(exited) + "FROM gone ORDER BY user_id",
        [segment_id, tenant_id, segment_id, generation, at],
    )
    cursor.execute(
        f"WITH came AS (INSERT INTO {_members()} "  # noqa: S608
        "(tenant_id, segment_id, generation, user_id, computed_at) "
        f"SELECT %s, %s, %s, n.user_id, %s FROM {SET_TABLE} n WHERE {_no_open_stay('n')} "
        "RETURNING user_id) " + _changes_insert(entered) + "FROM came ORDER BY user_id",
        [tenant_id, segment_id, generation, at, segment_id, tenant_id, segment_id, generation, at],
    )


def _range_end(cursor: CursorWrapper, sql: str, params: list[Any], start: str, chunk: int) -> str | None:
    cursor.execute(
        f"SELECT MAX(user_id) FROM ({sql} AND user_id > %s ORDER BY user_id LIMIT {int(chunk)}) r",  # noqa: S608
        [*params, start],
    )
    row = cursor.fetchone()
    return None if row is None else row[0]


def difference_apply_chunked(
    *, tenant_id: int, segment_id: int, generation: int, now: datetime, chunk: int
) -> None:
    """SQLite: the same difference in short write transactions of at most `chunk` users read."""
    at = connection.ops.adapt_datetimefield_value(now)
    members = _members()
    open_stays = f"SELECT user_id FROM {members} WHERE segment_id = %s AND until_generation IS NULL"  # noqa: S608
    leavers = (
        f"FROM {members} o WHERE o.segment_id = %s AND o.until_generation IS NULL "
        f"AND o.user_id > %s AND o.user_id <= %s AND {_not_in_set('o')}"
    )
    comers = f"FROM {SET_TABLE} n WHERE n.user_id > %s AND n.user_id <= %s AND {_no_open_stay('n')}"
    with connection.cursor() as cursor:
        start = ""  # every user id sorts after the empty string
        while (end := _range_end(cursor, open_stays, [segment_id], start, chunk)) is not None:
            with transaction.atomic():
                cursor.execute(
                    _changes_insert(ChangeKind.EXITED) + leavers + " ORDER BY o.user_id",
                    [tenant_id, segment_id, generation, at, segment_id, start, end],
                )
                cursor.execute(
                    f"UPDATE {members} SET until_generation = %s WHERE id IN (SELECT o.id {leavers})",  # noqa: S608
                    [generation, segment_id, start, end],
                )
            start = end
        start = ""
        new_set = f"SELECT user_id FROM {SET_TABLE} WHERE 1 = 1"  # noqa: S608
        while (end := _range_end(cursor, new_set, [], start, chunk)) is not None:
            with transaction.atomic():
                cursor.execute(
                    _changes_insert(ChangeKind.ENTERED) + comers + " ORDER BY n.user_id",
                    [tenant_id, segment_id, generation, at, start, end, segment_id],
                )
                cursor.execute(
                    f"INSERT INTO {members} (tenant_id, segment_id, generation, user_id, computed_at) "
                    f"SELECT %s, %s, %s, n.user_id, %s {comers}",
                    [tenant_id, segment_id, generation, at, start, end, segment_id],
                )
            start = end
