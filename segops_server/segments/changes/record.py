"""A compute's difference, in SQL: who left the set and who came, applied to the member stays and
recorded as changes.

- exits: the open stays (`until_generation IS NULL`) of users not in the new set are ended at the
  new generation, and recorded `exited`;
- entries: users of the new set without an open stay get one from the new generation, recorded
  `entered`.
Only the difference is written: a compute that replaces 10 % of a million members writes 200,000
rows, not a million. Exits are recorded first, each side by user id, so a change's id orders them.

PostgreSQL reads the new set once: the rule's rows meet the open stays in one (hash) full join
whose unmatched rows, the difference, go to a small scratch table of the transaction
(`DIFF_TABLE`: a user id and, for a leaver, the stay to delete); the deletion of the leavers'
stays, the insertion of the comers' and the changes then read that table only. It all happens
inside the swap's transaction, and the stays that ended are deleted outright.
SQLite writes the new set to a scratch table of the connection (`SET_TABLE`), then does each side
in short transactions over ranges of CHUNK user ids (found by a read, which takes no write lock),
before the swap; readers of the current generation do not see them until the swap
(segments/members.py), and a compute that fails undoes them (compute/materialise.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from segops_server.segments.models import ChangeKind, SegmentChange, SegmentMember

SET_TABLE = "segops_compute_set"  # SQLite: the new set, a temporary table of the computing connection
DIFF_TABLE = "segops_compute_diff"  # PostgreSQL: the difference, a temporary table of the transaction


class DifferenceMismatch(Exception):
    """The stays deleted are not the leavers found: something else wrote the segment's members
    during the compute, which fails rather than record changes that did not happen."""


def _members() -> str:
    return SegmentMember._meta.db_table


def _changes_insert(change: str) -> str:
    return (
        f"INSERT INTO {SegmentChange._meta.db_table} "
        "(tenant_id, segment_id, generation, user_id, change, at) "
        f"SELECT %s, %s, %s, user_id, '{change}', %s "
    )


@dataclass(frozen=True)
class Difference:
    """What difference_find wrote to DIFF_TABLE, and the size of the new set."""

    count: int
    exits: int
    entries: int


def difference_find(*, cursor: CursorWrapper, segment_id: int, sql: str, params: Sequence[Any]) -> Difference:
    """PostgreSQL: write the difference between the rows of `sql` (one user_id column) and the
    segment's open stays to DIFF_TABLE.

    One pass: the new set is read once and never stored (a million ids written to a table cost
    more than the join), the open stays are hashed once, and only the unmatched rows are
    written. The new set's size is the old one's with the difference applied."""
    members = _members()
    cursor.execute(f"DROP TABLE IF EXISTS {DIFF_TABLE}")  # an enclosing transaction's (a test's)
    cursor.execute(
        f"CREATE TEMPORARY TABLE {DIFF_TABLE} (user_id text NOT NULL, stay_id bigint) ON COMMIT DROP"
    )
    cursor.execute(
        f"INSERT INTO {DIFF_TABLE} (user_id, stay_id) SELECT COALESCE(n.user_id, o.user_id), o.id "  # noqa: S608
        f"FROM ({sql}) n FULL JOIN (SELECT id, user_id FROM {members} "
        "WHERE segment_id = %s AND until_generation IS NULL) o ON o.user_id = n.user_id "
        "WHERE n.user_id IS NULL OR o.user_id IS NULL",
        [*params, segment_id],
    )
    cursor.execute(f"ANALYZE {DIFF_TABLE}")  # its size and spread, for the joins that read it
    cursor.execute(
        f"SELECT (SELECT COUNT(*) FROM {members} WHERE segment_id = %s AND until_generation IS NULL), "  # noqa: S608
        f"COUNT(stay_id), COUNT(*) - COUNT(stay_id) FROM {DIFF_TABLE}",
        [segment_id],
    )
    before, exits, entries = (int(value) for value in cursor.fetchone())
    return Difference(count=before - exits + entries, exits=exits, entries=entries)


def difference_apply(
    *,
    cursor: CursorWrapper,
    difference: Difference,
    tenant_id: int,
    segment_id: int,
    generation: int,
    now: datetime,
) -> None:
    """PostgreSQL: apply DIFF_TABLE (difference_find) in the caller's (the swap's) transaction:
    delete the leavers' stays, open stays for the comers, record both."""
    at = connection.ops.adapt_datetimefield_value(now)
    # Those who left: their stays are deleted at once, not ended (nobody sees this transaction
    # before the swap commits, and a deletion costs less than a new row version).
    cursor.execute(f"DELETE FROM {_members()} o USING {DIFF_TABLE} d WHERE o.id = d.stay_id")  # noqa: S608
    if cursor.rowcount != difference.exits:
        raise DifferenceMismatch(
            f"segment {segment_id}: {cursor.rowcount} of {difference.exits} stays deleted"
        )
    # Those who came, by user id: the index of a segment's members is written in its order.
    cursor.execute(
        f"INSERT INTO {_members()} (tenant_id, segment_id, generation, user_id, computed_at) "  # noqa: S608
        f"SELECT %s, %s, %s, user_id, %s FROM {DIFF_TABLE} WHERE stay_id IS NULL ORDER BY user_id",
        [tenant_id, segment_id, generation, at],
    )
    # Both sides recorded in one statement: the exits first (a stay), then the entries.
    cursor.execute(
        f"INSERT INTO {SegmentChange._meta.db_table} "  # noqa: S608
        "(tenant_id, segment_id, generation, user_id, change, at) "
        "SELECT %s, %s, %s, user_id, CASE WHEN stay_id IS NULL THEN %s ELSE %s END, %s "
        f"FROM {DIFF_TABLE} ORDER BY stay_id IS NULL, user_id",
        [tenant_id, segment_id, generation, ChangeKind.ENTERED.value, ChangeKind.EXITED.value, at],
    )


def _not_in_set(alias: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {SET_TABLE} n WHERE n.user_id = {alias}.user_id)"  # noqa: S608


def _no_open_stay(alias: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM {_members()} m WHERE m.segment_id = %s "  # noqa: S608
        f"AND m.until_generation IS NULL AND m.user_id = {alias}.user_id)"
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
