"""Reads of activations and their sync logs."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Max, QuerySet

from segops_server.accounts.models import Tenant
from segops_server.activations.models import Activation, ActivationSync
from segops_server.core.errors import NotFound


def activations_of_tenant(*, tenant: Tenant, segment_id: int | None = None) -> QuerySet[Activation]:
    activations = Activation.objects.for_tenant(tenant)
    if segment_id is not None:
        activations = activations.filter(segment_id=segment_id)
    return activations.order_by("-created_at", "-pk")


def activation_get(*, tenant: Tenant, activation_id: int) -> Activation:
    activation = Activation.objects.for_tenant(tenant).filter(pk=activation_id).first()
    if activation is None:
        raise NotFound("Activation not found.")
    return activation


def syncs_of_activation(*, activation: Activation) -> QuerySet[ActivationSync]:
    """The sync log, newest first."""
    return (
        ActivationSync.objects.for_tenant(activation.tenant_id).filter(activation=activation).order_by("-id")
    )


def last_syncs(*, tenant: Tenant, activations: Iterable[Activation]) -> dict[int, ActivationSync]:
    """The newest sync of each activation that has one, by activation id (two queries)."""
    ids = [activation.pk for activation in activations]
    newest = (
        ActivationSync.objects.for_tenant(tenant)
        .filter(activation_id__in=ids)
        .values("activation_id")
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )
    syncs = ActivationSync.objects.for_tenant(tenant).filter(id__in=list(newest))
    return {sync.activation_id: sync for sync in syncs}
