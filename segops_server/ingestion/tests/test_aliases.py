"""Identity aliases: anon_<anonymous_id> -> user_id, the first identify wins, known users never merge."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import (
    BATCH,
    TRACK,
    both_storage_paths,
    event,
    iso,
    stored_aliases,
    user_url,
)
from segops_server.testing.factories import Team


@pytest.fixture
def base() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(days=10)


def _at(base: datetime, hours: int) -> str:
    return iso(base + timedelta(hours=hours))


def _anonymous(anonymous_id: str, event_type: str = "page_viewed") -> dict[str, str]:
    """An anonymous visitor's event: anonymous_id alone, stored under anon_<anonymous_id>."""
    return {"anonymous_id": anonymous_id, "event_type": event_type}


def _event_users(viewer: APIClient, user_id: str) -> list[str]:
    response = viewer.get(user_url(user_id, "events/"))
    assert response.status_code == 200, response.json()
    return sorted(e["user_id"] for e in response.json()["results"])


@both_storage_paths
def test_it_records_an_alias_when_an_event_carries_both_ids(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="anon-1"), format="json")

    assert stored_aliases(team.tenant) == {"anon_anon-1": "alice"}
    assert viewer.get(user_url("alice")).json()["anonymous_ids"] == ["anon_anon-1"]


@both_storage_paths
def test_it_keeps_the_first_identify_of_an_anonymous_id(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="anon-1"), format="json")

    response = ingest.post(TRACK, event("bob", anonymous_id="anon-1"), format="json")

    assert response.status_code == 202
    assert stored_aliases(team.tenant) == {"anon_anon-1": "alice"}
    assert viewer.get(user_url("alice")).json()["anonymous_ids"] == ["anon_anon-1"]
    assert viewer.get(user_url("bob")).json()["anonymous_ids"] == []


@both_storage_paths
def test_it_keeps_the_earliest_pairing_within_one_batch(
    autocommit: bool, team: Team, ingest: APIClient, base: datetime
) -> None:
    events = [
        event("bob", anonymous_id="anon-1", occurred_at=_at(base, 3)),
        event("alice", anonymous_id="anon-1", occurred_at=_at(base, 1)),
        event("carol", anonymous_id="anon-1", occurred_at=_at(base, 2)),
        event("carol", anonymous_id="anon-2", occurred_at=_at(base, 2)),
    ]

    ingest.post(BATCH, {"events": events}, format="json")

    assert stored_aliases(team.tenant) == {"anon_anon-1": "alice", "anon_anon-2": "carol"}


def test_it_lists_every_anonymous_id_of_a_user(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    for anonymous_id in ("anon-a", "anon-b", "anon-c"):
        ingest.post(TRACK, event("alice", anonymous_id=anonymous_id), format="json")
    ingest.post(TRACK, event("alice", anonymous_id="anon-a"), format="json")

    assert sorted(viewer.get(user_url("alice")).json()["anonymous_ids"]) == [
        "anon_anon-a",
        "anon_anon-b",
        "anon_anon-c",
    ]


def test_it_records_no_alias_for_an_anonymous_visitors_own_events(team: Team, ingest: APIClient) -> None:
    ingest.post(TRACK, {"anonymous_id": "device-1", "event_type": "page_viewed"}, format="json")

    assert stored_aliases(team.tenant) == {}


def test_an_anonymous_id_equal_to_a_user_id_is_another_id(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="alice"), format="json")

    assert stored_aliases(team.tenant) == {"anon_alice": "alice"}
    assert _event_users(viewer, "alice") == ["alice"]


@both_storage_paths
def test_it_includes_events_sent_under_an_aliased_anonymous_id(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(
        BATCH, {"events": [_anonymous("anon-1"), _anonymous("anon-1", "product_viewed")]}, format="json"
    )
    ingest.post(TRACK, event("alice", "signed_up", anonymous_id="anon-1"), format="json")
    ingest.post(TRACK, _anonymous("anon-2"), format="json")

    assert _event_users(viewer, "alice") == ["alice", "anon_anon-1", "anon_anon-1"]
    assert _event_users(viewer, "anon_anon-1") == ["anon_anon-1", "anon_anon-1"]


@both_storage_paths
def test_it_never_merges_two_known_users(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="device-1"), format="json")
    ingest.post(TRACK, event("bob", anonymous_id="device-2"), format="json")
    # The same device later used by bob, and bob's device by alice: neither becomes the other.
    ingest.post(TRACK, event("bob", anonymous_id="device-1"), format="json")
    ingest.post(TRACK, event("alice", anonymous_id="device-2"), format="json")

    assert stored_aliases(team.tenant) == {"anon_device-1": "alice", "anon_device-2": "bob"}
    assert _event_users(viewer, "alice") == ["alice", "alice"]
    assert _event_users(viewer, "bob") == ["bob", "bob"]
    assert viewer.get(user_url("alice")).json()["event_count"] == 2
    assert viewer.get(user_url("bob")).json()["event_count"] == 2


def test_it_never_aliases_an_identified_user_to_another_user(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", "signed_up", anonymous_id="device-1"), format="json")
    ingest.post(TRACK, event("bob", "signed_up"), format="json")

    ingest.post(TRACK, event("bob", "page_viewed", anonymous_id="alice"), format="json")

    # The anonymous id "alice" is the visitor anon_alice, not the user alice: she stays herself.
    assert stored_aliases(team.tenant) == {"anon_device-1": "alice", "anon_alice": "bob"}
    assert _event_users(viewer, "bob") == ["bob", "bob"]
    assert _event_users(viewer, "alice") == ["alice"]


def test_it_keeps_aliases_per_tenant(
    team: Team, ingest: APIClient, globex_ingest: APIClient, viewer: APIClient
) -> None:
    globex_ingest.post(TRACK, event("alice", anonymous_id="anon-1"), format="json")
    ingest.post(TRACK, _anonymous("anon-1"), format="json")
    ingest.post(TRACK, event("bob", anonymous_id="anon-1"), format="json")

    assert stored_aliases(team.tenant) == {"anon_anon-1": "bob"}
    assert stored_aliases(team.other_tenant) == {"anon_anon-1": "alice"}
    assert _event_users(viewer, "bob") == ["anon_anon-1", "bob"]
