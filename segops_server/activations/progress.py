"""A sync's progress, told by the delivery worker as its batches are sent."""

from __future__ import annotations

from datetime import datetime

from segops_server.activations.models import Activation, ActivationStatus, ActivationSync, SyncStatus
from segops_server.webhooks.models import Delivery, DeliveryStatus

MAX_ERROR = 2_000  # characters of a failure kept on the activation and its sync


def sync_batch_attempted(
    *, delivery: Delivery, succeeded: bool, final: bool, error: str, now: datetime
) -> None:
    """One attempt at a batch of an activation's sync ended (`delivery.activation_id` is set).

    `succeeded`: the receiver took it. `final`: the batch is settled (succeeded, refused for good,
    or out of retries); otherwise it will be tried again. Called in the transaction that records
    the attempt.

    The last batch of a sync delivered: the sync succeeded, and the activation is back to active
    with no error. A failed attempt puts the activation in `error` with the failure's words (a
    paused one stays paused). A batch that failed for good fails its sync, and the activation's
    receiver no longer holds a generation we know of: the next sync sends every member.
    """
    tenant_id = delivery.tenant_id
    if delivery.activation_id is None or delivery.sync_id is None:
        return  # a webhook's delivery: not a sync's batch
    activation = (
        Activation.objects.for_tenant(tenant_id).select_for_update().filter(pk=delivery.activation_id).first()
    )
    sync = (
        ActivationSync.objects.for_tenant(tenant_id).select_for_update().filter(pk=delivery.sync_id).first()
    )
    if activation is None or sync is None:
        return  # deleted meanwhile (its deliveries go with it)
    error = error[:MAX_ERROR]
    if succeeded:
        # Counted from the batches themselves (this one, whether or not its row says so yet, and
        # the others that succeeded), so a batch delivered twice (sent again by hand) counts once.
        others = (
            Delivery.objects.for_tenant(tenant_id)
            .filter(sync_id=sync.pk, status=DeliveryStatus.SUCCEEDED)
            .exclude(pk=delivery.pk)
            .count()
        )
        sync.batches_done = others + 1
        if sync.batches_done >= sync.batches and sync.status == SyncStatus.RUNNING:
            sync.status, sync.finished_at = SyncStatus.SUCCEEDED, now
            activation.last_synced_at = now
            activation.last_error = ""
            if activation.status == ActivationStatus.ERROR:
                activation.status = ActivationStatus.ACTIVE
        sync.save(update_fields=["batches_done", "status", "finished_at"])
        activation.save(update_fields=["last_synced_at", "last_error", "status", "updated_at"])
        return
    activation.last_error = error or "The receiver did not take the batch."
    if activation.status != ActivationStatus.INACTIVE:
        activation.status = ActivationStatus.ERROR
    fields = ["last_error", "status", "updated_at"]
    if final:
        if sync.status == SyncStatus.RUNNING:
            sync.status, sync.finished_at = SyncStatus.FAILED, now
            sync.error = activation.last_error
            sync.save(update_fields=["status", "finished_at", "error"])
        activation.synced_generation = None
        fields.append("synced_generation")
    activation.save(update_fields=fields)
