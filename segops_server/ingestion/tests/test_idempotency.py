"""message_id: a client's retry is acknowledged but stored once, per tenant."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.ingestion.models import SeenMessage
from segops_server.ingestion.tests.helpers import BATCH, TRACK, event, stored_events, user_url
from segops_server.testing.factories import Team


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_retried_single_event_once(team: Team, ingest: APIClient) -> None:
    first = ingest.post(TRACK, event("u-1", message_id="m-1", payload={"try": 1}), format="json")
    retry = ingest.post(TRACK, event("u-1", message_id="m-1", payload={"try": 2}), format="json")

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == {"queued": True}
    assert [e.payload for e in stored_events(team.tenant)] == [{"try": 1}]


def test_it_stores_a_retried_batch_once(team: Team, ingest: APIClient) -> None:
    events = [event("u-1", message_id=f"m-{i}", payload={"seq": i}) for i in range(5)]
    ingest.post(BATCH, {"events": events[:3]}, format="json")

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert response.json()["queued"] == 5
    assert sorted(e.payload["seq"] for e in stored_events(team.tenant)) == [0, 1, 2, 3, 4]


def test_it_stores_a_message_id_repeated_within_one_batch_once(team: Team, ingest: APIClient) -> None:
    events = [
        event("u-1", message_id="dup", payload={"seq": 0}),
        event("u-1", message_id="dup", payload={"seq": 1}),
        event("u-1", payload={"seq": 2}),
        event("u-1", message_id="dup", payload={"seq": 3}),
    ]

    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert response.json() == {"queued": 4, "skipped": 0, "rejected": 0, "violations": 0, "errors": []}
    assert sorted(e.payload["seq"] for e in stored_events(team.tenant)) == [0, 2]


def test_it_counts_a_retried_event_once_in_the_profile(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    for _ in range(3):
        ingest.post(TRACK, event("u-1", message_id="m-1"), format="json")
    ingest.post(TRACK, event("u-1", message_id="m-2"), format="json")

    assert viewer.get(user_url("u-1")).json()["event_count"] == 2


def test_it_stores_the_same_message_id_separately_per_tenant(
    team: Team, ingest: APIClient, globex_ingest: APIClient
) -> None:
    ingest.post(TRACK, event("u-1", message_id="m-1"), format="json")

    response = globex_ingest.post(TRACK, event("u-1", message_id="m-1"), format="json")

    assert response.status_code == 202
    assert len(stored_events(team.tenant)) == 1
    assert len(stored_events(team.other_tenant)) == 1


def test_it_does_not_record_the_message_id_of_a_refused_event(team: Team, ingest: APIClient) -> None:
    refused = ingest.post(TRACK, event("u-1", "Bad Type", message_id="m-1"), format="json")
    accepted = ingest.post(TRACK, event("u-1", message_id="m-1"), format="json")

    assert (refused.status_code, accepted.status_code) == (400, 202)
    assert len(stored_events(team.tenant)) == 1
    assert SeenMessage.objects.for_tenant(team.tenant).count() == 1


def test_it_treats_message_ids_as_case_and_space_sensitive(team: Team, ingest: APIClient) -> None:
    events = [event(message_id=m) for m in ("m-1", "M-1", "m-1 ")]

    ingest.post(BATCH, {"events": events}, format="json")

    assert len(stored_events(team.tenant)) == 3
