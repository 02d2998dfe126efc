"""On SQLite every transaction takes the file's one write lock (IMMEDIATE), so reads run outside
transactions there: a long preview must not stall ingestion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from segops_server.testing.factories import make_team

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL bounds the preview in a transaction")
@pytest.mark.django_db(transaction=True)
def test_it_previews_without_taking_the_write_lock_on_sqlite() -> None:
    team = make_team()
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = team.client("viewer").post("/api/segments/preview/", {"definition": BUYERS}, format="json")
    assert response.status_code == 200, response.content
    rule = [atomic for sql, atomic in seen if "count(*)" in sql or "ORDER BY q.user_id" in sql]
    assert len(rule) == 2
    assert not any(rule), "the preview ran inside a write transaction"
