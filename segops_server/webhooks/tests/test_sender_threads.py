"""In the worker, receivers are sent to side by side, and a long run gives way: a slow receiver
holds up only its own deliveries."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.receiver import Answer, Receiver
from segops_server.webhooks import sender
from segops_server.webhooks.sender import deliveries_send_due
from segops_server.webhooks.tests.conftest import compute, deliveries, webhook_make

pytestmark = pytest.mark.usefixtures("private_urls")


@pytest.mark.django_db(transaction=True)  # the sender's threads read what the test wrote
def test_the_worker_sends_to_receivers_side_by_side(
    team: Team, segment: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor == "sqlite":
        # The SQLite test database is in memory (shared cache), where a second writer is refused
        # at once instead of waiting on the busy timeout as with a file: the threads take turns
        # to record, as they would by waiting for the write lock.
        turns = threading.Lock()
        from segops_server.webhooks.attempts import attempt_record as record

        def record_in_turn(**kwargs: Any) -> bool:
            with turns:
                return record(**kwargs)

        monkeypatch.setattr(sender, "attempt_record", record_in_turn)
    release = threading.Event()
    with Receiver().running() as one, Receiver().running() as two:
        # Each receiver holds its first request until both have one: only sending side by side
        # gets both there.
        one.answer(Answer(hold=release))
        two.answer(Answer(hold=release))
        hooks = [webhook_make(team, r.url(), events=["segment.recomputed"]) for r in (one, two)]
        compute(segment)
        together: list[bool] = []

        def watch() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not (one.requests and two.requests):
                time.sleep(0.01)
            together.append(bool(one.requests and two.requests))
            release.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert deliveries_send_due(threads=4) == 2
        watcher.join()
        assert together == [True]
        assert [d.status for hook in hooks for d in deliveries(hook)] == ["succeeded", "succeeded"]


@pytest.mark.django_db
def test_a_long_run_gives_way_to_the_next_round(
    team: Team, segment: Segment, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = webhook_make(team, receiver.url())
    compute(segment)
    monkeypatch.setattr(sender, "RUN_SECONDS", -1.0)  # every run has taken too long after one
    assert deliveries_send_due() == 1
    assert [d.status for d in deliveries(hook)] == ["succeeded", "pending"]
    assert deliveries(hook)[1].lease_owner == ""  # let go at once, for the next round
    assert deliveries_send_due() == 1
    assert [d.status for d in deliveries(hook)] == ["succeeded", "succeeded"]
