"""Each event field's rules: a bad single event is a 400 naming the field; edge values pass."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import BATCH, TRACK, iso, stored_events
from segops_server.testing.factories import Team

VALID = {"user_id": "u-1", "event_type": "page_viewed"}
MISSING = object()


def _future(hours: int) -> str:
    return iso(timezone.now() + timedelta(hours=hours))


BAD_EVENTS: list[Any] = [
    pytest.param("user_id", MISSING, id="user_id-missing"),
    pytest.param("user_id", None, id="user_id-null"),
    pytest.param("user_id", "", id="user_id-empty"),
    pytest.param("user_id", "   \t", id="user_id-whitespace"),
    pytest.param("user_id", "u" * 256, id="user_id-256-chars"),
    pytest.param("user_id", 42, id="user_id-number"),
    pytest.param("user_id", ["u-1"], id="user_id-list"),
    pytest.param("user_id", "u\x001", id="user_id-nul"),
    pytest.param("user_id", "anon_u-1", id="user_id-anonymous-space"),
    pytest.param("anonymous_id", "a" * 251, id="anonymous_id-251-chars"),
    pytest.param("event_type", MISSING, id="event_type-missing"),
    pytest.param("event_type", None, id="event_type-null"),
    pytest.param("event_type", "", id="event_type-empty"),
    pytest.param("event_type", "Order Placed", id="event_type-words"),
    pytest.param("event_type", "orderPlaced", id="event_type-camel"),
    pytest.param("event_type", "order-placed", id="event_type-dash"),
    pytest.param("event_type", "_x", id="event_type-leading-underscore"),
    pytest.param("event_type", "x_", id="event_type-trailing-underscore"),
    pytest.param("event_type", "x__y", id="event_type-double-underscore"),
    pytest.param("event_type", "1st_order", id="event_type-leading-digit"),
    pytest.param("event_type", "a" * 101, id="event_type-101-chars"),
    pytest.param("event_type", 7, id="event_type-number"),
    pytest.param("occurred_at", "yesterday", id="occurred_at-garbage"),
    pytest.param("occurred_at", "", id="occurred_at-empty"),
    pytest.param("occurred_at", "2026-13-01T00:00:00Z", id="occurred_at-month-13"),
    pytest.param("occurred_at", 1767225600, id="occurred_at-number"),
    pytest.param("occurred_at", _future(25), id="occurred_at-25h-ahead"),
    pytest.param("occurred_at", "9999-12-31T23:59:59Z", id="occurred_at-year-9999"),
    pytest.param("occurred_at", "1969-12-31T23:59:59Z", id="occurred_at-before-1970"),
    pytest.param("occurred_at", "0001-01-01T00:00:00Z", id="occurred_at-year-1"),
    pytest.param("occurred_at", "1970-01-01T05:00:00+14:00", id="occurred_at-1969-in-utc"),
    pytest.param("occurred_at", "0001-01-01T00:00:00+01:00", id="occurred_at-year-0-in-utc"),
    pytest.param("payload", [1, 2], id="payload-list"),
    pytest.param("payload", "text", id="payload-string"),
    pytest.param("payload", 5, id="payload-number"),
    pytest.param("payload", {"big": "x" * 33_000}, id="payload-over-32kb"),
    pytest.param("payload", {"note": "a\x00b"}, id="payload-nul-in-value"),
    pytest.param("payload", {"a\x00": 1}, id="payload-nul-in-key"),
    pytest.param("payload", {"deep": [{"x": ["\x00"]}]}, id="payload-nul-nested"),
    pytest.param("payload", {"k": "\\\x00"}, id="payload-nul-after-backslash"),
    pytest.param("anonymous_id", "a" * 256, id="anonymous_id-256-chars"),
    pytest.param("anonymous_id", "", id="anonymous_id-empty"),
    pytest.param("anonymous_id", 3, id="anonymous_id-number"),
    pytest.param("anonymous_id", "a\x00", id="anonymous_id-nul"),
    pytest.param("message_id", "m" * 256, id="message_id-256-chars"),
    pytest.param("message_id", " ", id="message_id-blank"),
    pytest.param("message_id", {"id": 1}, id="message_id-object"),
]


def _with(field: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(VALID)
    if value is MISSING:
        body.pop(field)
    else:
        body[field] = value
    return body


@pytest.mark.parametrize(("field", "value"), BAD_EVENTS)
def test_it_answers_400_naming_the_bad_field(team: Team, ingest: APIClient, field: str, value: Any) -> None:
    response = ingest.post(TRACK, _with(field, value), format="json")

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field][0]
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(("field", "value"), BAD_EVENTS)
def test_it_skips_the_bad_event_in_a_batch_naming_index_and_field(
    team: Team, ingest: APIClient, field: str, value: Any
) -> None:
    response = ingest.post(BATCH, {"events": [VALID, _with(field, value)]}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["queued"], body["skipped"]) == (1, 1)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, field)]
    assert len(stored_events(team.tenant)) == 1


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"x": [value]}
    return value


ACCEPTED: list[Any] = [
    pytest.param("user_id", "u" * 255, id="user_id-255-chars"),
    pytest.param("user_id", "ünïcødé 用户 👤", id="user_id-unicode"),
    pytest.param("user_id", "a/b c@d.e?f#g%h", id="user_id-punctuation"),
    pytest.param("event_type", "a" * 100, id="event_type-100-chars"),
    pytest.param("event_type", "x", id="event_type-one-letter"),
    pytest.param("event_type", "order_placed_v2", id="event_type-digits"),
    pytest.param("occurred_at", _future(23), id="occurred_at-23h-ahead"),
    pytest.param("occurred_at", "1970-01-01T00:00:00Z", id="occurred_at-epoch"),
    pytest.param("occurred_at", "1969-12-31T23:00:00-01:00", id="occurred_at-epoch-with-offset"),
    pytest.param("occurred_at", None, id="occurred_at-null"),
    pytest.param("payload", {"pad": "x" * (32 * 1024 - len('{"pad":""}'))}, id="payload-exactly-32kb"),
    pytest.param("payload", {}, id="payload-empty"),
    pytest.param("payload", None, id="payload-null"),
    pytest.param("payload", {"a": {"b": {"c": [1, 2.5, True, None, "x"]}}}, id="payload-nested"),
    pytest.param("payload", {"code": "\\u0000", "\\u0000": "\\\\u0000"}, id="payload-text-backslash-u0000"),
    pytest.param("payload", {"big": 10**30, "small": -(2**63), "float": -2.5e-7}, id="payload-big-numbers"),
    pytest.param("payload", {"d": _nested(200)}, id="payload-200-levels-deep"),
    pytest.param("anonymous_id", "a" * 250, id="anonymous_id-250-chars"),  # anon_<id> fits 255
    pytest.param("anonymous_id", None, id="anonymous_id-null"),
    pytest.param("message_id", "m" * 255, id="message_id-255-chars"),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_it_accepts_edge_values(team: Team, ingest: APIClient, field: str, value: Any) -> None:
    response = ingest.post(TRACK, _with(field, value), format="json")

    assert response.status_code == 202, response.json()
    [stored] = stored_events(team.tenant)
    if field in ("user_id", "event_type", "anonymous_id"):
        assert getattr(stored, field) == value
    if field == "payload":
        assert stored.payload == (value or {})
