"""Test helpers for activations: orders, a computed segment, an activation made directly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from segops_server.activations.models import Activation, ActivationStatus, ConnectorType
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create, segment_update
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team

RECEIVER = "http://127.0.0.1:9/hook"  # allowed with SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS (tests)


def rule(times: int) -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": times}
        ],
    }


def orders(team: Team, **counts: int) -> None:
    now = timezone.now()
    events = [
        event_validate(
            {"user_id": user, "event_type": "order_placed", "occurred_at": now.isoformat()}, now=now
        )
        for user, count in counts.items()
        for _ in range(count)
    ]
    events_store(tenant=team.tenant, events=events, received_at=now + timedelta(seconds=1))


def buyers(team: Team, times: int = 1) -> Segment:
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=rule(times))


def compute(segment: Segment) -> Segment:
    segment_compute_run(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


def redefine(team: Team, segment: Segment, times: int) -> Segment:
    segment_update(segment=segment, actor=team.owner, definition=rule(times))
    return compute(segment)


def activation_make(
    segment: Segment, *, status: str = ActivationStatus.INACTIVE, synced_generation: int | None = None
) -> Activation:
    activation = Activation(
        tenant=segment.tenant,
        segment=segment,
        connector_type=ConnectorType.WEBHOOK,
        config={"url": RECEIVER, "secret": "s3cret-value"},
        status=status,
        synced_generation=synced_generation,
    )
    activation.save()
    return activation
