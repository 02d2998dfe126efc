"""Activations (spec §11): a connector per segment that receives who entered and who left it.

Each compute plans one sync per active activation of its segment (activations/plan.py): the
changes of that compute, or every member when the receiver holds nothing yet. A sync's batches
are sent as deliveries (webhooks/models.py Delivery, one per batch of at most 1,000 users), so
they are durable, leased and retried like every webhook.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from segops_server.core.scoping import TenantScopedManager


class ConnectorType(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    # Named by the contract, not part of this installation: creating one answers 400.
    KLAVIYO = "klaviyo", "Klaviyo"
    BRAZE = "braze", "Braze"
    TALONONE = "talonone", "Talon.One"


AVAILABLE_CONNECTORS = frozenset({ConnectorType.WEBHOOK})


class ActivationStatus(models.TextChoices):
    INACTIVE = "inactive", "Inactive"
    ACTIVE = "active", "Active"
    ERROR = "error", "Error"  # still synced after computes; its last sync failed


class Activation(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey("segments.Segment", on_delete=models.CASCADE, related_name="+")
    connector_type = models.CharField(max_length=20, choices=ConnectorType.choices)
    # For `webhook`: {"url", "secret"}. Secret values never leave the server (read back as "***").
    config = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ActivationStatus.choices, default=ActivationStatus.INACTIVE
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The segment generation the receiver was last planned to hold; null: it holds nothing we know
    # of (new, or switched back on), so the next sync sends every member.
    synced_generation = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["segment", "status"], name="activation_segment_status")]

    def __str__(self) -> str:
        return f"{self.connector_type} of segment {self.segment_id}"


class SyncKind(models.TextChoices):
    FULL = "full", "Every member"
    CHANGES = "changes", "Changes of one compute"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ActivationSync(models.Model):
    """One sync of an activation (its log line): what it carries and how it ended."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    activation = models.ForeignKey(Activation, on_delete=models.CASCADE, related_name="syncs")
    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    generation = models.BigIntegerField()  # the segment generation it brings the receiver to
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    entered = models.BigIntegerField(default=0)  # users sent as entered
    exited = models.BigIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)  # deliveries of at most 1,000 users
    batches_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    # When its batches were queued. Null: not yet — a full sync's members are read by the task
    # worker (activations/tasks.py), never in the request or the compute's swap that asked for it.
    queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["activation", "-id"], name="activation_sync_recent")]

    def __str__(self) -> str:
        return f"sync {self.pk} of activation {self.activation_id}"
