"""Identity writes (spec §14): an alias (first identify wins) and a merge (authoritative)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record
from segops_server.core.errors import Invalid
from segops_server.core.ids import anonymous_uid
from segops_server.identity import selectors
from segops_server.ingestion.models import EdgeKind, IdentityAlias


@dataclass(frozen=True)
class AliasOutcome:
    aliased: bool
    user_id: str  # what the anonymous id resolves to now


def _lock() -> None:
    """Until this transaction ends, no other edge is written: neither another identity call nor
    an alias recorded by ingestion.

    A merge reads the edges it then re-points, and every edge must stay one hop. An identify
    stored at the same moment could otherwise record `anon_x -> from_user_id` after the merge
    re-pointed the edges into `from_user_id` (or, resolved against the edges as they were, before
    the merge committed): a second hop that reads would not follow. SHARE ROW EXCLUSIVE conflicts
    with every INSERT and UPDATE of the table and with itself, not with reads; an INSERT that
    waited takes its snapshot after the wait, so it sees the merge. Merges are rare and short, so
    holding up other tenants' identifies for that long is the cheaper side.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {IdentityAlias._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    # SQLite: a write transaction already holds the whole database.


def _audit(action: str, tenant: Tenant, *, actor: Any, api_key: Any, request: Any, **detail: Any) -> None:
    audit_record(
        action=action,
        tenant=tenant,
        actor=actor,
        api_key=api_key,
        key_prefix=api_key.display_prefix if api_key else "",
        request=request,
        **detail,
    )


def identity_alias(
    *,
    tenant: Tenant,
    anonymous_id: str,
    user_id: str,
    actor: Any = None,
    api_key: Any = None,
    request: Any = None,
) -> AliasOutcome:
    """Record `anon_<anonymous_id> -> user_id` unless the anonymous id already has an edge (the
    first identify wins: the earlier edge is kept) or is itself a known user (two known users
    are only ever joined by a merge)."""
    source = anonymous_uid(anonymous_id)
    with transaction.atomic():
        _lock()
        edges = IdentityAlias.objects.for_tenant(tenant)
        existing = edges.filter(anonymous_id=source).values_list("user_id", flat=True).first()
        if existing is not None:
            return AliasOutcome(aliased=False, user_id=existing)
        target = selectors.user_resolve(tenant=tenant, user_id=user_id)
        if target == source or selectors.user_is_known(tenant=tenant, user_id=source):
            return AliasOutcome(aliased=False, user_id=source)
        IdentityAlias(
            tenant=tenant, anonymous_id=source, user_id=target, kind=EdgeKind.ALIAS, created_at=timezone.now()
        ).save()
        _audit(
            Action.IDENTITY_ALIASED,
            tenant,
            actor=actor,
            api_key=api_key,
            request=request,
            anonymous_id=source,
            user_id=target,
        )
    return AliasOutcome(aliased=True, user_id=target)


def identity_merge(
    *,
    tenant: Tenant,
    from_user_id: str,
    into_user_id: str,
    actor: Any = None,
    api_key: Any = None,
    request: Any = None,
) -> str:
    """From now on `from_user_id`'s events and traits count for `into_user_id`; returns the id
    they count for (the end of the chain, if `into_user_id` was itself merged).

    Edges stay one hop: the new edge points at the final id, and the edges that pointed at
    `from_user_id` (its anonymous ids, users merged into it) are re-pointed there too. An edge
    `from_user_id` already had is overridden: a merge is authoritative.
    """
    if from_user_id == into_user_id:
        raise Invalid({"into_user_id": ["A user cannot be merged into itself."]})
    with transaction.atomic():
        _lock()
        target = selectors.user_resolve(tenant=tenant, user_id=into_user_id)
        if target == from_user_id:
            raise Invalid(
                {
                    "into_user_id": [
                        f"{into_user_id!r} was merged into {from_user_id!r}: this merge would be a cycle."
                    ]
                }
            )
        edges = IdentityAlias.objects.for_tenant(tenant)
        moved = edges.filter(user_id=from_user_id).update(user_id=target)
        edges.update_or_create(
            anonymous_id=from_user_id,
            defaults={"user_id": target, "kind": EdgeKind.MERGE, "created_at": timezone.now()},
            create_defaults={
                "tenant": tenant,
                "user_id": target,
                "kind": EdgeKind.MERGE,
                "created_at": timezone.now(),
            },
        )
        _audit(
            Action.IDENTITY_MERGED,
            tenant,
            actor=actor,
            api_key=api_key,
            request=request,
            from_user_id=from_user_id,
            into_user_id=into_user_id,
            resolved_user_id=target,
            edges_moved=moved,
        )
    return target
