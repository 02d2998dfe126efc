"""Profiles built on ingestion: first and last seen, event count, and identified traits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import (
    BATCH,
    TRACK,
    USERS,
    both_storage_paths,
    event,
    iso,
    user_url,
)
from segops_server.testing.factories import Team


@pytest.fixture
def base() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(days=10)


def _at(base: datetime, hours: int) -> str:
    return iso(base + timedelta(hours=hours))


@both_storage_paths
def test_it_keeps_first_seen_last_seen_and_count_over_out_of_order_requests(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 5)), format="json")
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 1)), format="json")
    ingest.post(
        BATCH,
        {
            "events": [event("alice", occurred_at=_at(base, h)) for h in (3, 9, 2)]
            + [event("bob", occurred_at=_at(base, 4))]
        },
        format="json",
    )
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 7)), format="json")

    alice = viewer.get(user_url("alice")).json()
    assert alice["event_count"] == 6
    assert alice["first_seen"] == _at(base, 1)
    assert alice["last_seen"] == _at(base, 9)
    bob = viewer.get(user_url("bob")).json()
    assert (bob["event_count"], bob["first_seen"], bob["last_seen"]) == (1, _at(base, 4), _at(base, 4))


@both_storage_paths
def test_it_updates_a_profile_between_reads(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 2)), format="json")
    assert viewer.get(user_url("alice")).json()["event_count"] == 1

    ingest.post(TRACK, event("alice", occurred_at=_at(base, 0)), format="json")
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 4)), format="json")

    alice = viewer.get(user_url("alice")).json()
    assert (alice["event_count"], alice["first_seen"], alice["last_seen"]) == (3, _at(base, 0), _at(base, 4))
    listed = viewer.get(USERS).json()["results"]
    assert listed == [
        {"user_id": "alice", "event_count": 3, "first_seen": _at(base, 0), "last_seen": _at(base, 4)}
    ]


@both_storage_paths
def test_it_sets_properties_from_context_identified(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    traits = {"plan": "pro", "email": "alice@example.com", "seats": 3, "tags": ["a", "b"]}
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 0)), format="json")

    ingest.post(
        TRACK, event("alice", "context_identified", occurred_at=_at(base, 1), payload=traits), format="json"
    )

    alice = viewer.get(user_url("alice")).json()
    assert alice["properties"] == traits
    assert alice["properties_updated_at"] == _at(base, 1)
    assert alice["event_count"] == 2


@both_storage_paths
def test_it_keeps_the_latest_identify_even_when_it_arrives_first(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    def identify(plan: str, hours: int) -> None:
        body = event("alice", "context_identified", occurred_at=_at(base, hours), payload={"plan": plan})
        assert ingest.post(TRACK, body, format="json").status_code == 202

    identify("business", 5)
    identify("free", 1)
    assert viewer.get(user_url("alice")).json()["properties"] == {"plan": "business"}
    identify("starter", 3)

    alice = viewer.get(user_url("alice")).json()
    assert alice["properties"] == {"plan": "business"}
    assert alice["properties_updated_at"] == _at(base, 5)


@both_storage_paths
def test_it_keeps_the_latest_identify_within_one_batch(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    events = [
        event("alice", "context_identified", occurred_at=_at(base, 2), payload={"plan": "starter"}),
        event("alice", "context_identified", occurred_at=_at(base, 6), payload={"plan": "business"}),
        event("alice", "page_viewed", occurred_at=_at(base, 8), payload={"plan": "ignored"}),
        event("alice", "context_identified", occurred_at=_at(base, 4), payload={"plan": "free"}),
        event("bob", "context_identified", occurred_at=_at(base, 1), payload={"plan": "free"}),
    ]

    ingest.post(BATCH, {"events": events}, format="json")

    assert viewer.get(user_url("alice")).json()["properties"] == {"plan": "business"}
    assert viewer.get(user_url("bob")).json()["properties"] == {"plan": "free"}


@both_storage_paths
def test_it_keeps_properties_when_later_events_are_not_identifies(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(
        TRACK,
        event("alice", "context_identified", occurred_at=_at(base, 1), payload={"plan": "pro"}),
        format="json",
    )
    viewer.get(user_url("alice"))

    ingest.post(BATCH, {"events": [event("alice", occurred_at=_at(base, h)) for h in (2, 3)]}, format="json")

    alice = viewer.get(user_url("alice")).json()
    assert (alice["properties"], alice["event_count"]) == ({"plan": "pro"}, 3)


def test_it_starts_a_profile_without_identify_with_empty_properties(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice"), format="json")

    alice = viewer.get(user_url("alice")).json()
    assert alice["properties"] == {}
    assert alice["properties_updated_at"] is None


@both_storage_paths
def test_it_keeps_profiles_per_tenant(
    autocommit: bool,
    team: Team,
    ingest: APIClient,
    globex_ingest: APIClient,
    viewer: APIClient,
    base: datetime,
) -> None:
    ingest.post(TRACK, event("alice", occurred_at=_at(base, 1)), format="json")
    globex_ingest.post(
        BATCH,
        {
            "events": [
                event("alice", "context_identified", occurred_at=_at(base, h), payload={"t": "globex"})
                for h in (0, 2)
            ]
        },
        format="json",
    )

    alice = viewer.get(user_url("alice")).json()
    assert (alice["event_count"], alice["first_seen"], alice["last_seen"]) == (1, _at(base, 1), _at(base, 1))
    assert alice["properties"] == {}
