"""Test helpers for activations: orders, a computed segment, an activation made directly."""

from __future__ import annotations

from segops_server.activations.models import Activation, ActivationStatus, ConnectorType
from segops_server.segments.definitions.services import segment_create, segment_update
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.orders import bought_rule, compute, orders_send

RECEIVER = "http://127.0.0.1:9/hook"  # allowed with SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS (tests)


rule = bought_rule
orders = orders_send


def buyers(team: Team, times: int = 1) -> Segment:
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=rule(times))


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
