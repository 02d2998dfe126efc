"""GET /api/explorer/users/<id>/events/: newest first, cursor pages, filtered by event type."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, TRACK, both_storage_paths, event, iso, user_url
from segops_server.testing.factories import Team


@pytest.fixture
def base() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(days=5)


def _send_25(ingest: APIClient, base: datetime) -> None:
    """25 events of "u/1": seq 0..24, several sharing a timestamp, sent out of order."""
    events = [
        event(
            "u/1",
            "order_placed" if seq % 3 == 0 else "page_viewed",
            occurred_at=iso(base + timedelta(minutes=seq // 2)),
            payload={"seq": seq},
        )
        for seq in range(25)
    ]
    events.reverse()
    ingest.post(BATCH, {"events": events[:10]}, format="json")
    ingest.post(BATCH, {"events": events[10:]}, format="json")
    ingest.post(BATCH, {"events": [event("u/2", payload={"seq": 99})]}, format="json")


def _walk(viewer: APIClient, url: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    results: list[dict[str, Any]] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = viewer.get(url, query)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) == {"count", "results", "next_cursor"}
        results += body["results"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return results, pages
        assert pages < 50


@both_storage_paths
def test_it_walks_every_page_newest_first_without_duplicates_or_gaps(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send_25(ingest, base)

    results, pages = _walk(viewer, user_url("u/1", "events/"), limit=7)

    assert pages == 4
    assert len(results) == 25
    assert sorted(r["payload"]["seq"] for r in results) == list(range(25))
    keys = [(r["occurred_at"], r["id"]) for r in results]
    assert keys == sorted(keys, reverse=True)
    assert {r["user_id"] for r in results} == {"u/1"}


def test_it_pages_exactly_without_an_empty_last_page(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(BATCH, {"events": [event("u-1", payload={"seq": i}) for i in range(14)]}, format="json")

    first = viewer.get(user_url("u-1", "events/"), {"limit": 7}).json()
    second = viewer.get(user_url("u-1", "events/"), {"limit": 7, "cursor": first["next_cursor"]}).json()

    assert len(first["results"]) == len(second["results"]) == 7
    assert second["next_cursor"] is None


def test_it_answers_the_event_fields(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(
        TRACK,
        event("u-1", "order_placed", occurred_at=iso(base), payload={"total": 9.5}, anonymous_id="anon-1"),
        format="json",
    )

    [result] = viewer.get(user_url("u-1", "events/")).json()["results"]

    assert isinstance(result.pop("id"), int)
    received_at = datetime.fromisoformat(result.pop("received_at").replace("Z", "+00:00"))
    assert abs(received_at - timezone.now()) < timedelta(minutes=1)
    assert result == {
        "user_id": "u-1",
        "event_type": "order_placed",
        "occurred_at": iso(base),
        "payload": {"total": 9.5},
        "anonymous_id": "anon-1",
        "schema_violations": None,
    }


def test_it_filters_by_event_type_across_pages(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send_25(ingest, base)

    results, pages = _walk(viewer, user_url("u/1", "events/"), limit=3, event_type="order_placed")

    assert pages == 3
    assert [r["payload"]["seq"] for r in results] == [24, 21, 18, 15, 12, 9, 6, 3, 0]
    assert viewer.get(user_url("u/1", "events/"), {"event_type": "nothing"}).json() == {
        "count": 0,
        "results": [],
        "next_cursor": None,
    }


def test_it_defaults_to_100_events_and_allows_1000(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    for _ in range(3):
        ingest.post(BATCH, {"events": [event("u-1") for _ in range(400)]}, format="json")

    default = viewer.get(user_url("u-1", "events/")).json()
    largest = viewer.get(user_url("u-1", "events/"), {"limit": 1000}).json()

    assert len(default["results"]) == 100
    assert default["next_cursor"] is not None
    assert len(largest["results"]) == 1000


@both_storage_paths
def test_it_includes_events_sent_under_an_aliased_anonymous_id(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    anonymous = [
        {
            "anonymous_id": "anon-1",
            "event_type": "page_viewed",
            "occurred_at": iso(base + timedelta(minutes=m)),
            "payload": {"seq": m},
        }
        for m in range(5)
    ]
    ingest.post(BATCH, {"events": anonymous}, format="json")
    ingest.post(
        TRACK,
        event("alice", "signed_up", anonymous_id="anon-1", occurred_at=iso(base + timedelta(minutes=10))),
        format="json",
    )

    results, _ = _walk(viewer, user_url("alice", "events/"), limit=2)

    assert [(r["user_id"], r["event_type"]) for r in results] == [("alice", "signed_up")] + [
        ("anon_anon-1", "page_viewed")
    ] * 5
    assert [r["payload"].get("seq") for r in results[1:]] == [4, 3, 2, 1, 0]


def test_it_answers_404_for_an_unknown_user(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    ingest.post(TRACK, event("u-1"), format="json")

    response = viewer.get(user_url("u-2", "events/"))

    assert response.status_code == 404


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _cursor({"at": "2026-01-01T00:00:00Z", "id": 1}),
        _cursor(["2026-01-01T00:00:00Z"]),
        _cursor(["2026-01-01T00:00:00Z", 1, 2]),
        _cursor(["not a time", 1]),
        _cursor([None, 1]),
        _cursor(["2026-13-45T00:00:00Z", 1]),
        _cursor(["2026-01-01T00:00:00Z", "1"]),
        _cursor(["2026-01-01T00:00:00Z", 1.5]),
        "x" * 501,
    ],
    ids=[
        "not-base64",
        "percent",
        "not-utf8",
        "object",
        "one-item",
        "three-items",
        "bad-time",
        "null-time",
        "impossible-date",
        "text-id",
        "float-id",
        "too-long",
    ],
)
def test_it_answers_400_to_a_bad_cursor(
    team: Team, ingest: APIClient, viewer: APIClient, cursor: str
) -> None:
    ingest.post(TRACK, event("u-1"), format="json")

    response = viewer.get(user_url("u-1", "events/"), {"cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()


def test_it_answers_a_cursor_with_an_id_beyond_64_bits_without_error(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    ingest.post(TRACK, event("u-1", occurred_at=iso(base)), format="json")
    cursor = _cursor([iso(base), 10**30])

    response = viewer.get(user_url("u-1", "events/"), {"cursor": cursor})

    assert response.status_code == 200
    assert [r["occurred_at"] for r in response.json()["results"]] == [iso(base)]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": -5}, {"limit": 1001}, {"limit": "many"}, {"event_type": "e" * 101}],
    ids=["limit-0", "limit-negative", "limit-1001", "limit-text", "event-type-too-long"],
)
def test_it_answers_400_to_bad_parameters(
    team: Team, ingest: APIClient, viewer: APIClient, params: dict[str, Any]
) -> None:
    ingest.post(TRACK, event("u-1"), format="json")

    response = viewer.get(user_url("u-1", "events/"), params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_it_counts_every_matching_event_on_every_page(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send_25(ingest, base)

    first = viewer.get(user_url("u/1", "events/"), {"limit": 7}).json()
    second = viewer.get(user_url("u/1", "events/"), {"limit": 7, "cursor": first["next_cursor"]}).json()
    orders = viewer.get(user_url("u/1", "events/"), {"event_type": "order_placed", "limit": 2}).json()

    assert first["count"] == second["count"] == 25  # all pages, not this page
    assert orders["count"] == 9
    assert len(orders["results"]) == 2


def test_it_filters_by_since_across_pages(
    team: Team, ingest: APIClient, viewer: APIClient, base: datetime
) -> None:
    _send_25(ingest, base)  # seq s occurred at base + s // 2 minutes

    results, pages = _walk(
        viewer, user_url("u/1", "events/"), limit=4, since=iso(base + timedelta(minutes=10))
    )
    counted = viewer.get(user_url("u/1", "events/"), {"since": iso(base + timedelta(minutes=10))}).json()

    assert sorted(r["payload"]["seq"] for r in results) == list(range(20, 25))  # at or after the time
    assert pages == 2
    assert counted["count"] == 5
    later = viewer.get(user_url("u/1", "events/"), {"since": iso(base + timedelta(days=1))}).json()
    assert later == {"count": 0, "results": [], "next_cursor": None}


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00Z", "1700000000"])
def test_it_refuses_a_malformed_since_with_a_400_naming_it(
    team: Team, ingest: APIClient, viewer: APIClient, since: str
) -> None:
    ingest.post(TRACK, event("u-1"), format="json")

    response = viewer.get(user_url("u-1", "events/"), {"since": since})

    assert response.status_code == 400
    assert "since" in response.json()
