"""A compute and a preview on the ClickHouse engine: the rule runs in ClickHouse (chDB here) and
the members land in the database's stays, where the API reads them, as on the database engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.tests.test_segments_api import BUYERS, _create, _history, _send
from segops_server.testing.chdb import chdb_engine, needs_chdb
from segops_server.testing.factories import Team

pytestmark = needs_chdb


@pytest.fixture
def clickhouse(team: Team) -> Iterator[Transport]:
    """The team's history stored in the database; the engine switched on (chDB, empty)."""
    _history(team)
    with chdb_engine() as transport:
        yield transport


def _compute(team: Team, segment_id: int, capture: Any) -> dict[str, Any]:
    with capture(execute=True):
        assert team.client("member").post(f"/api/segments/{segment_id}/compute/").status_code == 202
    return dict(team.client("viewer").get(f"/api/segments/{segment_id}/").json())


def _members(team: Team, segment_id: int) -> list[str]:
    body = team.client("viewer").get(f"/api/segments/{segment_id}/members/").json()
    return [m["user_id"] for m in body["results"]]


@pytest.mark.django_db
def test_it_computes_members_from_clickhouse(
    team: Team, clickhouse: Transport, django_capture_on_commit_callbacks: Any
) -> None:
    segment_id = _create(team).json()["id"]
    segment = _compute(team, segment_id, django_capture_on_commit_callbacks)
    assert segment["status"] == "computed", segment
    assert segment["member_count"] == 2
    assert _members(team, segment_id) == ["alice", "bob"]


@pytest.mark.django_db
def test_it_ships_what_is_stored_before_computing(
    team: Team, clickhouse: Transport, django_capture_on_commit_callbacks: Any
) -> None:
    segment_id = _create(team).json()["id"]
    _compute(team, segment_id, django_capture_on_commit_callbacks)
    assert clickhouse.query(f"SELECT count() FROM {EVENTS_TABLE}") == [
        (Event.objects.unscoped_all_tenants().count(),)
    ]
    _send(team, ("carol", "order_placed", 1), ("carol", "order_placed", 2))
    _compute(team, segment_id, django_capture_on_commit_callbacks)
    assert _members(team, segment_id) == ["alice", "bob", "carol"]


@pytest.mark.django_db
def test_it_reads_events_from_clickhouse_not_the_database(
    team: Team, clickhouse: Transport, django_capture_on_commit_callbacks: Any
) -> None:
    segment_id = _create(team).json()["id"]
    _compute(team, segment_id, django_capture_on_commit_callbacks)
    # Two orders that only ClickHouse has (ids far above the database's).
    at = timezone.now()
    clickhouse.insert(
        EVENTS_TABLE,
        [[10**12 + i, team.tenant.pk, "order_placed", "dora", at, at, None, "{}"] for i in range(2)],
        EVENT_COLUMNS,
    )
    _compute(team, segment_id, django_capture_on_commit_callbacks)
    assert _members(team, segment_id) == ["alice", "bob", "dora"]


@pytest.mark.django_db
def test_it_previews_from_clickhouse(team: Team, clickhouse: Transport) -> None:
    response = team.client("viewer").post(
        "/api/segments/preview/", {"definition": BUYERS, "limit": 5}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["matched_users"] == 2
    assert sorted(response.json()["sample_user_ids"]) == ["alice", "bob"]


def _identify(team: Team, user_id: str, days_ago: int, traits: dict[str, Any], **ids: str) -> None:
    now = timezone.now()
    raw = {
        "user_id": user_id,
        "event_type": "context_identified",
        "occurred_at": (now - timedelta(days=days_ago)).isoformat(),
        "payload": traits,
        **ids,
    }
    events_store(tenant=team.tenant, events=[event_validate(raw, now=now)], received_at=now)


@pytest.mark.django_db
def test_it_reads_traits_from_the_latest_identify_event(team: Team, clickhouse: Transport) -> None:
    _identify(team, "alice", 1, {"plan": "pro"})
    _identify(team, "alice", 5, {"plan": "free"})  # stored later, but older: not the traits
    _identify(team, "bob", 2, {"plan": "free"})

    def preview(operator: str, **value: Any) -> list[str]:
        trait = {"type": "user_property", "property": "plan", "operator": operator, **value}
        definition = {"logic": "AND", "conditions": [trait]}
        response = team.client("viewer").post(
            "/api/segments/preview/", {"definition": definition}, format="json"
        )
        assert response.status_code == 200, response.json()
        return sorted(response.json()["sample_user_ids"])

    assert preview("eq", value="pro") == ["alice"]
    assert preview("is_not_set") == ["carol"]  # never identified: no traits
    with override_settings(SEGOPS_EVENTS_ENGINE="database"):
        assert preview("eq", value="pro") == ["alice"]  # the profiles' properties say the same
        assert preview("is_not_set") == ["carol"]


@pytest.mark.django_db
def test_it_answers_400_for_what_clickhouse_does_not_evaluate_yet(team: Team, clickhouse: Transport) -> None:
    _identify(team, "alice", 1, {"plan": "pro"}, anonymous_id="visitor-1")  # an identity edge
    response = team.client("viewer").post("/api/segments/preview/", {"definition": BUYERS}, format="json")
    assert response.status_code == 400
    assert "clickhouse" in str(response.json())
