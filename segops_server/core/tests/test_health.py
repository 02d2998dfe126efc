"""/healthz (the process is up) and /readyz (it can reach its database)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client


def test_it_answers_healthz_without_a_database() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_answers_readyz_when_the_database_is_reachable(db: None) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("error", [OperationalError("connection refused"), RuntimeError("driver crashed")])
def test_it_answers_503_when_the_database_is_unreachable(db: None, error: Exception) -> None:
    with mock.patch("segops_server.core.views.connection") as connection:
        connection.cursor.side_effect = error
        response = Client().get("/readyz")
    assert connection.cursor.called
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "Database unreachable."}
