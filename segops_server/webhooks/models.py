"""Webhooks (spec §8) and the deliveries the worker sends: durable rows with a lease, every
attempt recorded.

A Delivery is one POST to one receiver: a webhook's event (a compute's `segment.recomputed`, a
chunk of at most 1,000 users of its `segment.membership_changed`, a `ping`) or one batch of an
activation's sync. Its body is `payload` (and the `users` of a chunk) with the delivery's
`message_id` and the attempt's `sent_at`; the same message id goes out on every retry, so a
receiver can deduplicate. Deliveries to one receiver about one segment are sent in id order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from segops_server.core.scoping import TenantScopedManager


class WebhookEvent(models.TextChoices):
    RECOMPUTED = "segment.recomputed", "Segment recomputed"
    MEMBERSHIP_CHANGED = "segment.membership_changed", "Segment membership changed"


WEBHOOK_EVENTS = [event.value for event in WebhookEvent]


class Webhook(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2000)
    # Kept to sign every delivery; shown once when generated, never read back.
    secret = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    events = models.JSONField(default=list)  # a subset of WEBHOOK_EVENTS
    segment_ids = models.JSONField(null=True, blank=True)  # null: every segment
    # Since when every attempt failed (null after a success): 24 hours of it disable the webhook.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_tenant_active")]

    def __str__(self) -> str:
        return self.url


class DeliveryEvent(models.TextChoices):
    RECOMPUTED = "segment.recomputed", "Segment recomputed"
    MEMBERSHIP_CHANGED = "segment.membership_changed", "Segment membership changed"
    PING = "ping", "Ping"
    ACTIVATION_SYNC = "activation.sync", "Activation sync batch"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first attempt or a retry
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # refused for good (a 4xx) or out of retries


class Delivery(models.Model):
    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    # The receiver: a webhook, or an activation (one batch of `sync`).
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    activation = models.ForeignKey(
        "activations.Activation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sync = models.ForeignKey(
        "activations.ActivationSync", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The segment it is about (null for a ping): with the receiver, the key deliveries are
    # ordered by. Not a foreign key: a segment's deliveries outlive it.
    segment_id = models.BigIntegerField(null=True, blank=True)
    event = models.CharField(max_length=40, choices=DeliveryEvent.choices)
    # The body's `id` (and the Standard Webhooks `webhook-id`; an activation batch's `sync_id`).
    message_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()  # the body's fields but `id`, `sent_at` and the users
    users = models.JSONField(null=True, blank=True)  # {"entered": [...], "exited": [...]}
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The attempt in flight: the worker sending it holds this lease; a lapsed one is sent again.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_recent"),
            models.Index(fields=["sync"], name="delivery_sync"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.message_id}"


class DeliveryAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()  # 1 for the first
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)  # null: no HTTP answer
    duration_ms = models.PositiveIntegerField()
    response = models.TextField(blank=True)  # the first 1 KB of the answer's body
    error = models.TextField(blank=True)  # why it failed, in words (a refused address, a timeout)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
