"""The harness the compiler tests share: store a history, run the compiled SQL and the reference.

Every history is stored twice: for the tenant under test, and for a second tenant under other
user ids, so a query that forgot its tenant filter returns ids the reference never has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import Event, UserProfile
from segops_server.segments.rules import reference
from segops_server.segments.rules.compiler import definition_compile
from segops_server.testing.factories import make_tenant

NOW = datetime(2026, 4, 25, 12, 0, tzinfo=UTC)
Row = tuple[str, str, datetime, dict[str, Any]]  # user_id, event_type, occurred_at, payload


def ago(days: float = 0, **delta: float) -> datetime:
    return NOW - timedelta(days=days, **delta)


@dataclass
class History:
    tenant: Tenant
    events: list[dict[str, Any]] = field(default_factory=list)
    traits: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[int, dict[str, Any]] = field(default_factory=dict)

    def lookup(self, segment_id: int) -> dict[str, Any] | None:
        return self.segments.get(segment_id)

    def sql(self, definition: dict[str, Any], now: datetime = NOW) -> set[str]:
        text, params = definition_compile(
            definition,
            tenant_id=self.tenant.pk,
            vendor=connection.vendor,
            now=now,
            lookup_definition=self.lookup,
        )
        with connection.cursor() as cursor:
            cursor.execute(text, params)
            rows = cursor.fetchall()
        assert len(rows) == len({r[0] for r in rows}), "user ids must be distinct"
        return {r[0] for r in rows}

    def reference(self, definition: dict[str, Any], now: datetime = NOW) -> set[str]:
        return reference.evaluate(
            definition, events=self.events, properties=self.traits, now=now, lookup_definition=self.lookup
        )

    def match(self, definition: dict[str, Any], now: datetime = NOW) -> set[str]:
        """The members by SQL, checked against the reference evaluator."""
        by_sql = self.sql(definition, now)
        assert by_sql == self.reference(definition, now), definition
        return by_sql


def store(
    rows: list[Row],
    traits: dict[str, dict[str, Any]] | None = None,
    *,
    tenant: Tenant | None = None,
    other: Tenant | None = None,
) -> History:
    """Events and profiles for a tenant (and the same under other ids for another tenant)."""
    history = History(tenant=tenant or make_tenant())
    history.traits = dict(traits or {})
    history.events = _insert(history.tenant, rows, history.traits)
    _insert(other or make_tenant(), [(f"other-{u}", t, at, p) for u, t, at, p in rows], history.traits)
    return history


def _insert(tenant: Tenant, rows: list[Row], traits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    events = Event.objects.for_tenant(tenant).bulk_create(
        [
            Event(tenant=tenant, user_id=u, event_type=t, occurred_at=at, received_at=at, payload=p)
            for u, t, at, p in rows
        ]
    )
    profiles: dict[str, UserProfile] = {}
    for e in events:
        profile = profiles.get(e.user_id)
        if profile is None:
            profile = profiles[e.user_id] = UserProfile(
                tenant=tenant,
                user_id=e.user_id,
                first_seen=e.occurred_at,
                last_seen=e.occurred_at,
                event_count=0,
                properties=traits.get(e.user_id, {}),
            )
        profile.first_seen = min(profile.first_seen, e.occurred_at)
        profile.last_seen = max(profile.last_seen, e.occurred_at)
        profile.event_count += 1
    UserProfile.objects.for_tenant(tenant).bulk_create(profiles.values())
    return [
        {
            "id": e.pk,
            "user_id": e.user_id,
            "event_type": e.event_type,
            "occurred_at": e.occurred_at,
            "payload": e.payload,
        }
        for e in events
    ]


def clear(tenant: Tenant) -> None:
    Event.objects.for_tenant(tenant).delete()
    UserProfile.objects.for_tenant(tenant).delete()


def one(condition: dict[str, Any], logic: str = "AND") -> dict[str, Any]:
    return {"logic": logic, "conditions": [condition]}


pytestmark = pytest.mark.django_db


def test_it_ranges_over_every_user_with_an_event_of_the_tenant() -> None:
    history = store([("u1", "page_viewed", ago(1), {}), ("u2", "signup", ago(400), {})])
    everyone = one({"type": "event_count", "event_type": "order_placed", "operator": "eq", "value": 0})
    assert history.match(everyone) == {"u1", "u2"}


def test_it_never_returns_another_tenants_users() -> None:
    history = store([("u1", "order_placed", ago(1), {"total": 900})])
    rule = one(
        {
            "type": "monetary",
            "event_type": "order_placed",
            "property": "total",
            "metric": "sum",
            "operator": "gte",
            "value": 500,
        }
    )
    assert history.match(rule) == {"u1"}
    assert history.match(
        {
            "logic": "OR",
            "conditions": [
                rule,
                one({"type": "event_count", "event_type": "x", "operator": "eq", "value": 0}),
            ],
        }
    ) == {"u1"}


def test_it_returns_one_user_id_column() -> None:
    history = store([("u1", "page_viewed", ago(1), {})])
    text, params = definition_compile(
        one({"type": "event_count", "event_type": "page_viewed", "operator": "gte", "value": 1}),
        tenant_id=history.tenant.pk,
        vendor=connection.vendor,
        now=NOW,
        lookup_definition=history.lookup,
    )
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        assert [c[0] for c in cursor.description] == ["user_id"]
        assert cursor.fetchall() == [("u1",)]
