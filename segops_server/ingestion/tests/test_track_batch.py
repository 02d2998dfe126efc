"""POST /api/ingestion/track/batch/: up to 500 events; bad ones are skipped and reported."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, both_storage_paths, event, stored_events
from segops_server.testing.factories import Team


@both_storage_paths
def test_it_stores_every_event_of_a_batch(autocommit: bool, team: Team, ingest: APIClient) -> None:
    events = [event(f"u-{i % 3}", "page_viewed", payload={"seq": i}) for i in range(10)]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": 10, "skipped": 0, "rejected": 0, "violations": 0, "errors": []}
    stored = stored_events(team.tenant)
    assert sorted(e.payload["seq"] for e in stored) == list(range(10))
    assert {e.payload["seq"]: e.user_id for e in stored} == {i: f"u-{i % 3}" for i in range(10)}


@both_storage_paths
def test_it_skips_bad_events_and_keeps_the_rest(autocommit: bool, team: Team, ingest: APIClient) -> None:
    events: list[Any] = [
        event("u-1", payload={"seq": 0}),
        event("u-1", "Order Placed", payload={"seq": 1}),
        event("", payload={"seq": 2}),
        event("u-2", payload={"seq": 3}),
        "not an object",
        event("u-3", occurred_at="yesterday", payload={"seq": 5}),
        event("u-3", payload=[1, 2]),
        event("u-4", payload={"seq": 7}),
    ]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["queued"] == 3
    assert body["skipped"] == 5
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "event_type"),
        (2, "user_id"),
        (4, "event"),
        (5, "occurred_at"),
        (6, "payload"),
    ]
    assert all(e["message"] for e in body["errors"])
    assert sorted(e.payload["seq"] for e in stored_events(team.tenant)) == [0, 3, 7]


def test_it_reports_at_most_fifty_errors_but_counts_them_all(team: Team, ingest: APIClient) -> None:
    events = [event("u-1", "Bad Type") for _ in range(60)] + [event("u-1")]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["queued"], body["skipped"], len(body["errors"])) == (1, 60, 50)
    assert [e["index"] for e in body["errors"]] == list(range(50))


def test_it_accepts_a_batch_where_every_event_is_bad(team: Team, ingest: APIClient) -> None:
    response = ingest.post(BATCH, {"events": [{}, {"event_type": "x"}]}, format="json")

    assert response.status_code == 202
    assert (response.json()["queued"], response.json()["skipped"]) == (0, 2)
    assert stored_events(team.tenant) == []


def test_it_accepts_an_empty_batch(team: Team, ingest: APIClient) -> None:
    response = ingest.post(BATCH, {"events": []}, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": 0, "skipped": 0, "rejected": 0, "violations": 0, "errors": []}


def test_it_accepts_exactly_500_events(team: Team, ingest: APIClient) -> None:
    events = [event(f"u-{i % 7}", payload={"seq": i}) for i in range(500)]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert response.json()["queued"] == 500
    assert sorted(e.payload["seq"] for e in stored_events(team.tenant)) == list(range(500))


def test_it_refuses_501_events_with_413_and_stores_none(team: Team, ingest: APIClient) -> None:
    events = [event(payload={"seq": i}) for i in range(501)]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "500" in detail
    assert "501" in detail
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": None},
        {"events": "e"},
        {"events": {"0": {}}},
        {"event": []},
        [],
        [{}],
        "events",
        5,
        None,
    ],
    ids=[
        "missing",
        "null",
        "string",
        "object",
        "misspelt",
        "list",
        "bare-events",
        "text",
        "number",
        "null-body",
    ],
)
def test_it_answers_400_when_events_is_not_a_list(team: Team, ingest: APIClient, body: Any) -> None:
    response = ingest.post(BATCH, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "events" in response.json()
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"events": [', b"\xff", b'{"events": ["\xff"]}', b'{"events": [' * 20_000],
    ids=["malformed", "truncated", "not-utf8", "not-utf8-in-string", "nested-too-deep"],
)
def test_it_answers_400_to_a_body_that_is_not_json(team: Team, ingest: APIClient, body: bytes) -> None:
    response = ingest.post(BATCH, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def _body_of_size(size: int) -> bytes:
    """A valid batch of 16 events (each under 32 KB) whose JSON is exactly `size` bytes."""
    events = [event(payload={"pad": ""}) for _ in range(16)]
    base = len(json.dumps({"events": events}).encode())
    pad, extra = divmod(size - base, 16)
    for i, e in enumerate(events):
        e["payload"]["pad"] = "x" * (pad + (1 if i < extra else 0))
    body = json.dumps({"events": events}).encode()
    assert len(body) == size
    return body


def test_it_accepts_a_body_of_exactly_512000_bytes(team: Team, ingest: APIClient) -> None:
    response = ingest.post(BATCH, _body_of_size(512_000), content_type="application/json")

    assert response.status_code == 202
    assert response.json()["queued"] == 16


def test_it_refuses_a_body_over_512000_bytes_with_413(team: Team, ingest: APIClient) -> None:
    response = ingest.post(BATCH, _body_of_size(512_001), content_type="application/json")

    assert response.status_code == 413
    assert "512000" in response.json()["detail"]
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"events": []}'),
        ("application/x-www-form-urlencoded", "events=1"),
        ("multipart/form-data; boundary=xyz", "--xyz--"),
    ],
)
def test_it_answers_415_to_a_body_that_is_not_declared_json(
    team: Team, ingest: APIClient, content_type: str, body: str
) -> None:
    response = ingest.post(BATCH, body, content_type=content_type)

    assert response.status_code == 415
    assert "detail" in response.json()
