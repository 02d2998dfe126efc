"""GET /api/explorer/users/?q=&limit=: the tenant's users with counts and seen times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, USERS, both_storage_paths, event, iso
from segops_server.testing.factories import Team

USER_IDS = ["alice@example.com", "Bob", "carol", "ALICIA", "dave/ops", "zoë"]


@pytest.fixture
def base() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(days=3)


def _send(ingest: APIClient, base: datetime) -> None:
    events = [
        event(user_id, occurred_at=iso(base + timedelta(minutes=n)))
        for i, user_id in enumerate(USER_IDS)
        for n in range(i + 1)
    ]
    assert ingest.post(BATCH, {"events": events}, format="json").json()["queued"] == len(events)


@both_storage_paths
def test_it_lists_users_with_counts_and_seen_times(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send(ingest, base)

    response = viewer.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    by_id = {row["user_id"]: row for row in body["results"]}
    assert set(by_id) == set(USER_IDS)
    for i, user_id in enumerate(USER_IDS):
        assert by_id[user_id] == {
            "user_id": user_id,
            "event_count": i + 1,
            "first_seen": iso(base),
            "last_seen": iso(base + timedelta(minutes=i)),
        }


def test_it_orders_users_by_id(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    user_ids = ["m-2", "b-1", "z-9", "a-10", "a-1"]
    ingest.post(BATCH, {"events": [event(user_id) for user_id in user_ids]}, format="json")

    results = viewer.get(USERS).json()["results"]

    assert [r["user_id"] for r in results] == sorted(user_ids)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ali", {"alice@example.com", "ALICIA"}),
        ("ALI", {"alice@example.com", "ALICIA"}),
        ("@example", {"alice@example.com"}),
        ("/", {"dave/ops"}),
        ("zoë", {"zoë"}),
        ("nobody", set()),
        ("", set(USER_IDS)),
    ],
)
def test_it_filters_by_a_case_insensitive_substring(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime, q: str, expected: set[str]
) -> None:
    _send(ingest, base)

    body = viewer.get(USERS, {"q": q}).json()

    assert {r["user_id"] for r in body["results"]} == expected
    assert body["count"] == len(expected)


def test_it_treats_like_wildcards_in_q_literally(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    ingest.post(BATCH, {"events": [event("100%_sure"), event("100 ok"), event("1x0")]}, format="json")

    assert [r["user_id"] for r in viewer.get(USERS, {"q": "%"}).json()["results"]] == ["100%_sure"]
    assert [r["user_id"] for r in viewer.get(USERS, {"q": "_"}).json()["results"]] == ["100%_sure"]


def test_it_limits_the_results_but_counts_every_match(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send(ingest, base)

    body = viewer.get(USERS, {"limit": 2}).json()

    assert body["count"] == 6
    everyone = viewer.get(USERS).json()["results"]
    assert body["results"] == everyone[:2]


def test_it_defaults_to_fifty_results(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    ingest.post(BATCH, {"events": [event(f"user-{i:03}") for i in range(60)]}, format="json")

    body = viewer.get(USERS).json()

    assert (body["count"], len(body["results"])) == (60, 50)
    assert len(viewer.get(USERS, {"limit": 200}).json()["results"]) == 60


def test_it_answers_an_empty_list_for_a_tenant_without_events(team: Team, viewer: APIClient) -> None:
    assert viewer.get(USERS).json() == {"count": 0, "results": []}


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": -1}, {"limit": 201}, {"limit": "ten"}, {"q": "x" * 256}],
    ids=["limit-0", "limit-negative", "limit-201", "limit-text", "q-too-long"],
)
def test_it_answers_400_to_bad_parameters(team: Team, viewer: APIClient, params: dict[str, Any]) -> None:
    response = viewer.get(USERS, params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)
