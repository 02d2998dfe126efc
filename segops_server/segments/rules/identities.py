"""Identity resolution in compiled queries: the tenant's events and profiles with each id resolved.

Identity edges (ingestion's IdentityAlias: anonymous ids aliased to users, users merged into
others) always point at a final id, so one LEFT JOIN resolves any id. The compiler reads these
in place of the tables when the tenant has an edge (definition_compile's `resolve_identities`):
resolution happens at read time, and events are never rewritten.
"""

from __future__ import annotations

from segops_server.segments.rules.conditions.sqltext import (
    EDGES,
    RESOLVED_EVENTS,
    RESOLVED_PROFILES,
    Sql,
    joined,
    sql,
)


def _edge(table: str) -> Sql:
    return sql(
        "LEFT JOIN {edges} k ON k.tenant_id = {t}.tenant_id AND k.anonymous_id = {t}.user_id",
        edges=EDGES,
        t=table,
    )


def resolved_sources(*, tenant: Sql) -> Sql:
    """The CTEs `resolved_events` and `resolved_profiles` of the tenant (`tenant`: its parameter).

    A resolved user's traits are the latest identify's among the ids counting for it, as for one
    id (the latest identify wins, traits replaced, not merged). Not materialised, so each
    reader's filters (event type, window) still reach the events table and its indexes.
    """
    events = sql(
        "{name} AS NOT MATERIALIZED (SELECT e.id, e.tenant_id, "
        "COALESCE(k.user_id, e.user_id) AS user_id, e.event_type, e.occurred_at, e.payload "
        "FROM {events} e {edge} WHERE e.tenant_id = {tenant})",
        name=RESOLVED_EVENTS,
        edge=_edge("e"),
        tenant=tenant,
    )
    profiles = sql(
        "{name} AS NOT MATERIALIZED (SELECT tenant_id, user_id, properties FROM ("
        "SELECT p.tenant_id, COALESCE(k.user_id, p.user_id) AS user_id, p.properties, ROW_NUMBER() OVER ("
        "PARTITION BY COALESCE(k.user_id, p.user_id) ORDER BY p.properties_at DESC NULLS LAST, p.user_id"
        ") AS rn FROM {profiles} p {edge} WHERE p.tenant_id = {tenant}) r WHERE rn = 1)",
        name=RESOLVED_PROFILES,
        edge=_edge("p"),
        tenant=tenant,
    )
    return joined(", ", [events, profiles])
