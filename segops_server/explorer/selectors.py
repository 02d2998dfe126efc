"""Reads of users and their events for the explorer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from segops_server.accounts.models import Tenant
from segops_server.core.cursors import cursor_decode, cursor_encode
from segops_server.core.errors import Invalid, NotFound
from segops_server.core.ids import InvalidId, user_id_parse
from segops_server.identity import selectors as identity
from segops_server.ingestion.models import EdgeKind, Event, UserProfile
from segops_server.ingestion.services import profiles_refresh


def users_search(*, tenant: Tenant, q: str) -> QuerySet[UserProfile]:
    profiles_refresh(tenant=tenant)
    users = UserProfile.objects.for_tenant(tenant).order_by("user_id")
    if q:
        users = users.filter(user_id__icontains=q)
    return users


def user_get(*, tenant: Tenant, user_id: str) -> UserProfile:
    """The user's profile as segments see it: with the ids that count for it (its anonymous ids,
    the users merged into it) folded in: first and last seen, event count, the latest traits."""
    try:
        user_id_parse(user_id)  # none is stored that breaks the rule (a NUL would even be a 500)
    except InvalidId:
        raise NotFound("User not found.") from None
    profiles_refresh(tenant=tenant)
    ids = identity.user_ids(tenant=tenant, user_id=user_id)
    profiles = list(UserProfile.objects.for_tenant(tenant).filter(user_id__in=ids))
    if not profiles:
        raise NotFound("User not found.")
    if len(profiles) == 1 and profiles[0].user_id == user_id:
        return profiles[0]
    identified = [p for p in profiles if p.properties_at is not None]
    latest = max(identified, key=lambda p: (p.properties_at, p.user_id)) if identified else None
    return UserProfile(
        tenant=tenant,
        user_id=user_id,
        first_seen=min(p.first_seen for p in profiles),
        last_seen=max(p.last_seen for p in profiles),
        event_count=sum(p.event_count for p in profiles),
        properties=latest.properties if latest else {},
        properties_at=latest.properties_at if latest else None,
    )


def user_aliases(*, tenant: Tenant, user_id: str) -> list[str]:
    """The anonymous ids aliased to the user."""
    return identity.user_sources(tenant=tenant, user_id=user_id, kind=EdgeKind.ALIAS)


def user_identity(*, tenant: Tenant, user_id: str) -> dict[str, Any]:
    """Who counts for the user, and whom it counts for (a merged user's page says so)."""
    return {
        "anonymous_ids": user_aliases(tenant=tenant, user_id=user_id),
        "merged_user_ids": identity.user_sources(tenant=tenant, user_id=user_id, kind=EdgeKind.MERGE),
        "merged_into": identity.user_merged_into(tenant=tenant, user_id=user_id),
    }


def user_events_page(
    *,
    tenant: Tenant,
    user_id: str,
    event_type: str | None,
    limit: int,
    cursor: str | None,
    since: datetime | None = None,
) -> tuple[list[Event], str | None, int]:
    """Newest first, and how many match in all; events sent under the ids that count for this user
    (its anonymous ids, the users merged into it) are included. `since`: only events that occurred
    at or after it."""
    ids = identity.user_ids(tenant=tenant, user_id=user_id)
    events = Event.objects.for_tenant(tenant).filter(user_id__in=ids)
    if event_type:
        events = events.filter(event_type=event_type)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    count = events.count()
    position = cursor_decode(cursor, 2)
    if position is not None:
        try:
            at = parse_datetime(str(position[0]))
        except ValueError:  # well formed but impossible, such as month 13
            at = None
        if at is None or not isinstance(position[1], int):
            raise Invalid({"cursor": ["Invalid cursor."]})
        events = events.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=position[1]))
    page = list(events.order_by("-occurred_at", "-id")[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = cursor_encode([_iso(last.occurred_at), last.id])
    return page, next_cursor, count


def _iso(value: datetime) -> Any:
    return value.isoformat()
