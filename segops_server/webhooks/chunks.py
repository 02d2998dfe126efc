"""The users a delivery carries, in chunks of at most CHUNK: a compute's changes (worked out in
SQL when it was recorded, segments/changes/record.py) or a whole member set."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection

from segops_server.segments.members import stay_covers
from segops_server.segments.models import ChangeKind, SegmentChange, SegmentMember

CHUNK = 1_000  # users per delivery (spec §8, §11)

Users = dict[str, list[str]]  # {"entered": [...], "exited": [...]}


def changes_chunks(*, segment_id: int, generation: int, size: int = CHUNK) -> Iterator[Users]:
    """The changes recorded for `generation`, in recording order, `size` users a chunk."""
    table = SegmentChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, change FROM {table} WHERE segment_id = %s AND generation = %s ORDER BY id",  # noqa: S608
            [segment_id, generation],
        )
        while rows := cursor.fetchmany(size):
            chunk: Users = {"entered": [], "exited": []}
            for user_id, change in rows:
                chunk["entered" if change == ChangeKind.ENTERED else "exited"].append(user_id)
            yield chunk


def members_chunks(*, segment_id: int, generation: int, size: int = CHUNK) -> Iterator[Users]:
    """Every member of `generation` as entered, by user id, `size` a chunk."""
    user_ids = (
        SegmentMember.objects.unscoped_all_tenants()  # handed a segment id by the planner
        .filter(stay_covers(generation), segment_id=segment_id)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    chunk: list[str] = []
    for user_id in user_ids.iterator(chunk_size=size):
        chunk.append(user_id)
        if len(chunk) == size:
            yield {"entered": chunk, "exited": []}
            chunk = []
    if chunk:
        yield {"entered": chunk, "exited": []}


def users_chunks(users: Users, size: int = CHUNK) -> Iterator[Users]:
    """Given changes (a live evaluation's), `size` users a chunk: the exits first, then the entries,
    as a compute records them."""
    flat = [("exited", u) for u in users["exited"]] + [("entered", u) for u in users["entered"]]
    for start in range(0, len(flat), size):
        chunk: Users = {"entered": [], "exited": []}
        for kind, user_id in flat[start : start + size]:
            chunk[kind].append(user_id)
        yield chunk
