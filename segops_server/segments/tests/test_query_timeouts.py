from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import override_settings

from segops_server.core.rawsql import statement_timeout
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db


def test_it_bounds_statements_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    with transaction.atomic(), connection.cursor() as cursor:
        statement_timeout(cursor, 7)
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "7s"


@override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=1)
def test_it_answers_a_slow_preview_with_a_clear_400(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    monkeypatch.setattr(
        "segops_server.segments.selectors.definition_compile",
        lambda *a, **k: ("SELECT 'u' AS user_id FROM pg_sleep(3)", []),
    )
    definition = {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": "x", "operator": "gte", "value": 1}],
    }
    response = team.client("viewer").post("/api/segments/preview/", {"definition": definition}, format="json")
    assert response.status_code == 400
    assert "longer than 1 s" in response.json()["detail"]
