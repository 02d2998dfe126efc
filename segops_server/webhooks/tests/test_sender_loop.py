"""The worker's sender thread: round after round, an outage one log line, a failure never fatal."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import OperationalError

from segops_server.core import runner
from segops_server.webhooks import worker


def test_it_rides_out_outages_and_failures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    rounds: list[str] = []
    script = ["outage", "outage", "sent", "broken", "idle"]

    def send_due(*, threads: int) -> int:
        assert threads == 4  # SEGOPS_WEBHOOK_SENDER_THREADS
        what = script[len(rounds)]
        rounds.append(what)
        if len(rounds) == len(script):
            stop.set()
        if what == "outage":
            raise OperationalError("server closed the connection")
        if what == "broken":
            raise RuntimeError("a bug")
        return 3 if what == "sent" else 0

    waits: list[float] = []
    monkeypatch.setattr(worker, "deliveries_send_due", send_due)
    monkeypatch.setattr(runner, "close_old_connections", lambda: None)  # no database in this test

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop.is_set()

    monkeypatch.setattr(stop, "wait", wait)
    with caplog.at_level(logging.WARNING, logger="segops.webhooks"):
        worker.deliveries_loop(stop)
    assert rounds == script
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Webhook sender: database unavailable" in m for m in messages) == 1
    assert sum("Webhook sender: database available again" in m for m in messages) == 1
    assert sum("Webhook delivery round failed" in m for m in messages) == 1
    # It waits after a round that sent nothing, and goes straight on after one that sent.
    assert waits == [worker.IDLE_SECONDS] * 4
