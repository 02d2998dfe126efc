"""Planning syncs: after a compute, each active activation of the segment gets its sync.

A sync is a log row (ActivationSync) and one delivery per batch of at most 1,000 users; the
users are copied into the deliveries when they are queued, so a later compute (which deletes the
older member sets) never changes what a queued batch carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from segops_server.activations.models import (
    Activation,
    ActivationStatus,
    ActivationSync,
    SyncKind,
    SyncStatus,
)
from segops_server.webhooks.chunks import Users, changes_chunks, members_chunks, users_chunks
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import DeliveryEvent

# Activations that keep syncing after computes: `error` ones too (their last sync failed; the
# next may succeed and puts them back to active).
SYNCING = (ActivationStatus.ACTIVE, ActivationStatus.ERROR)


def activations_plan(*, tenant_id: int, segment_id: int, generation: int, now: datetime) -> None:
    """Queue the syncs of `segment_id`'s active activations for the compute that swapped in
    `generation`; called inside that swap's transaction (webhooks/outbox.py).

    An activation whose receiver holds the generation before gets this compute's changes; any
    other (new, switched back on, or after a failed sync) gets every member of `generation`."""
    activations = (
        Activation.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(segment_id=segment_id, status__in=SYNCING)
        .order_by("pk")
    )
    for activation in activations:
        kind = SyncKind.CHANGES if activation.synced_generation == generation - 1 else SyncKind.FULL
        sync_queue(activation=activation, kind=kind, generation=generation, now=now)


def activations_plan_changes(
    *, tenant_id: int, segment_id: int, generation: int, users: Users, now: datetime
) -> None:
    """Queue a sync of the given changes (a live change of `generation`, spec §13) for each active
    activation whose receiver holds `generation`; the others get every member at their next
    full sync. Called in the change's transaction, which holds the segment's row."""
    activations = (
        Activation.objects.for_tenant(tenant_id)
        .select_for_update()
        .filter(segment_id=segment_id, status__in=SYNCING, synced_generation=generation)
        .order_by("pk")
    )
    for activation in activations:
        sync_queue(
            activation=activation,
            kind=SyncKind.CHANGES,
            generation=generation,
            now=now,
            given=users_chunks(users),
        )


def sync_queue(
    *, activation: Activation, kind: str, generation: int, now: datetime, given: Iterator[Users] | None = None
) -> ActivationSync:
    """Log one sync of `activation` to `generation` and queue its batches (the `given` users, or
    those of `kind`); call it in a transaction that holds the segment (its swap, or a lock on its
    row) so `generation`'s members stay put."""
    sync = ActivationSync(
        tenant_id=activation.tenant_id,
        activation=activation,
        kind=kind,
        generation=generation,
        started_at=now,
    )
    sync.save()
    segment_id = activation.segment_id
    chunks: Iterator[Users]
    if given is not None:
        chunks = given
    elif kind == SyncKind.CHANGES:
        chunks = changes_chunks(segment_id=segment_id, generation=generation)
    else:
        chunks = members_chunks(segment_id=segment_id, generation=generation)
    payload = {
        "event": DeliveryEvent.ACTIVATION_SYNC.value,
        "activation_id": activation.pk,
        "segment_id": segment_id,
    }
    for users in chunks:
        delivery_queue(
            tenant_id=activation.tenant_id,
            event=DeliveryEvent.ACTIVATION_SYNC,
            payload=payload,
            users=users,
            segment_id=segment_id,
            activation_id=activation.pk,
            sync_id=sync.pk,
            now=now,
        )
        sync.batches += 1
        sync.entered += len(users["entered"])
        sync.exited += len(users["exited"])
    fields = ["batches", "entered", "exited"]
    activation.synced_generation = generation
    activation_fields = ["synced_generation", "updated_at"]
    if sync.batches == 0:
        # Nothing to send: the receiver already holds this generation.
        sync.status, sync.finished_at = SyncStatus.SUCCEEDED, now
        fields += ["status", "finished_at"]
        if activation.status == ActivationStatus.ACTIVE:
            activation.last_synced_at = now
            activation_fields.append("last_synced_at")
    sync.save(update_fields=fields)
    activation.save(update_fields=activation_fields)
    return sync
