"""Shared by the identity tests: the two calls, events stored directly, a computed segment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.models import IdentityAlias
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team

ALIAS = "/api/identity/alias/"
MERGE = "/api/identity/merge/"


def alias(client: APIClient, anonymous_id: str, user_id: str) -> Any:
    return client.post(ALIAS, {"anonymous_id": anonymous_id, "user_id": user_id}, format="json")


def merge(client: APIClient, from_user_id: str, into_user_id: str) -> Any:
    return client.post(MERGE, {"from_user_id": from_user_id, "into_user_id": into_user_id}, format="json")


def edges(team: Team) -> dict[str, str]:
    return dict(IdentityAlias.objects.for_tenant(team.tenant).values_list("anonymous_id", "user_id"))


def track(team: Team, user_id: str | None, event_type: str, times: int = 1, **fields: Any) -> None:
    """Store `times` events of `user_id` (a minute apart, the last a minute ago); None: an
    anonymous visitor's, with `anonymous_id` in `fields`."""
    now = timezone.now()
    ids = {} if user_id is None else {"user_id": user_id}
    events = [
        event_validate(
            {
                **ids,
                "event_type": event_type,
                "occurred_at": (now - timedelta(minutes=times - i)).isoformat(),
                **fields,
            },
            now=now,
        )
        for i in range(times)
    ]
    events_store(tenant=team.tenant, events=events, received_at=now)


def compute(segment: Segment) -> Segment:
    segment_compute_run(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment
