"""Each segment's member count per day, the source of the analytics trend."""

from __future__ import annotations

from django.db import models

from segops_server.core.scoping import TenantScopedManager


class SegmentSizeDay(models.Model):
    """A segment's member count at the end of one day (UTC): the last compute or live change wins."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    # No database constraint: the row is written in a compute's swap, and a segment deleted at that
    # moment must not fail the compute; Django still deletes the rows with their segment.
    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    count = models.BigIntegerField()
    recorded_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "day"], name="segment_size_day_unique")]
        indexes = [models.Index(fields=["tenant", "day"], name="segment_size_tenant_day")]

    def __str__(self) -> str:
        return f"{self.segment_id} on {self.day}: {self.count}"
