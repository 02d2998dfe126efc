"""Tests' orders: `order_placed` events for named users, the "bought at least N times" rule over
them, and a compute run in process — the small world the membership, webhook and activation tests
share."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team


def bought_rule(times: int) -> dict[str, Any]:
    """Users with at least `times` orders."""
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": times}
        ],
    }


def orders_send(team: Team, **counts: int) -> None:
    """Store `counts[user]` orders for each user, placed now."""
    now = timezone.now()
    events = [
        event_validate(
            {"user_id": user, "event_type": "order_placed", "occurred_at": now.isoformat()}, now=now
        )
        for user, count in counts.items()
        for _ in range(count)
    ]
    events_store(tenant=team.tenant, events=events, received_at=now + timedelta(seconds=1))


def compute(segment: Segment, **kwargs: Any) -> Segment:
    """Run the segment's compute here (as the worker would) and return it fresh."""
    segment_compute_run(segment_id=segment.pk, **kwargs)
    segment.refresh_from_db()
    return segment
