"""Membership reads: a segment's current members, and the delivery API's which-segments and is-member."""

from __future__ import annotations

from typing import Any

from django.db import connection

from segops_server.accounts.models import Tenant
from segops_server.core.cursors import cursor_decode, cursor_encode
from segops_server.core.errors import Invalid
from segops_server.segments.delivery import snapshots
from segops_server.segments.models import Segment, SegmentMember


def members_page(
    *, segment: Segment, limit: int, cursor: str | None
) -> tuple[list[SegmentMember], str | None]:
    members = SegmentMember.objects.for_tenant(segment.tenant).filter(
        segment=segment, generation=segment.generation
    )
    position = cursor_decode(cursor, 1)
    if position is not None:
        if not isinstance(position[0], str):
            raise Invalid({"cursor": ["Invalid cursor."]})
        members = members.filter(user_id__gt=position[0])
    page = list(members.order_by("user_id")[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, cursor_encode([page[-1].user_id])
    return page, None


_MEMBERSHIP_SQL = (
    "SELECT s.id, s.name, m.computed_at FROM {members} m "
    "JOIN {segments} s ON s.id = m.segment_id AND s.generation = m.generation "
    "WHERE m.tenant_id = %s AND m.user_id = %s ORDER BY s.id"
)


_IN_SEGMENT_SQL = (
    "SELECT EXISTS (SELECT 1 FROM {members} m WHERE m.segment_id = s.id AND m.generation = s.generation "
    "AND m.user_id = %s) FROM {segments} s WHERE s.tenant_id = %s AND s.id = %s"
)


def user_in_segment(*, tenant: Tenant, user_id: str, segment_id: int) -> bool | None:
    """Is the user in the segment's current generation? None when the tenant has no such segment
    (one query answers both, so "not a member" costs no second read)."""
    snapshot = snapshots.snapshot_for(tenant.pk)
    if snapshot is not None:
        return snapshot.is_member(user_id, segment_id)
    sql = _IN_SEGMENT_SQL.format(members=SegmentMember._meta.db_table, segments=Segment._meta.db_table)
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
    sql = _MEMBERSHIP_SQL.format(members=SegmentMember._meta.db_table, segments=Segment._meta.db_table)
    params: list[Any] = [tenant.pk, user_id]
    field = SegmentMember._meta.get_field("computed_at")
    converters = connection.ops.get_db_converters(field.get_col(SegmentMember._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = []
    for pk, name, computed_at in rows:
        for converter in converters:
            computed_at = converter(computed_at, field, connection)
        result.append({"id": pk, "name": name, "computed_at": computed_at})
    return result
