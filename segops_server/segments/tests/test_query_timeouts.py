from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings

from segops_server.core.rawsql import StatementTimeout, statement_timeout
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

DEFINITION = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "x", "operator": "gte", "value": 1}],
}
# A statement that runs for half a minute unless something stops it sooner (so a test whose bound
# is missing fails on its wall-time assertion rather than running for ever).
SLOW_SQL = {
    "postgresql": "SELECT 'u' AS user_id FROM pg_sleep(30)",
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT 'u' AS user_id FROM n WHERE i = 0"
    ),
}


@pytest.fixture
def slow_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule compiles to the slow statement (what a genuinely slow rule amounts to)."""

    def compile_slow(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        return SLOW_SQL[connection.vendor], []

    monkeypatch.setattr(
        "segops_server.segments.definitions.selectors.tenant_definition_compile", compile_slow
    )
    monkeypatch.setattr("segops_server.segments.compute.services.tenant_definition_compile", compile_slow)
    monkeypatch.setattr("segops_server.segments.rules.explain.tenant_definition_compile", compile_slow)


def test_it_bounds_statements_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    with transaction.atomic(), connection.cursor() as cursor:
        statement_timeout(cursor, 7)
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "7s"


def test_it_interrupts_a_statement_past_the_bound_and_then_lets_others_run() -> None:
    started = time.monotonic()
    with (
        pytest.raises(StatementTimeout),
        transaction.atomic(),
        connection.cursor() as cursor,
        statement_timeout(cursor, 1),
    ):
        cursor.execute(SLOW_SQL[connection.vendor])
    assert time.monotonic() - started < 5
    time.sleep(1.1)
    with connection.cursor() as cursor:  # the bound went with its block
        cursor.execute("SELECT count(*) FROM (SELECT 1 UNION ALL SELECT 2) q")
        assert cursor.fetchone()[0] == 2


def test_it_leaves_nothing_behind_on_sqlite_when_not_entered() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's setting is transaction-local by itself")
    with connection.cursor() as cursor:
        statement_timeout(cursor, 0)  # not used with `with`: no handler to outlive the call
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "SELECT max(i) FROM n"
        )
        assert cursor.fetchone()[0] == 100_000


@override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=1)
@pytest.mark.parametrize("who", ["viewer", "key"])
def test_it_answers_a_slow_preview_with_a_clear_400_in_time(team: Team, slow_rule: None, who: str) -> None:
    client = (
        team.client("viewer")
        if who == "viewer"
        else key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    )
    started = time.monotonic()
    response = client.post("/api/segments/preview/", {"definition": DEFINITION}, format="json")
    assert time.monotonic() - started < 5
    assert response.status_code == 400
    assert response.json() == {"detail": "This rule took longer than 1 s to evaluate."}


# SQLite rolls back the whole transaction of an interrupted INSERT, so not inside the test's own.
@pytest.mark.django_db(transaction=True)
@override_settings(SEGOPS_COMPUTE_TIMEOUT_SECONDS=1)
def test_it_fails_a_compute_past_the_bound(team: Team, slow_rule: None) -> None:
    segment = Segment.objects.for_tenant(team.tenant).create(
        tenant=team.tenant, name="Slow", definition=DEFINITION
    )
    started = time.monotonic()
    segment_compute_run(segment_id=segment.pk)
    assert time.monotonic() - started < 5
    segment.refresh_from_db()
    assert segment.status == "failed"
    assert "1 s" in segment.error  # the bound, in the compute's error


@override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=1)
def test_it_answers_a_slow_explain_with_a_clear_400_in_time(team: Team, slow_rule: None) -> None:
    segment = Segment.objects.for_tenant(team.tenant).create(
        tenant=team.tenant, name="Slow", definition=DEFINITION
    )
    started = time.monotonic()
    response = team.client("viewer").get(f"/api/explorer/users/u/segments/{segment.pk}/explain/")
    assert time.monotonic() - started < 5
    assert response.status_code == 400
    assert response.json() == {"detail": "This rule took longer than 1 s to evaluate."}


@pytest.mark.django_db(transaction=True)
def test_it_previews_on_sqlite_without_taking_the_write_lock(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's transactions take the write lock (transaction_mode IMMEDIATE)")
    in_transaction: list[bool] = []

    def probe() -> int:
        in_transaction.append(connection.connection.in_transaction)
        return 1

    connection.ensure_connection()
    connection.connection.create_function("probe", 0, probe)
    monkeypatch.setattr(
        "segops_server.segments.definitions.selectors.tenant_definition_compile",
        lambda *a, **k: ("SELECT 'u' AS user_id WHERE probe() = 1", []),
    )
    response = team.client("viewer").post("/api/segments/preview/", {"definition": DEFINITION}, format="json")
    assert response.status_code == 200
    assert in_transaction == [False, False]  # the count, then the sample: no lock held by either
