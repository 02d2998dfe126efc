"""GET /api/explorer/users/<url-encoded user id>/: one profile with traits and anonymous ids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, TRACK, event, iso, user_url
from segops_server.testing.factories import Team

ODD_IDS = [
    "a/b",
    "/leading-slash",
    "trailing-slash/",
    "a//b",
    "with space",
    "user@example.com",
    "üñíçødé-用户-👤",
    "100%",
    "what?is#this",
    "a+b=c&d",
    "..",
    "x/y/z/profile",
]


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_it_finds_a_user_whose_id_needs_url_encoding(
    team: Team, ingest: APIClient, viewer: APIClient, user_id: str
) -> None:
    ingest.post(BATCH, {"events": [event(user_id), event(f"{user_id}-other")]}, format="json")

    response = viewer.get(user_url(user_id))

    assert response.status_code == 200, response.json()
    assert response.json()["user_id"] == user_id
    assert response.json()["event_count"] == 1


def test_it_answers_the_profile_with_properties_and_anonymous_ids(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    first = timezone.now().replace(microsecond=0) - timedelta(days=2)
    ingest.post(TRACK, event("alice", occurred_at=iso(first), anonymous_id="anon-1"), format="json")
    identified_at = first + timedelta(hours=1)
    ingest.post(
        TRACK,
        event("alice", "context_identified", occurred_at=iso(identified_at), payload={"plan": "pro"}),
        format="json",
    )

    response = viewer.get(user_url("alice"))

    assert response.status_code == 200
    assert response.json() == {
        "user_id": "alice",
        "event_count": 2,
        "first_seen": iso(first),
        "last_seen": iso(identified_at),
        "properties": {"plan": "pro"},
        "properties_updated_at": iso(identified_at),
        "anonymous_ids": ["anon_anon-1"],
        "merged_user_ids": [],
        "merged_into": None,
    }


@pytest.mark.parametrize("user_id", ["nobody", "ALICE", "alice ", "alic", "a%2Fb"])
def test_it_answers_404_to_an_unknown_user(
    team: Team, ingest: APIClient, viewer: APIClient, user_id: str
) -> None:
    ingest.post(BATCH, {"events": [event("alice"), event("a/b")]}, format="json")

    response = viewer.get(user_url(user_id))

    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}


@pytest.mark.parametrize("path", ["%00/", "a%00b/", "a%00b/events/", "%FF/", "%C0%AF/events/"])
def test_it_answers_404_to_an_id_no_event_could_carry(
    team: Team, ingest: APIClient, viewer: APIClient, path: str
) -> None:
    ingest.post(BATCH, {"events": [event("a"), event("b")]}, format="json")

    response = viewer.get(f"/api/explorer/users/{path}")

    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}


def test_it_answers_404_to_an_anonymous_id_that_sent_no_events(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="anon-1"), format="json")

    assert viewer.get(user_url("anon-1")).status_code == 404


@pytest.mark.xfail(
    strict=True,
    reason="Known gap: a user id ending in /events (or /segments) routes to that sub-resource of "
    "the shorter id, since the path is decoded before routing.",
)
def test_it_finds_a_user_whose_id_ends_like_a_sub_resource(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(BATCH, {"events": [event("a/events"), event("a")]}, format="json")

    response = viewer.get(user_url("a/events"))

    assert response.json().get("user_id") == "a/events"
