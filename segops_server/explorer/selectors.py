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
from segops_server.ingestion.models import Event, IdentityAlias, UserProfile
from segops_server.ingestion.services import profiles_refresh


def users_search(*, tenant: Tenant, q: str) -> QuerySet[UserProfile]:
    profiles_refresh(tenant=tenant)
    users = UserProfile.objects.for_tenant(tenant).order_by("user_id")
    if q:
        users = users.filter(user_id__icontains=q)
    return users


def user_get(*, tenant: Tenant, user_id: str) -> UserProfile:
    try:
        user_id_parse(user_id)  # none is stored that breaks the rule (a NUL would even be a 500)
    except InvalidId:
        raise NotFound("User not found.") from None
    profiles_refresh(tenant=tenant)
    profile = UserProfile.objects.for_tenant(tenant).filter(user_id=user_id).first()
    if profile is None:
        raise NotFound("User not found.")
    return profile


def user_aliases(*, tenant: Tenant, user_id: str) -> list[str]:
    return list(
        IdentityAlias.objects.for_tenant(tenant)
        .filter(user_id=user_id)
        .order_by("created_at")
        .values_list("anonymous_id", flat=True)
    )


def user_events_page(
    *,
    tenant: Tenant,
    user_id: str,
    event_type: str | None,
    limit: int,
    cursor: str | None,
    since: datetime | None = None,
) -> tuple[list[Event], str | None, int]:
    """Newest first, and how many match in all; events sent under an anonymous id aliased to this
    user are included. `since`: only events that occurred at or after it."""
    ids = [user_id, *user_aliases(tenant=tenant, user_id=user_id)]
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
