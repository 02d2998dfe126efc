"""Creating deliveries: the one way a POST to a receiver is queued (the worker sends it)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.utils import timezone

from segops_server.webhooks.models import Delivery


def message_id_new() -> str:
    """A delivery's message id: the body's `id` and the Standard Webhooks `webhook-id`."""
    return "msg_" + secrets.token_urlsafe(18)  # 24 characters of 144 random bits


def delivery_queue(
    *,
    tenant_id: int,
    event: str,
    payload: dict[str, Any],
    users: dict[str, list[str]] | None = None,
    segment_id: int | None = None,
    webhook_id: int | None = None,
    activation_id: int | None = None,
    sync_id: int | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Queue one delivery to a webhook or to an activation, due at once. Call it inside the
    transaction that makes the delivery due (a compute's swap, a ping, a sync)."""
    if (webhook_id is None) == (activation_id is None):
        raise ValueError("A delivery goes to a webhook or to an activation.")
    now = now or timezone.now()
    return Delivery.objects.unscoped_all_tenants().create(
        tenant_id=tenant_id,
        webhook_id=webhook_id,
        activation_id=activation_id,
        sync_id=sync_id,
        segment_id=segment_id,
        event=event,
        message_id=message_id_new(),
        payload=payload,
        users=users,
        next_attempt_at=now,
        created_at=now,
    )
