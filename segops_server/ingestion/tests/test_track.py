"""POST /api/ingestion/track/: one event, answered 202 once it is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import TRACK, both_storage_paths, event, stored_events
from segops_server.testing.factories import Team


@both_storage_paths
def test_it_stores_the_event_for_the_keys_tenant(
    autocommit: bool, team: Team, ingest: APIClient, globex_ingest: APIClient
) -> None:
    body = event(
        "user-7",
        "order_placed",
        occurred_at="2026-01-02T03:04:05Z",
        payload={"total": 42.5, "items": [{"sku": "A-1", "qty": 2}], "gift": False, "note": None},
        anonymous_id="anon-7",
    )
    response = ingest.post(TRACK, body, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": True}
    [stored] = stored_events(team.tenant)
    assert stored.user_id == "user-7"
    assert stored.event_type == "order_placed"
    assert stored.occurred_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert stored.payload == body["payload"]
    assert stored.anonymous_id == "anon-7"
    assert stored_events(team.other_tenant) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.250000Z", datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2026-01-02T05:04:05+02:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-01T22:04:05-05:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_it_stores_occurred_at_in_utc(team: Team, ingest: APIClient, given: str, expected: datetime) -> None:
    response = ingest.post(TRACK, event(occurred_at=given), format="json")

    assert response.status_code == 202, response.json()
    [stored] = stored_events(team.tenant)
    assert stored.occurred_at == expected
    assert stored.occurred_at.utcoffset() == timedelta(0)


@both_storage_paths
def test_it_uses_the_receive_time_when_occurred_at_is_missing(
    autocommit: bool, team: Team, ingest: APIClient
) -> None:
    before = timezone.now()
    response = ingest.post(TRACK, event(), format="json")
    after = timezone.now()

    assert response.status_code == 202
    [stored] = stored_events(team.tenant)
    assert before <= stored.occurred_at <= after
    assert stored.occurred_at == stored.received_at


def test_it_stores_an_event_without_payload_as_an_empty_object(team: Team, ingest: APIClient) -> None:
    ingest.post(TRACK, event(payload=None), format="json")
    ingest.post(TRACK, event(), format="json")

    assert [e.payload for e in stored_events(team.tenant)] == [{}, {}]
    assert [e.anonymous_id for e in stored_events(team.tenant)] == [None, None]


def test_it_ignores_unknown_fields(team: Team, ingest: APIClient) -> None:
    response = ingest.post(TRACK, event(context={"ip": "10.0.0.1"}, version=2), format="json")

    assert response.status_code == 202
    assert len(stored_events(team.tenant)) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"user_id": "u-1", "event_type": "x"',
        b"\xff\xfe",
        b'{"user_id": "\xff", "event_type": "x"}',
        b'{"user_id": "u-1", "event_type": "x", "payload": {"n": 1e999}}',
    ],
    ids=["malformed", "truncated", "not-utf8", "not-utf8-in-string", "number-out-of-range"],
)
def test_it_answers_400_to_a_body_that_is_not_json(team: Team, ingest: APIClient, body: bytes) -> None:
    response = ingest.post(TRACK, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert stored_events(team.tenant) == []


def test_it_answers_400_naming_event_type_to_an_empty_body(team: Team, ingest: APIClient) -> None:
    response = ingest.post(TRACK, b"", content_type="application/json")

    assert response.status_code == 400
    assert "event_type" in response.json()


@pytest.mark.parametrize(
    "body", [b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 30_000 + b"1" + b"}" * 30_000], ids=["list", "object"]
)
def test_it_answers_400_to_json_nested_too_deep(team: Team, ingest: APIClient, body: bytes) -> None:
    response = ingest.post(TRACK, body, content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"user_id": "u-1", "event_type": "x"}'),
        ("application/x-www-form-urlencoded", "user_id=u-1&event_type=x"),
        ("application/xml", "<event/>"),
    ],
)
def test_it_answers_415_to_a_body_that_is_not_declared_json(
    team: Team, ingest: APIClient, content_type: str, body: str
) -> None:
    response = ingest.post(TRACK, body, content_type=content_type)

    assert response.status_code == 415
    assert content_type in response.json()["detail"]
    assert stored_events(team.tenant) == []
