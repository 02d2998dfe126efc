"""Planning syncs: after a compute, each active activation of the segment gets its sync."""

from __future__ import annotations

from datetime import datetime


def activations_plan(*, tenant_id: int, segment_id: int, generation: int, now: datetime) -> None:
    """Queue the syncs of `segment_id`'s active activations for the compute that swapped in
    `generation`; called inside that swap's transaction (webhooks/outbox.py)."""
