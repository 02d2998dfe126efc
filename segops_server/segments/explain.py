"""Why a user is (or is not) in a segment: each top-level condition, matched or not, and the value seen."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.core.rawsql import bounded_read, statement_timeout
from segops_server.ingestion.models import Event, UserProfile
from segops_server.ingestion.services import profiles_refresh
from segops_server.segments.compiler import definition_compile
from segops_server.segments.models import Segment
from segops_server.segments.services import definition_lookup

MAX_EVENTS = 10_000


def _matches(tenant: Tenant, definition: dict[str, Any], user_id: str, now: datetime) -> bool:
    sql, params = definition_compile(
        definition,
        tenant_id=tenant.pk,
        vendor=connection.vendor,
        now=now,
        lookup_definition=definition_lookup(tenant),
    )
    # Bounded like a preview: a Viewer chooses which segment to explain.
    with (
        bounded_read(connection),
        connection.cursor() as cursor,
        statement_timeout(cursor, settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS),
    ):
        cursor.execute(f"SELECT 1 FROM ({sql}) q WHERE q.user_id = %s", [*params, user_id])  # noqa: S608
        return cursor.fetchone() is not None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        return None


def _value_seen(condition: dict[str, Any], events: list[Event], traits: dict[str, Any], now: datetime) -> Any:
    kind = condition.get("type")
    of_type = [e for e in events if e.event_type == condition.get("event_type")]
    window = condition.get("window_days")
    if window is not None and kind in ("event_count", "monetary"):
        of_type = [e for e in of_type if e.occurred_at > now - timedelta(days=window)]
    if kind == "event_count":
        return len(of_type)
    if kind == "recency":
        return round((now - of_type[-1].occurred_at).total_seconds() / 86400, 2) if of_type else None
    if kind == "monetary":
        numbers = [n for e in of_type if (n := _number(e.payload.get(condition["property"]))) is not None]
        if condition["metric"] == "sum":
            return float(sum(numbers, Decimal(0)))
        if not numbers:
            return None
        return float(max(numbers) if condition["metric"] == "max" else sum(numbers) / len(numbers))
    if kind == "event_property":
        return of_type[-1].payload.get(condition["property"]) if of_type else None
    if kind == "user_property":
        return traits.get(condition["property"])
    return None


def segment_explain(*, tenant: Tenant, segment: Segment, user_id: str) -> dict[str, Any]:
    profiles_refresh(tenant=tenant)
    now = timezone.now()
    definition = segment.definition or {"logic": "AND", "conditions": []}
    events = list(
        Event.objects.for_tenant(tenant).filter(user_id=user_id).order_by("occurred_at", "id")[:MAX_EVENTS]
    )
    profile = UserProfile.objects.for_tenant(tenant).filter(user_id=user_id).first()
    traits = profile.properties if profile else {}
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
