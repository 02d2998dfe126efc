"""The event sandbox (spec §8): which segments a user would enter or leave if an event happened.

The event is written inside a savepoint that is always rolled back, so nothing is stored: every
active segment's saved rule is evaluated for the user in one bounded statement while the event
is there, and the answer compared with the user's current membership. On SQLite that savepoint
holds the database's write lock while the statement runs, which is why the evaluation is one
statement bounded by the preview's time limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.core.rawsql import StatementTimeout, statement_timeout
from segops_server.ingestion.models import IDENTIFY_EVENT, Event, UserProfile
from segops_server.ingestion.services import profiles_refresh
from segops_server.ingestion.validation import ValidEvent
from segops_server.segments.definitions.selectors import rule_refused
from segops_server.segments.delivery.selectors import user_segments
from segops_server.segments.models import Segment
from segops_server.segments.rules.clickhouse import EngineUnsupported
from segops_server.segments.rules.dsl import DefinitionError
from segops_server.segments.rules.lookup import definition_lookup
from segops_server.segments.rules.tenant_compile import events_catch_up, tenant_definition_compile

# Segments per statement: SQLite allows at most 500 terms in one compound SELECT.
CHUNK = 100


def _active_segments(tenant: Tenant) -> list[Segment]:
    """Segments with a saved rule and a computed member set to compare with (a recompute in
    progress keeps its current set, so it counts too)."""
    return list(
        Segment.objects.for_tenant(tenant).filter(definition__isnull=False, generation__gt=0).order_by("pk")
    )


def _event_write(tenant: Tenant, event: ValidEvent, now: datetime) -> None:
    """The event and what it does to the user's profile (first and last seen, count, traits)."""
    Event(
        tenant=tenant,
        user_id=event.user_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        received_at=now,
        payload=event.payload,
        anonymous_id=event.anonymous_id,
    ).save()
    identify = event.event_type == IDENTIFY_EVENT
    profile = UserProfile.objects.for_tenant(tenant).filter(user_id=event.user_id).first()
    if profile is None:
        profile = UserProfile(
            tenant=tenant,
            user_id=event.user_id,
            first_seen=event.occurred_at,
            last_seen=event.occurred_at,
            event_count=0,
        )
    profile.first_seen = min(profile.first_seen, event.occurred_at)
    profile.last_seen = max(profile.last_seen, event.occurred_at)
    profile.event_count += 1
    if identify and (profile.properties_at is None or event.occurred_at >= profile.properties_at):
        profile.properties, profile.properties_at = event.payload, event.occurred_at
    profile.save()


def _matching(tenant: Tenant, compiled: list[tuple[int, str, list[Any]]], user_id: str) -> set[int]:
    """The ids of the compiled segments whose rule the user matches, CHUNK segments a statement."""
    matched: set[int] = set()
    with connection.cursor() as cursor, statement_timeout(cursor, settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS):
        for start in range(0, len(compiled), CHUNK):
            parts, params = [], []
            for segment_id, sql, sql_params in compiled[start : start + CHUNK]:
                # The id is our own integer primary key; every value of the rule stays a parameter.
                parts.append(
                    f"SELECT {int(segment_id)} WHERE EXISTS (SELECT 1 FROM ({sql}) q WHERE q.user_id = %s)"  # noqa: S608
                )
                params += [*sql_params, user_id]
            cursor.execute(" UNION ALL ".join(parts), params)
            matched.update(int(row[0]) for row in cursor.fetchall())
    return matched


def sandbox_publish(*, tenant: Tenant, event: ValidEvent) -> dict[str, Any]:
    """Evaluate every active segment for `event.user_id` as if `event` had happened; store nothing."""
    profiles_refresh(tenant=tenant)
    now = timezone.now()
    segments = _active_segments(tenant)
    lookup = definition_lookup(tenant)
    events_catch_up()  # on the ClickHouse engine, once for all the segments below
    compiled: list[tuple[int, str, list[Any]]] = []
    skipped: list[Segment] = []
    for segment in segments:
        assert segment.definition is not None
        try:
            sql, params = tenant_definition_compile(
                segment.definition,
                tenant=tenant,
                now=now,
                lookup=lookup,
                for_user=event.user_id,
                extra_event=event,  # on the database, written below in a savepoint
                ship=False,
                timeout_seconds=settings.SEGOPS_PREVIEW_TIMEOUT_SECONDS,
            )
        except StatementTimeout as exc:
            raise rule_refused(exc) from None
        except EngineUnsupported:
            raise  # the engine's limit, for every segment: the caller's 400, not a skip
        except DefinitionError:
            skipped.append(segment)  # its rule refers to a deleted segment: it cannot be evaluated
            continue
        compiled.append((segment.pk, sql, params))
    current = {s["id"] for s in user_segments(tenant=tenant, user_id=event.user_id)}
    try:
        with transaction.atomic():
            _event_write(tenant, event, now)
            matched = _matching(tenant, compiled, event.user_id) if compiled else set()
            transaction.set_rollback(True)  # the sandbox stores nothing, whatever happened
    except (StatementTimeout, DataError) as exc:
        raise rule_refused(exc) from None
    evaluated = [s for s in segments if s not in skipped]
    entered = [s for s in evaluated if s.pk in matched and s.pk not in current]
    exited = [s for s in evaluated if s.pk in current and s.pk not in matched]
    return {
        "published": True,
        "entered": [{"id": s.pk, "name": s.name} for s in entered],
        "exited": [{"id": s.pk, "name": s.name} for s in exited],
        "unchanged_count": len(evaluated) - len(entered) - len(exited),
        "skipped": [{"id": s.pk, "name": s.name} for s in skipped],
    }
