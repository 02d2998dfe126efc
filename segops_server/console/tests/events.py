"""Events for console tests, stored through the ingestion service as the API would store them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate


def send(tenant: Tenant, *events: tuple[str, str, int, dict[str, Any]]) -> None:
    """(user_id, event_type, days ago, payload) each."""
    now = timezone.now()
    valid = [
        event_validate(
            {
                "user_id": u,
                "event_type": t,
                "occurred_at": (now - timedelta(days=d)).isoformat(),
                "payload": p,
            },
            now=now,
        )
        for u, t, d, p in events
    ]
    events_store(tenant=tenant, events=valid, received_at=now)


def shop(tenant: Tenant) -> None:
    """alice ordered twice and is on the pro plan, bob ordered twice, carol once."""
    send(
        tenant,
        ("alice", "order_placed", 1, {"amount": 30}),
        ("alice", "order_placed", 2, {"amount": 20}),
        ("alice", "context_identified", 3, {"plan": "pro", "email": "alice@example.com"}),
        ("bob", "order_placed", 3, {"amount": 5}),
        ("bob", "order_placed", 4, {"amount": 5}),
        ("bob", "context_identified", 5, {"plan": "free"}),
        ("carol", "order_placed", 1, {"amount": 100}),
    )
