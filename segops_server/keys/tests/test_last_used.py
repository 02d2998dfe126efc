"""last_used_at / last_used_ip: recorded on use, written at most once a minute per key."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, key_client

WHOAMI = "/api/auth/whoami/"


def _key_updates(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and "keys_apikey" in q["sql"]
    ]


def test_it_leaves_an_unused_key_without_a_last_use(team: Team, secret_key: IssuedKey) -> None:
    row = api_key_row(secret_key)
    assert (row.last_used_at, row.last_used_ip) == (None, None)


def test_it_records_when_and_from_where_a_key_was_used(team: Team, secret_key: IssuedKey) -> None:
    before = timezone.now()
    key_client(secret_key.key).get(WHOAMI, REMOTE_ADDR="203.0.113.7")
    row = api_key_row(secret_key)
    assert row.last_used_at is not None
    assert before <= row.last_used_at <= timezone.now()
    assert row.last_used_ip == "203.0.113.7"
    (item,) = team.client("admin").get("/api/auth/api-keys/").json()["results"]
    assert item["last_used_ip"] == "203.0.113.7"
    assert item["last_used_at"] is not None


def test_it_writes_at_most_once_a_minute(team: Team, secret_key: IssuedKey) -> None:
    client = key_client(secret_key.key)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get(WHOAMI).status_code == 200
    assert len(_key_updates(queries)) == 1


def test_it_writes_again_once_the_minute_has_passed(team: Team, secret_key: IssuedKey) -> None:
    client = key_client(secret_key.key)
    client.get(WHOAMI, REMOTE_ADDR="203.0.113.7")
    first = api_key_row(secret_key).last_used_at
    assert first is not None
    with mock.patch("django.utils.timezone.now", return_value=first + timedelta(seconds=59)):
        client.get(WHOAMI, REMOTE_ADDR="198.51.100.1")
    assert api_key_row(secret_key).last_used_at == first
    later = first + timedelta(seconds=61)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        CaptureQueriesContext(connection) as queries,
    ):
        client.get(WHOAMI, REMOTE_ADDR="198.51.100.1")
    assert len(_key_updates(queries)) == 1
    row = api_key_row(secret_key)
    assert (row.last_used_at, row.last_used_ip) == (later, "198.51.100.1")


def test_it_does_not_count_a_refused_use(team: Team, secret_key: IssuedKey) -> None:
    team.client("admin").delete(f"/api/auth/api-keys/{secret_key.api_key.pk}/")
    with CaptureQueriesContext(connection) as queries:
        assert key_client(secret_key.key).get(WHOAMI).status_code == 401
    assert _key_updates(queries) == []
    assert api_key_row(secret_key).last_used_at is None
