"""Membership reads: a segment's current members, and the delivery API's which-segments and is-member."""

from __future__ import annotations

from typing import Any

from django.db import connection

from segops_server.accounts.models import Tenant
from segops_server.core.cursors import cursor_decode, cursor_encode
from segops_server.core.errors import Invalid
from segops_server.segments.delivery import snapshots
from segops_server.segments.members import stay_covers, stay_covers_sql
from segops_server.segments.models import Segment, SegmentMember


def members_page(
    *, segment: Segment, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the current set's members by user id: `{user_id, computed_at}`, the time of the
    compute the set is (every member of a set shares it)."""
    members = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    position = cursor_decode(cursor, 1)
    if position is not None:
        if not isinstance(position[0], str):
            raise Invalid({"cursor": ["Invalid cursor."]})
        members = members.filter(user_id__gt=position[0])
    user_ids = list(members.order_by("user_id").values_list("user_id", flat=True)[: limit + 1])
    page = [{"user_id": user_id, "computed_at": segment.last_computed_at} for user_id in user_ids[:limit]]
    return page, (cursor_encode([user_ids[limit - 1]]) if len(user_ids) > limit else None)


_COVERS = stay_covers_sql("m", "s.generation")  # the member rows of the current set

_MEMBERSHIP_SQL = (
    "SELECT s.id, s.name, s.last_computed_at FROM {members} m "
    "JOIN {segments} s ON s.id = m.segment_id AND {covers} "
    "WHERE m.tenant_id = %s AND m.user_id = %s ORDER BY s.id"
)


_IN_SEGMENT_SQL = (
    "SELECT EXISTS (SELECT 1 FROM {members} m WHERE m.segment_id = s.id AND {covers} "
    "AND m.user_id = %s) FROM {segments} s WHERE s.tenant_id = %s AND s.id = %s"
)


def user_in_segment(*, tenant: Tenant, user_id: str, segment_id: int) -> bool | None:
    """Is the user in the segment's current generation? None when the tenant has no such segment
    (one query answers both, so "not a member" costs no second read)."""
    snapshot = snapshots.snapshot_for(tenant.pk)
    if snapshot is not None:
        return snapshot.is_member(user_id, segment_id)
    sql = _IN_SEGMENT_SQL.format(
        members=SegmentMember._meta.db_table, segments=Segment._meta.db_table, covers=_COVERS
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, tenant.pk, segment_id])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def user_segments(*, tenant: Tenant, user_id: str) -> list[dict[str, Any]]:
    """The delivery API's question: from the process's membership snapshot (snapshots.py) when
    it has a current one, else in one indexed query (tenant_id, user_id) joined to the
    segments' current generation, so a compute in progress is never half visible."""
    snapshot = snapshots.snapshot_for(tenant.pk)
    if snapshot is not None:
        return snapshot.segments_of(user_id)
    sql = _MEMBERSHIP_SQL.format(
        members=SegmentMember._meta.db_table, segments=Segment._meta.db_table, covers=_COVERS
    )
    params: list[Any] = [tenant.pk, user_id]
    field = Segment._meta.get_field("last_computed_at")
    converters = connection.ops.get_db_converters(field.get_col(Segment._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for pk, name, computed_at in rows:
        for converter in converters:
            computed_at = converter(computed_at, field, connection)
        result.append({"id": pk, "name": name, "computed_at": computed_at})
    return result
