"""What one attempt at a delivery sends, and where: its body (interfaces of spec §8 and §11) and
its receiver's URL and secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from segops_server.webhooks.models import Delivery, DeliveryEvent
from segops_server.webhooks.outbox import iso_datetime


@dataclass(frozen=True)
class Receiver:
    url: str
    secret: str


def delivery_receiver(delivery: Delivery) -> Receiver:
    """The webhook's URL and secret, or the activation's (its config's `url` and `secret`)."""
    if delivery.webhook is not None:
        return Receiver(url=delivery.webhook.url, secret=delivery.webhook.secret)
    assert delivery.activation is not None  # a delivery goes to a webhook or to an activation
    config = delivery.activation.config or {}
    return Receiver(url=str(config.get("url", "")), secret=str(config.get("secret", "")))


def delivery_body(delivery: Delivery, *, now: datetime) -> dict[str, Any]:
    """The JSON body of an attempt made at `now`.

    `segment.recomputed` is exactly the hosted service's payload (receivers written for it keep
    working); the Standard Webhooks headers carry its message id and time. The others carry the
    message id inside the signed body (`id`, or an activation batch's `sync_id`) so that a
    receiver checking only `X-SegOps-Signature` can still deduplicate and refuse replays."""
    users = delivery.users or {}
    if delivery.event == DeliveryEvent.RECOMPUTED:
        return dict(delivery.payload)
    if delivery.event == DeliveryEvent.ACTIVATION_SYNC:
        return {
            **delivery.payload,
            "sync_id": delivery.message_id,
            "entered": users.get("entered", []),
            "exited": users.get("exited", []),
        }
    body: dict[str, Any] = {"id": delivery.message_id, "sent_at": iso_datetime(now), **delivery.payload}
    if delivery.event == DeliveryEvent.MEMBERSHIP_CHANGED:
        body["entered"] = users.get("entered", [])
        body["exited"] = users.get("exited", [])
    return body
