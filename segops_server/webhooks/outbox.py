"""The deliveries a compute queues, written in its swap's transaction (an outbox): the webhooks'
events exist exactly when the new generation does, and a failed compute, which never swaps,
queues nothing. A live change (segments/live/) queues its own in its transaction the same way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from rest_framework import serializers

from segops_server.accounts.models import Tenant
from segops_server.activations.plan import activations_plan, activations_plan_changes
from segops_server.segments.models import Segment
from segops_server.webhooks.chunks import Users, changes_chunks, users_chunks
from segops_server.webhooks.deliveries import BULK_BATCH, Queued, deliveries_queue
from segops_server.webhooks.models import Webhook, WebhookEvent


def iso_datetime(value: datetime) -> str:
    """A time as the API writes it (ISO 8601, `Z` for UTC)."""
    return str(serializers.DateTimeField().to_representation(value))


def webhooks_subscribed(*, tenant: Tenant, segment_id: int) -> list[Webhook]:
    """The tenant's active webhooks that hear about `segment_id`, oldest first."""
    hooks = Webhook.objects.for_tenant(tenant).filter(is_active=True).order_by("id")
    return [hook for hook in hooks if hook.segment_ids is None or segment_id in hook.segment_ids]


def compute_outbox_write(
    *, tenant: Tenant, segment: Segment, generation: int, member_count: int, now: datetime
) -> int:
    """Queue what the compute that swapped in `generation` tells the tenant's webhooks: for each
    one subscribed, the membership changes in chunks of at most 1,000 users (when there are any)
    then `segment.recomputed`; then plan the segment's activation syncs. Call it inside the swap's
    transaction. Returns the number of webhook deliveries queued."""
    hooks = webhooks_subscribed(tenant=tenant, segment_id=segment.pk)
    changed = [hook for hook in hooks if WebhookEvent.MEMBERSHIP_CHANGED in hook.events]
    membership: dict[str, Any] = {
        "event": WebhookEvent.MEMBERSHIP_CHANGED.value,
        "tenant_slug": tenant.slug,
        "segment_id": segment.pk,
        "segment_name": segment.name,
        "generation": generation,
    }
    recomputed: dict[str, Any] = {
        "event": WebhookEvent.RECOMPUTED.value,
        "tenant_slug": tenant.slug,
        "segment_id": segment.pk,
        "segment_name": segment.name,
        "member_count": member_count,
        "computed_at": iso_datetime(now),
    }
    items: list[Queued] = []
    chunks = changes_chunks(segment_id=segment.pk, generation=generation) if changed else iter(())
    queued = _membership_queue(
        tenant=tenant, segment=segment, hooks=changed, payload=membership, chunks=chunks, items=items, now=now
    )
    items.extend(
        Queued(
            tenant_id=tenant.pk,
            segment_id=segment.pk,
            webhook_id=hook.pk,
            event=WebhookEvent.RECOMPUTED,
            payload=recomputed,
        )
        for hook in hooks
        if WebhookEvent.RECOMPUTED in hook.events
    )
    queued += deliveries_queue(items=items, now=now)
    activations_plan(tenant_id=tenant.pk, segment_id=segment.pk, generation=generation, now=now)
    return queued


def _membership_queue(
    *,
    tenant: Tenant,
    segment: Segment,
    hooks: list[Webhook],
    payload: dict[str, Any],
    chunks: Iterator[Users],
    items: list[Queued],
    now: datetime,
) -> int:
    """Queue one membership.changed delivery per chunk for each of `hooks`; what is left under a
    bulk batch stays in `items` for the caller to queue. Returns the number queued."""
    queued = 0
    # The changes are read once for every webhook, and written as they are read: a first compute
    # of a large segment is every member, never held in memory whole. Each webhook's deliveries
    # keep their order (the changes, then recomputed), which is the order they are sent in.
    for chunk in chunks:
        items.extend(
            Queued(
                tenant_id=tenant.pk,
                segment_id=segment.pk,
                webhook_id=hook.pk,
                event=WebhookEvent.MEMBERSHIP_CHANGED,
                payload=payload,
                users=chunk,
            )
            for hook in hooks
        )
        if len(items) >= BULK_BATCH:
            queued += deliveries_queue(items=items, now=now)
            items.clear()
    return queued


def live_outbox_write(
    *, tenant: Tenant, segment: Segment, generation: int, users: Users, now: datetime
) -> int:
    """Queue what a live change of `generation` (spec §13) tells the tenant's webhooks and the
    segment's activations: the users who entered and exited, as a compute's changes are told
    (no `segment.recomputed`: nothing was recomputed). Call it in the change's transaction.
    Returns the number of webhook deliveries queued."""
    hooks = webhooks_subscribed(tenant=tenant, segment_id=segment.pk)
    changed = [hook for hook in hooks if WebhookEvent.MEMBERSHIP_CHANGED in hook.events]
    membership: dict[str, Any] = {
        "event": WebhookEvent.MEMBERSHIP_CHANGED.value,
        "tenant_slug": tenant.slug,
        "segment_id": segment.pk,
        "segment_name": segment.name,
        "generation": generation,
    }
    items: list[Queued] = []
    queued = _membership_queue(
        tenant=tenant,
        segment=segment,
        hooks=changed,
        payload=membership,
        chunks=users_chunks(users),
        items=items,
        now=now,
    )
    queued += deliveries_queue(items=items, now=now)
    activations_plan_changes(
        tenant_id=tenant.pk, segment_id=segment.pk, generation=generation, users=users, now=now
    )
    return queued
