"""Creating deliveries: the one way a POST to a receiver is queued (the worker sends it)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import JSONField, Value
from django.utils import timezone

from segops_server.webhooks.models import Delivery


def message_id_new() -> str:
    """A delivery's message id: the body's `id` and the Standard Webhooks `webhook-id`."""
    return "msg_" + secrets.token_urlsafe(18)  # 24 characters of 144 random bits


@dataclass(frozen=True)
class Queued:
    """One delivery to queue: its receiver (a webhook or an activation) and what it carries."""

    tenant_id: int
    event: str
    payload: dict[str, Any]
    users: dict[str, list[str]] | None = None
    segment_id: int | None = None
    webhook_id: int | None = None
    activation_id: int | None = None
    sync_id: int | None = None


def _json(value: dict[str, Any]) -> Any:
    """A JSON column's value as its own parameter of a bulk INSERT. For many rows, Django's
    PostgreSQL backend passes each column as one array (UNNEST), which the driver escapes in
    Python, a regular-expression call per quote: ~2 s for a compute's 200 chunks of 1,000 user
    ids. As an expression, each value is a parameter of its own, escaped by libpq."""
    return Value(value, output_field=JSONField())


def _row(item: Queued, now: datetime) -> Delivery:
    if (item.webhook_id is None) == (item.activation_id is None):
        raise ValueError("A delivery goes to a webhook or to an activation.")
    return Delivery(
        tenant_id=item.tenant_id,
        webhook_id=item.webhook_id,
        activation_id=item.activation_id,
        sync_id=item.sync_id,
        segment_id=item.segment_id,
        event=item.event,
        message_id=message_id_new(),
        payload=item.payload,
        users=item.users,
        next_attempt_at=now,
        created_at=now,
    )


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
    item = Queued(
        tenant_id=tenant_id,
        event=event,
        payload=payload,
        users=users,
        segment_id=segment_id,
        webhook_id=webhook_id,
        activation_id=activation_id,
        sync_id=sync_id,
    )
    row = _row(item, now or timezone.now())
    row.save(force_insert=True)
    return row


BULK_BATCH = 500  # rows per INSERT: a chunk's users make each row up to ~40 KB


def deliveries_queue(*, items: Iterable[Queued], now: datetime | None = None) -> int:
    """`delivery_queue` for many deliveries at once (a compute's chunks for every webhook), in
    as few INSERTs as the batch size allows; their ids keep the order of `items`, which is the
    order they are sent in. Returns how many were queued."""
    now = now or timezone.now()
    rows = [_row(item, now) for item in items]
    for row in rows:  # the rows are not handed back: their JSON may be expressions
        row.payload = _json(row.payload)
        if row.users is not None:
            row.users = _json(row.users)
    Delivery.objects.unscoped_all_tenants().bulk_create(rows, batch_size=BULK_BATCH)
    return len(rows)
