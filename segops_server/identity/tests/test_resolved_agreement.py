"""Property test: with identity edges, the compiled SQL agrees with the reference evaluator run on
the histories as resolved by hand (each event under the id its user resolves to; each resolved
user's traits the latest identify's among its ids). Every condition type, nested segments too."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segops_server.ingestion.models import EdgeKind, IdentityAlias, UserProfile
from segops_server.segments.rules import reference
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.tests.test_compiler_agreement import (
    USERS,
    definitions,
    event_rows,
    leaves,
    nows,
    traits,
)
from segops_server.segments.tests.test_compiler_harness import History, clear, store
from segops_server.testing.factories import make_tenant

# Sources are merged or aliased into targets; a target may have no events of its own ("t-new").
SOURCES = USERS[:3]
TARGETS = [*USERS[3:], "t-new"]
edges_drawn = st.dictionaries(st.sampled_from(SOURCES), st.sampled_from(TARGETS), max_size=len(SOURCES))


def _store_edges(history: History, edges: dict[str, str]) -> None:
    now = timezone.now()
    IdentityAlias.objects.for_tenant(history.tenant).delete()
    IdentityAlias.objects.for_tenant(history.tenant).bulk_create(
        [
            IdentityAlias(
                tenant=history.tenant, anonymous_id=s, user_id=t, kind=EdgeKind.MERGE, created_at=now
            )
            for s, t in edges.items()
        ]
    )


def _identified(history: History, order: list[str]) -> dict[str, datetime]:
    """Each user with traits identified at a distinct time (`order`: earliest first)."""
    base = timezone.now() - timedelta(days=1)
    times = {user: base + timedelta(minutes=i) for i, user in enumerate(order) if user in history.traits}
    for user, at in times.items():
        UserProfile.objects.for_tenant(history.tenant).filter(user_id=user).update(properties_at=at)
    return times


def _sql(history: History, definition: dict[str, Any], now: datetime) -> set[str]:
    text, params = definition_compile(
        definition,
        tenant_id=history.tenant.pk,
        vendor=connection.vendor,
        now=now,
        lookup_definition=history.lookup,
        resolve_identities=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        rows = cursor.fetchall()
    assert len(rows) == len({r[0] for r in rows}), "user ids must be distinct"
    return {r[0] for r in rows}


def _by_hand(
    history: History,
    edges: dict[str, str],
    identified: dict[str, datetime],
    definition: dict[str, Any],
    now: datetime,
) -> set[str]:
    events = [{**e, "user_id": edges.get(e["user_id"], e["user_id"])} for e in history.events]
    with_events = {e["user_id"] for e in history.events}
    latest: dict[str, tuple[datetime, str]] = {}
    for user, at in identified.items():
        if user in with_events:  # a profile exists only for a user with events
            resolved = edges.get(user, user)
            latest[resolved] = max(latest.get(resolved, (at, user)), (at, user))
    properties = {resolved: history.traits[user] for resolved, (_, user) in latest.items()}
    return reference.evaluate(
        definition, events=events, properties=properties, now=now, lookup_definition=history.lookup
    )


@pytest.fixture
def tenants(db: None) -> tuple[Any, Any]:
    return make_tenant(), make_tenant()


@settings(
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=event_rows,
    user_traits=traits,
    edges=edges_drawn,
    order=st.permutations(USERS),
    now=nows,
    first=definitions([]),
    rule=definitions([1]),
)
def test_resolved_reads_agree_with_the_reference_on_resolved_histories(
    tenants: tuple[Any, Any],
    rows: list[Any],
    user_traits: dict[str, dict[str, Any]],
    edges: dict[str, str],
    order: list[str],
    now: datetime,
    first: dict[str, Any],
    rule: dict[str, Any],
) -> None:
    tenant, other = tenants
    clear(tenant)
    clear(other)
    history = store(rows, user_traits, tenant=tenant, other=other)
    history.segments = {1: first}
    _store_edges(history, edges)
    identified = _identified(history, order)

    for definition in [rule, *({"logic": "AND", "conditions": [c]} for c in leaves(rule))]:
        assert _sql(history, definition, now) == _by_hand(history, edges, identified, definition, now), (
            definition
        )
