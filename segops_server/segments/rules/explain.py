"""Why a user is (or is not) in a segment: each top-level condition, matched or not, and the value seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.core.rawsql import bounded_read, statement_timeout
from segops_server.identity.selectors import user_ids, user_traits
from segops_server.ingestion.models import Event
from segops_server.ingestion.services import profiles_refresh
from segops_server.segments.models import Segment
from segops_server.segments.rules.conditions import condition_type
from segops_server.segments.rules.tenant_compile import events_catch_up, tenant_definition_compile

MAX_EVENTS = 10_000


def _matches(tenant: Tenant, definition: dict[str, Any], user_id: str, now: datetime) -> bool:
    bound = settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS
    sql, params = tenant_definition_compile(
        definition, tenant=tenant, now=now, for_user=user_id, ship=False, timeout_seconds=bound
    )
    # Bounded like a preview: a Viewer chooses which segment to explain.
    with (
        bounded_read(connection),
        connection.cursor() as cursor,
        statement_timeout(cursor, bound),
    ):
        cursor.execute(f"SELECT 1 FROM ({sql}) q WHERE q.user_id = %s", [*params, user_id])  # noqa: S608
        return cursor.fetchone() is not None


def _value_seen(condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime) -> Any:
    kind = condition_type(condition.get("type"))
    return None if kind is None else kind.value_seen(condition, events, traits, now)


def segment_explain(*, tenant: Tenant, segment: Segment, user_id: str) -> dict[str, Any]:
    profiles_refresh(tenant=tenant)
    events_catch_up()  # on the ClickHouse engine, once for every condition evaluated below
    now = timezone.now()
    definition = segment.definition or {"logic": "AND", "conditions": []}
    # The user's events and traits as segments see them: with those of the ids counting for it.
    ids = user_ids(tenant=tenant, user_id=user_id)
    events = list(
        Event.objects.for_tenant(tenant).filter(user_id__in=ids).order_by("occurred_at", "id")[:MAX_EVENTS]
    )
    traits = user_traits(tenant=tenant, user_id=user_id)
    conditions = []
    for index, condition in enumerate(definition.get("conditions", [])):
        matched = _matches(tenant, {"logic": "AND", "conditions": [condition]}, user_id, now)
        conditions.append(
            {
                "index": index,
                "type": condition.get("type", "group"),
                "matched": matched,
                "value": _value_seen(condition, events, traits, now),
            }
        )
    return {
        "user_id": user_id,
        "segment_id": segment.pk,
        "logic": definition.get("logic"),
        "matched": bool(conditions) and _matches(tenant, definition, user_id, now),
        "evaluated_at": now,
        "conditions": conditions,
    }
