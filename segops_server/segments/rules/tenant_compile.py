"""Compiling a rule over one tenant's data: the one way every reader of members-to-be does it.

A compute, a preview, an estimate, explain and the sandbox must agree on who matches, so they all
compile here: the database's dialect, the tenant's saved segments (segment_membership) and its
identity edges (aliases and merges: identity/selectors.py) are decided once.

On the ClickHouse events engine (SEGOPS_EVENTS_ENGINE=clickhouse) the rule is evaluated in
ClickHouse here, and what the readers get is a database query over that member set: each reader
(a compute's difference and swap, a preview's count and sample) then runs unchanged on the
database, which keeps the members.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection

from segops_server.accounts.models import Tenant
from segops_server.core.rawsql import StatementTimeout
from segops_server.events_engine.engine import clickhouse_enabled, clickhouse_transport
from segops_server.events_engine.shipping import events_ship_pending, events_shipped_through
from segops_server.identity.selectors import edges_exist
from segops_server.ingestion.validation import ValidEvent
from segops_server.segments.rules.clickhouse import (
    EngineUnsupported,
    ExtraEvent,
    clickhouse_definition_compile,
)
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.dsl import LookupDefinition
from segops_server.segments.rules.lookup import definition_lookup


def tenant_definition_compile(
    definition: dict[str, Any],
    *,
    tenant: Tenant,
    now: datetime,
    lookup: LookupDefinition | None = None,
    only_users: list[str] | None = None,
    for_user: str | None = None,
    extra_event: ValidEvent | None = None,
    ship: bool = True,
    timeout_seconds: int | None = None,
) -> tuple[str, list[Any]]:
    """(sql, params) selecting the distinct user_id of `tenant`'s users matching `definition` at
    `now`. `lookup`: the tenant's saved definitions, when the caller already has it. `only_users`:
    only those (resolved) users are read and can match (real-time evaluation).

    What only the ClickHouse engine needs to know (the database's query does not change):
    `for_user`, the one user the caller asks about (explain, the sandbox), so only that user is
    evaluated there; `extra_event`, an event to count as stored that is not (the sandbox's: on
    the database its caller writes it in a savepoint the returned query then runs in); `ship`
    False when the caller shipped the pending events for this round already (events_catch_up);
    `timeout_seconds`, the bound the caller puts on the database's query (statement_timeout),
    put on ClickHouse's here: past it, StatementTimeout as from the database."""
    lookup = lookup or definition_lookup(tenant)
    if clickhouse_enabled():
        if for_user is not None and only_users is None:
            only_users = [for_user]  # exact: no identity edges on this engine (refused below)
        extra = [] if extra_event is None else [_extra(extra_event)]
        return _clickhouse_members(
            definition,
            tenant=tenant,
            now=now,
            lookup=lookup,
            only_users=only_users,
            extra=extra,
            ship=ship,
            timeout_seconds=timeout_seconds,
        )
    return definition_compile(
        definition,
        tenant_id=tenant.pk,
        vendor=connection.vendor,
        now=now,
        lookup_definition=lookup,
        resolve_identities=edges_exist(tenant=tenant),
        only_users=only_users,
    )


def _clickhouse_members(
    definition: dict[str, Any],
    *,
    tenant: Tenant,
    now: datetime,
    lookup: LookupDefinition,
    only_users: list[str] | None,
    extra: list[ExtraEvent],
    ship: bool,
    timeout_seconds: int | None,
) -> tuple[str, list[Any]]:
    """The members evaluated in ClickHouse, as a database query over their ids (one parameter)."""
    if edges_exist(tenant=tenant):
        raise EngineUnsupported(
            "definition: identity merges are not evaluated on the clickhouse events engine yet"
        )
    transport = clickhouse_transport()
    if ship:  # the events stored before this evaluation started are in ClickHouse first
        events_ship_pending(transport)
    text, params = clickhouse_definition_compile(
        definition,
        tenant_id=tenant.pk,
        now=now,
        lookup_definition=lookup,
        only_users=only_users,
        extra_events=extra,
        timeout_seconds=timeout_seconds,
    )
    try:
        rows = transport.query(text, params)
    except Exception as exc:  # chdb's and clickhouse-connect's errors both name the code
        if timeout_seconds is not None and "TIMEOUT_EXCEEDED" in str(exc):
            raise StatementTimeout(timeout_seconds) from None
        raise
    ids = [str(row[0]) for row in rows]
    if connection.vendor == "postgresql":
        return "SELECT x AS user_id FROM unnest(%s::text[]) AS x", [ids]
    return "SELECT value AS user_id FROM json_each(%s)", [json.dumps(ids)]


def _extra(event: ValidEvent) -> ExtraEvent:
    return ExtraEvent(
        user_id=event.user_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        payload_json=event.payload_json,
        anonymous_id=event.anonymous_id,
    )


def events_catch_up() -> int | None:
    """On the ClickHouse engine: ship the pending events (once for a reader's round, which then
    compiles with ship=False) and return the last event id ClickHouse holds; None on the
    database engine, where every stored event is read."""
    if not clickhouse_enabled():
        return None
    events_ship_pending(clickhouse_transport())
    return events_shipped_through()
