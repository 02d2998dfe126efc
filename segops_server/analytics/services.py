"""Writes of analytics: a segment's size for the day, recorded by computes and live changes."""

from __future__ import annotations

from datetime import date

from segops_server.analytics.models import SegmentSizeDay


def segment_size_record(*, segment_id: int, tenant_id: int, day: date, count: int) -> None:
    """Upsert the segment's member count for `day` (one row per segment per day; the latest wins).

    Called inside a compute's swap (segments/compute/services.py) and by live membership changes,
    so it stays one statement and imports nothing of the segments app."""
    SegmentSizeDay.objects.for_tenant(tenant_id).bulk_create(
        [SegmentSizeDay(tenant_id=tenant_id, segment_id=segment_id, day=day, count=count)],
        update_conflicts=True,
        unique_fields=["segment", "day"],
        update_fields=["count", "recorded_at"],
    )
