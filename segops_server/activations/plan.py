"""Planning syncs: after a compute, each active activation of the segment gets its sync.

A sync is a log row (ActivationSync) and one delivery per batch of at most 1,000 users; the
users are copied into the deliveries when they are queued, so a later compute never changes what
a queued batch carries. A compute's changes are queued in its swap's transaction; every member (a
full sync) is read by the task worker, from the segment's set when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from segops_server.activations.models import (
    Activation,
    ActivationStatus,
    ActivationSync,
    SyncKind,
    SyncStatus,
)
from segops_server.core.workers import tasks_waiting
from segops_server.segments.models import Segment
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
    *, activation: Activation, kind: str, generation: int, now: datetime, given: Iterable[Users] | None = None
) -> ActivationSync:
    """Log one sync of `activation` to `generation` and queue its batches (the `given` users, or
    those of `kind`); call it in a transaction that holds the segment (its swap, or a lock on its
    row) so `generation`'s changes stay put.

    Changes (a compute's, in its swap's transaction; a live change's) are queued here. Every member
    (a full sync, as many batches as the segment has thousands of members) is read by the task
    worker: the task is queued in this transaction, so it exists exactly when the sync does."""
    from segops_server.activations.tasks import sync_fill

    sync = ActivationSync(
        tenant_id=activation.tenant_id,
        activation=activation,
        kind=kind,
        generation=generation,
        started_at=now,
    )
    sync.save()
    activation.synced_generation = generation
    activation.save(update_fields=["synced_generation", "updated_at"])
    if given is not None:
        _batches_queue(sync, activation, given, now)
    elif kind == SyncKind.CHANGES:
        _batches_queue(
            sync, activation, changes_chunks(segment_id=activation.segment_id, generation=generation), now
        )
    else:
        sync_fill.enqueue(sync.pk)
        sync.refresh_from_db()  # as queued so far (a worker that runs tasks at once has filled it)
    return sync


def sync_fill_run(*, sync_id: int, now: datetime | None = None) -> None:
    """Queue a full sync's batches: every member of the segment's current generation (the task
    worker). Runs once per sync: a second run finds it queued and does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        # The worker is handed an id: the sync names its tenant.
        sync = (
            ActivationSync.objects.unscoped_all_tenants()
            .select_for_update()
            .filter(pk=sync_id, status=SyncStatus.RUNNING, queued_at__isnull=True)
            .first()
        )
        if sync is None:
            return
        activation = Activation.objects.for_tenant(sync.tenant_id).filter(pk=sync.activation_id).first()
        if activation is None:
            return  # deleted meanwhile, the sync with it
        # Held until this commits: a compute's swap waits, so the generation read stays put.
        segment = (
            Segment.objects.for_tenant(sync.tenant_id)
            .select_for_update()
            .filter(pk=activation.segment_id)
            .first()
        )
        if segment is None:
            return
        sync.generation = segment.generation
        sync.save(update_fields=["generation"])
        chunks = members_chunks(segment_id=segment.pk, generation=segment.generation)
        _batches_queue(sync, activation, chunks, now)


def syncs_rescue(*, now: datetime | None = None) -> int:
    """Queue again the full syncs whose batches were never queued and whose task is neither
    waiting nor running (it failed, the database away): the scheduler's rescue round."""
    from segops_server.activations.tasks import sync_fill

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SEGOPS_TASK_LEASE_SECONDS)
    stalled = (
        ActivationSync.objects.unscoped_all_tenants()  # the rescue spans tenants
        .filter(status=SyncStatus.RUNNING, queued_at__isnull=True, started_at__lt=cutoff)
        .values_list("pk", flat=True)
    )
    waiting = {str(arg) for arg in tasks_waiting(sync_fill)}
    rescued = 0
    for pk in stalled:
        if str(pk) not in waiting:
            sync_fill.enqueue(pk)
            rescued += 1
    return rescued


def _batches_queue(
    sync: ActivationSync, activation: Activation, chunks: Iterable[Users], now: datetime
) -> None:
    """One delivery per chunk of users; a sync with nobody to send succeeds at once."""
    segment_id = activation.segment_id
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
    sync.queued_at = now
    fields = ["batches", "entered", "exited", "queued_at"]
    if sync.batches == 0:
        # Nothing to send: the receiver already holds this generation.
        sync.status, sync.finished_at = SyncStatus.SUCCEEDED, now
        fields += ["status", "finished_at"]
        if activation.status == ActivationStatus.ACTIVE:
            activation.last_synced_at = now
            activation.save(update_fields=["last_synced_at", "updated_at"])
    sync.save(update_fields=fields)
