"""The worker's real-time evaluator thread: round after round, back to back while behind, an
outage one log line, a failure never fatal."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import OperationalError

from segops_server.core import runner
from segops_server.segments.live import worker


def test_it_catches_up_and_rides_out_outages_and_failures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    rounds: list[str] = []
    script = ["outage", "behind", "behind", "broken", "idle"]

    def live_round() -> int:
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
