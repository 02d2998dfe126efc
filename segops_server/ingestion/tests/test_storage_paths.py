"""Which write path a request takes, so the other tests really cover both on PostgreSQL.

Small requests without message ids go in one autocommit statement (outside any atomic block);
the rest use a transaction with COPY. Both must leave the same events and profiles behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import connection
from rest_framework.test import APIClient

from segops_server.ingestion import storage
from segops_server.ingestion.services import ONE_STATEMENT_MAX
from segops_server.ingestion.tests.helpers import BATCH, TRACK, event, stored_events, user_url
from segops_server.testing.factories import Team

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one write path")


@pytest.fixture
def one_statement() -> Iterator[mock.MagicMock]:
    with mock.patch.object(
        storage, "events_store_one_statement", wraps=storage.events_store_one_statement
    ) as spy:
        yield spy


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_it_writes_a_small_request_in_one_statement_outside_a_transaction(
    team: Team, ingest: APIClient, viewer: APIClient, one_statement: mock.MagicMock
) -> None:
    ingest.post(TRACK, event("alice", anonymous_id="anon-1"), format="json")
    ingest.post(BATCH, {"events": [event("alice") for _ in range(ONE_STATEMENT_MAX)]}, format="json")

    assert one_statement.call_count == 2
    assert len(stored_events(team.tenant)) == ONE_STATEMENT_MAX + 1
    assert viewer.get(user_url("alice")).json()["event_count"] == ONE_STATEMENT_MAX + 1
    assert viewer.get(user_url("alice")).json()["anonymous_ids"] == ["anon_anon-1"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "events",
    [
        [event("alice") for _ in range(ONE_STATEMENT_MAX + 1)],
        [event("alice", message_id="m-1")],
    ],
    ids=["large", "with-message-id"],
)
def test_it_writes_a_large_or_idempotent_request_in_a_transaction(
    team: Team,
    ingest: APIClient,
    viewer: APIClient,
    one_statement: mock.MagicMock,
    events: list[dict[str, str]],
) -> None:
    response = ingest.post(BATCH, {"events": events}, format="json")

    assert response.status_code == 202
    assert one_statement.call_count == 0
    assert len(stored_events(team.tenant)) == len(events)
    assert viewer.get(user_url("alice")).json()["event_count"] == len(events)


@pytest.mark.django_db
def test_it_never_uses_the_one_statement_path_inside_a_transaction(
    team: Team, ingest: APIClient, one_statement: mock.MagicMock
) -> None:
    ingest.post(TRACK, event(), format="json")

    assert one_statement.call_count == 0
    assert len(stored_events(team.tenant)) == 1
