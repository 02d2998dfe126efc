"""Event schemas on ingestion: `reject` refuses a single event and skips a batch event, `warn`
stores it with its violations (shown in the explorer) and counts it, `off` checks nothing; the
short way and the DRF views answer and store alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import (
    BATCH,
    TRACK,
    both_storage_paths,
    event,
    stored_events,
    user_url,
)
from segops_server.keys.services import IssuedKey
from segops_server.schemas import enforcement
from segops_server.schemas.models import EventSchema
from segops_server.schemas.services import schema_create, schema_update
from segops_server.testing.factories import Team
from segops_server.testing.wsgi import Application

pytestmark = pytest.mark.django_db

ORDER_PROPERTIES = {"amount": {"type": "number", "required": True}, "coupon": {"type": "string"}}
MISSING_AMOUNT = [{"path": "payload.amount", "message": "Required by the schema, missing."}]


def _schema(team: Team, enforcement: str, event_type: str = "order_placed") -> EventSchema:
    return schema_create(
        tenant=team.tenant, event_type=event_type, properties=ORDER_PROPERTIES, enforcement=enforcement
    )


def _counts(schema: EventSchema) -> tuple[int, int]:
    schema.refresh_from_db()
    return schema.violation_count, schema.rejection_count


def _order(user_id: str = "u-1", **payload: Any) -> dict[str, Any]:
    return event(user_id, "order_placed", payload=payload)


def test_reject_refuses_a_single_event_naming_the_property(team: Team, ingest: APIClient) -> None:
    schema = _schema(team, "reject")
    refused = ingest.post(TRACK, _order(coupon=5), format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "payload.amount": ["Required by the schema, missing."],
        "payload.coupon": ["Must be of type string, not integer."],
    }
    assert stored_events(team.tenant) == []
    assert _counts(schema) == (0, 1)
    assert ingest.post(TRACK, _order(amount=9.5), format="json").status_code == 202
    assert [e.payload for e in stored_events(team.tenant)] == [{"amount": 9.5}]
    assert stored_events(team.tenant)[0].schema_violations is None
    assert _counts(schema) == (0, 1)


def test_reject_skips_a_batch_event_and_counts_it_with_its_reason(team: Team, ingest: APIClient) -> None:
    schema = _schema(team, "reject")
    events = [
        _order("a", amount=1),
        _order("b"),
        event("c", "Bad Type"),
        event("d", "page_viewed", payload={"amount": "not checked"}),
    ]
    answer = ingest.post(BATCH, {"events": events}, format="json")
    assert answer.status_code == 202
    body = answer.json()
    assert (body["queued"], body["skipped"], body["rejected"], body["violations"]) == (2, 2, 1, 0)
    assert body["errors"][0] == {
        "index": 1,
        "field": "payload.amount",
        "message": "Refused by the order_placed schema: payload.amount: Required by the schema, missing.",
        "reason": "schema",
    }
    assert body["errors"][1]["index"] == 2
    assert body["errors"][1]["reason"] == "invalid"
    assert sorted(e.user_id for e in stored_events(team.tenant)) == ["a", "d"]
    assert _counts(schema) == (0, 1)


@both_storage_paths
def test_warn_stores_the_event_with_its_violations_and_counts_it(
    team: Team, ingest: APIClient, autocommit: bool
) -> None:
    schema = _schema(team, "warn")
    assert ingest.post(TRACK, _order("alice"), format="json").status_code == 202
    answer = ingest.post(
        BATCH, {"events": [_order("alice", amount=2), _order("alice", coupon=1)]}, format="json"
    )
    assert answer.json() == {"queued": 2, "skipped": 0, "rejected": 0, "violations": 1, "errors": []}
    stored = stored_events(team.tenant)
    assert [e.schema_violations for e in stored] == [
        MISSING_AMOUNT,
        None,
        [*MISSING_AMOUNT, {"path": "payload.coupon", "message": "Must be of type string, not integer."}],
    ]
    assert _counts(schema) == (2, 0)


def test_the_explorer_shows_an_events_violations(team: Team, ingest: APIClient, viewer: APIClient) -> None:
    _schema(team, "warn")
    ingest.post(BATCH, {"events": [_order("alice"), _order("alice", amount=3)]}, format="json")
    results = viewer.get(user_url("alice", "events/")).json()["results"]
    assert sorted(str(r["schema_violations"]) for r in results) == sorted([str(MISSING_AMOUNT), "None"])


def test_a_retried_event_counts_its_violation_once(team: Team, ingest: APIClient) -> None:
    schema = _schema(team, "warn")
    for _ in range(2):
        sent = ingest.post(TRACK, {**_order(), "message_id": "m-1"}, format="json")
        assert sent.status_code == 202
    assert len(stored_events(team.tenant)) == 1
    assert _counts(schema) == (1, 0)


def test_off_checks_nothing(team: Team, ingest: APIClient) -> None:
    schema = _schema(team, "off")
    assert ingest.post(TRACK, _order(coupon=5), format="json").status_code == 202
    assert stored_events(team.tenant)[0].schema_violations is None
    assert _counts(schema) == (0, 0)


def test_another_tenants_schema_does_not_apply(team: Team, ingest: APIClient) -> None:
    schema_create(
        tenant=team.other_tenant, event_type="order_placed", properties=ORDER_PROPERTIES, enforcement="reject"
    )
    assert ingest.post(TRACK, _order(), format="json").status_code == 202


@both_storage_paths
def test_the_short_way_answers_and_stores_as_the_drf_view(
    team: Team, ingest_key: IssuedKey, autocommit: bool
) -> None:
    rejecting = _schema(team, "reject")
    warning = _schema(team, "warn", event_type="page_viewed")
    app = Application()
    auth = {"headers": {"Authorization": f"ApiKey {ingest_key.key}"}}
    cases = [
        (_order(), 400, "django"),
        (event("u-2", "page_viewed", payload={"coupon": "c"}), 202, "fast path"),
    ]
    for body, status, served_by in cases:
        fast = app.fast("POST", TRACK, body, **auth)
        django = app.django("POST", TRACK, body, **auth)
        assert (fast.status, fast.served_by) == (status, served_by)
        assert (fast.status, fast.headers, fast.body) == (django.status, django.headers, django.body)
    # A refusal is the DRF view's answer (the short way declines it), counted once per request.
    assert _counts(rejecting) == (0, 2)
    assert _counts(warning) == (2, 0)
    assert [e.schema_violations for e in stored_events(team.tenant)] == [MISSING_AMOUNT] * 2


@override_settings(SEGOPS_SCHEMA_CACHE=True)
def test_a_change_reaches_ingestion_at_once_with_the_cache_on(
    team: Team, ingest: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    enforcement.cache_clear()
    schema = _schema(team, "reject")
    assert ingest.post(TRACK, _order(), format="json").status_code == 400  # cached now
    assert enforcement.tenant_schemas(team.tenant.pk)["order_placed"].enforcement == "reject"
    with django_capture_on_commit_callbacks(execute=True):
        schema_update(schema=schema, enforcement="warn")
    assert ingest.post(TRACK, _order(), format="json").status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        schema_update(schema=schema, enforcement="off")
    assert ingest.post(TRACK, _order(), format="json").status_code == 202
    assert [e.schema_violations for e in stored_events(team.tenant)] == [MISSING_AMOUNT, None]
    enforcement.cache_clear()
