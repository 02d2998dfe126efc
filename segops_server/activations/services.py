"""Writes of activations: create, change (activate, pause, new config), delete, and Sync now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from segops_server.accounts.models import Tenant, User
from segops_server.activations.connectors import connector_of
from segops_server.activations.models import (
    Activation,
    ActivationStatus,
    ActivationSync,
    ConnectorType,
    SyncKind,
)
from segops_server.activations.plan import SYNCING, sync_queue
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record
from segops_server.core.errors import Conflict, Invalid, NotFound
from segops_server.keys.models import ApiKey
from segops_server.segments.models import Segment

MAX_PER_SEGMENT = 20  # activations of one segment: each one is a sync after every compute


def _audit(
    action: str,
    activation: Activation,
    *,
    actor: User | None,
    api_key: ApiKey | None,
    request: Any,
    **detail: Any,
) -> None:
    audit_record(
        action=action,
        tenant=activation.tenant,
        actor=actor,
        api_key=api_key,
        key_prefix=api_key.display_prefix if api_key else "",
        request=request,
        activation_id=activation.pk,
        segment_id=activation.segment_id,
        connector_type=activation.connector_type,
        **detail,
    )


def _segment_locked(*, tenant: Tenant | int, segment_id: int) -> Segment:
    """The segment, its row locked (PostgreSQL; SQLite's IMMEDIATE transactions hold the one write
    lock): a compute cannot swap in a new generation, and delete the members of the one read
    here, until this transaction ends."""
    segment = Segment.objects.for_tenant(tenant).select_for_update().filter(pk=segment_id).first()
    if segment is None:
        raise NotFound("Segment not found.")
    return segment


@transaction.atomic
def activation_create(
    *,
    tenant: Tenant,
    segment_id: int,
    connector_type: str,
    config: Any,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: Any = None,
) -> Activation:
    """A new activation, `inactive` until someone activates it (it sends members out)."""
    segment = Segment.objects.for_tenant(tenant).select_for_update().filter(pk=segment_id).first()
    if segment is None:
        raise Invalid({"segment": ["No segment with this id in this workspace."]})
    cleaned = connector_of(connector_type).config_clean(config)
    if Activation.objects.for_tenant(tenant).filter(segment=segment).count() >= MAX_PER_SEGMENT:
        raise Invalid({"segment": [f"A segment can have at most {MAX_PER_SEGMENT} activations."]})
    activation = Activation(
        tenant=tenant,
        segment=segment,
        connector_type=ConnectorType(connector_type),
        config=cleaned,
        status=ActivationStatus.INACTIVE,
        created_by=actor,
    )
    activation.save()
    _audit(Action.ACTIVATION_CREATED, activation, actor=actor, api_key=api_key, request=request)
    return activation


@transaction.atomic
def activation_update(
    *,
    activation: Activation,
    config: Any = None,
    status: str | None = None,
    actor: User | None = None,
    api_key: ApiKey | None = None,
    request: Any = None,
    now: datetime | None = None,
) -> Activation:
    """Change the config and/or the status. Activating (from inactive, or from error to start
    over) sends every member of the computed segment at once, and from then on each compute's
    changes; pausing stops the syncs after computes."""
    segment = _segment_locked(tenant=activation.tenant_id, segment_id=activation.segment_id)
    locked = (
        Activation.objects.for_tenant(activation.tenant_id)
        .select_for_update()
        .filter(pk=activation.pk)
        .first()
    )
    if locked is None:
        raise NotFound("Activation not found.")
    changed: list[str] = []
    if config is not None:
        cleaned = connector_of(locked.connector_type).config_clean(config, stored=locked.config)
        if cleaned != locked.config:
            locked.config = cleaned
            changed.append("config")
    enabling = status == ActivationStatus.ACTIVE and locked.status != ActivationStatus.ACTIVE
    if status is not None and status != locked.status:
        if status == ActivationStatus.ERROR:
            raise Invalid({"status": ["Only a failed sync puts an activation in error."]})
        locked.status = status
        changed.append("status")
    if enabling:
        locked.synced_generation = None
        locked.last_error = ""
    locked.save()
    if enabling and segment.generation > 0:
        sync_queue(
            activation=locked, kind=SyncKind.FULL, generation=segment.generation, now=now or timezone.now()
        )
    if changed:
        detail = {"status": locked.status} if "status" in changed else {}
        _audit(
            Action.ACTIVATION_CHANGED,
            locked,
            actor=actor,
            api_key=api_key,
            request=request,
            changed=changed,
            **detail,
        )
    return locked


@transaction.atomic
def activation_delete(
    *, activation: Activation, actor: User | None = None, api_key: ApiKey | None = None, request: Any = None
) -> None:
    """Delete it, its sync log and its batches not yet sent."""
    _audit(Action.ACTIVATION_DELETED, activation, actor=actor, api_key=api_key, request=request)
    activation.delete()


@transaction.atomic
def activation_sync_now(*, activation: Activation, now: datetime | None = None) -> ActivationSync:
    """Sync now: every member of the segment's current generation, as entered (a full sync)."""
    segment = _segment_locked(tenant=activation.tenant_id, segment_id=activation.segment_id)
    locked = (
        Activation.objects.for_tenant(activation.tenant_id)
        .select_for_update()
        .filter(pk=activation.pk)
        .first()
    )
    if locked is None:
        raise NotFound("Activation not found.")
    if locked.status not in SYNCING:
        raise Conflict('This activation is paused: activate it first (PATCH {"status": "active"}).')
    if segment.generation == 0:
        raise Conflict("The segment has not been computed yet: there are no members to sync.")
    return sync_queue(
        activation=locked, kind=SyncKind.FULL, generation=segment.generation, now=now or timezone.now()
    )
