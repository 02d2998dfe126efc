"""Reads of identity edges: what an id resolves to, and every id that counts for a user.

Edges live in ingestion's IdentityAlias table (aliases recorded by identify, merges by hand) and
always point at a final id, so one lookup resolves an id, and reads never rewrite events.
"""

from __future__ import annotations

from typing import Any

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import IDENTIFY_EVENT, EdgeKind, Event, IdentityAlias, UserProfile


def edges_exist(*, tenant: Tenant) -> bool:
    """Whether reads of this tenant need resolving at all (a tenant without edges reads the tables)."""
    return IdentityAlias.objects.for_tenant(tenant).exists()


def user_resolve(*, tenant: Tenant, user_id: str) -> str:
    """The id `user_id`'s events and traits count for: its edge's target, or itself."""
    target = (
        IdentityAlias.objects.for_tenant(tenant)
        .filter(anonymous_id=user_id)
        .values_list("user_id", flat=True)
    ).first()
    return target if target is not None else user_id


def users_resolve(*, tenant: Tenant, user_ids: list[str]) -> list[str]:
    """`user_resolve` of each id, in one read: the distinct ids their events count for."""
    targets = dict(
        IdentityAlias.objects.for_tenant(tenant)
        .filter(anonymous_id__in=user_ids)
        .values_list("anonymous_id", "user_id")
    )
    return sorted({targets.get(user_id, user_id) for user_id in user_ids})


def user_sources(*, tenant: Tenant, user_id: str, kind: EdgeKind | None = None) -> list[str]:
    """The ids resolving to `user_id` (anonymous ids aliased to it, users merged into it), oldest first."""
    edges = IdentityAlias.objects.for_tenant(tenant).filter(user_id=user_id)
    if kind is not None:
        edges = edges.filter(kind=kind)
    return list(edges.order_by("created_at", "pk").values_list("anonymous_id", flat=True))


def user_ids(*, tenant: Tenant, user_id: str) -> list[str]:
    """`user_id` and every id that counts for it: whose events are its events."""
    return [user_id, *user_sources(tenant=tenant, user_id=user_id)]


def user_merged_into(*, tenant: Tenant, user_id: str) -> str | None:
    """The user `user_id` was merged into, if it was."""
    return (
        IdentityAlias.objects.for_tenant(tenant)
        .filter(anonymous_id=user_id, kind=EdgeKind.MERGE)
        .values_list("user_id", flat=True)
        .first()
    )


def user_traits(*, tenant: Tenant, user_id: str) -> dict[str, Any]:
    """The traits of `user_id` as segments see them: of all the ids counting for it, the latest
    identify's (as for one id: the latest identify wins, properties replaced, not merged)."""
    profiles = UserProfile.objects.for_tenant(tenant).filter(
        user_id__in=user_ids(tenant=tenant, user_id=user_id)
    )
    latest = profiles.exclude(properties_at=None).order_by("-properties_at", "user_id").first()
    return latest.properties if latest is not None else {}


def user_is_known(*, tenant: Tenant, user_id: str) -> bool:
    """Something already resolves to `user_id`, or it was identified: never an alias of another
    user (the rule ingestion applies to the aliases it records, ingestion/storage.py)."""
    if IdentityAlias.objects.for_tenant(tenant).filter(user_id=user_id).exists():
        return True
    return Event.objects.for_tenant(tenant).filter(user_id=user_id, event_type=IDENTIFY_EVENT).exists()
