"""/healthz (the process is up) and /readyz (it can reach its database, and a task worker has
checked in lately)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from segops_server.core.workers import WorkersSeen, heartbeat_record, worker_heartbeats, workers_seen


def test_it_answers_healthz_without_a_database() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_answers_readyz_when_the_database_is_reachable_and_a_worker_beats(db: None) -> None:
    heartbeat_record(worker="w1", started_at=timezone.now())
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    # The first request of a process loads every view module: the beat may be a moment old.
    assert 0.0 <= body["worker"].pop("last_seen_seconds_ago") < 5
    assert body == {"status": "ok", "worker": {"status": "ok", "alive": 1}}


def test_it_answers_503_when_no_worker_has_checked_in_lately(db: None, settings: Any) -> None:
    settings.SEGOPS_READYZ_REQUIRE_WORKER = True
    settings.SEGOPS_WORKER_STALE_SECONDS = 30
    heartbeat_record(worker="w1", started_at=timezone.now(), now=timezone.now() - timedelta(seconds=45))
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["detail"].startswith("No task worker has checked in within 30 seconds")
    assert body["worker"]["status"] == "missing"
    assert body["worker"]["alive"] == 0
    assert 44 <= body["worker"]["last_seen_seconds_ago"] <= 60


def test_it_answers_503_when_no_worker_ever_started(db: None, settings: Any) -> None:
    settings.SEGOPS_READYZ_REQUIRE_WORKER = True
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["worker"] == {"status": "missing", "alive": 0, "last_seen_seconds_ago": None}


def test_it_only_reports_a_missing_worker_when_one_is_not_required(db: None, settings: Any) -> None:
    settings.SEGOPS_READYZ_REQUIRE_WORKER = False
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert "No task worker" in response.json()["detail"]


@pytest.mark.parametrize("error", [OperationalError("connection refused"), RuntimeError("driver crashed")])
def test_it_answers_503_when_the_database_is_unreachable(db: None, error: Exception) -> None:
    with mock.patch("segops_server.core.workers.connection") as connection:
        connection.cursor.side_effect = error
        response = Client().get("/readyz")
    assert connection.cursor.called
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "Database unreachable."}


def test_it_reads_the_workers_as_their_heartbeats_say(db: None, settings: Any) -> None:
    """workers_seen (one query, for /readyz) agrees with worker_heartbeats at every boundary."""
    settings.SEGOPS_WORKER_STALE_SECONDS = 30
    now = timezone.now()
    assert workers_seen(now=now) == WorkersSeen(alive=0, last_seen_seconds_ago=None)
    ages = {
        "ahead": -5.0,  # a clock ahead of ours: age 0, alive
        "fresh": 1.5,
        "at the bound": 30.0,
        "just past": 30.000001,
        "stale": 45.0,
        "gone": 2 * 86400.0,  # beyond a day: neither alive nor the latest
    }
    for name, age in ages.items():
        heartbeat_record(worker=name, started_at=now, now=now - timedelta(seconds=age))
    for at in (now, now + timedelta(seconds=40), now + timedelta(hours=23), now + timedelta(days=3)):
        infos = worker_heartbeats(now=at)
        seen = workers_seen(now=at)
        assert seen.alive == sum(1 for info in infos if info.alive)
        assert seen.last_seen_seconds_ago == (infos[0].age_seconds if infos else None)
    assert workers_seen(now=now).alive == 3  # ahead, fresh, at the bound
