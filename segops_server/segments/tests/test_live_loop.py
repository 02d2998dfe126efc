"""The worker's real-time evaluator thread: round after round, back to back while behind, an
outage one log line, a failure never fatal."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import OperationalError

from segops_server.core import runner
from segops_server.segments.live import worker


def test_it_catches_up_and_rides_out_outages_and_failures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    settings.SEGOPS_LIVE_THREADS = 1
    stop = threading.Event()
    rounds: list[str] = []
    script = ["outage", "behind", "behind", "broken", "idle"]

    def live_round(owner: str) -> int:
        what = script[len(rounds)]
        rounds.append(what)
        if len(rounds) == len(script):
            stop.set()
        if what == "outage":
            raise OperationalError("server closed the connection")
        if what == "broken":
            raise RuntimeError("a bug")
        return 200 if what == "behind" else 0

    waits: list[float] = []
    monkeypatch.setattr(worker, "live_round", live_round)
    monkeypatch.setattr(runner, "close_old_connections", lambda: None)  # no database in this test

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop.is_set()

    monkeypatch.setattr(stop, "wait", wait)
    with caplog.at_level(logging.WARNING, logger="segops.live"):
        worker.live_loop(stop)
    assert rounds == script
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Real-time evaluator: database unavailable" in m for m in messages) == 1
    assert sum("Real-time evaluation round failed" in m for m in messages) == 1
    # Behind, rounds follow each other without a wait; idle, failed or away, it waits.
    assert waits == [worker.IDLE_SECONDS] * 3


def test_each_evaluator_thread_claims_under_its_own_owner(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.SEGOPS_LIVE_THREADS = 3
    stop = threading.Event()
    owners: set[str] = set()
    guard = threading.Lock()

    def live_round(owner: str) -> int:
        with guard:
            owners.add(owner)
            if len(owners) == 3:
                stop.set()
        return 0

    monkeypatch.setattr(worker, "live_round", live_round)
    monkeypatch.setattr(runner, "close_old_connections", lambda: None)  # no database in this test
    worker.live_loop(stop)
    assert len(owners) == 3  # three evaluators, three lease owners of this one worker
    assert all(owner.startswith(worker.worker_id() + "/") for owner in owners)
