"""The real-time evaluator: threads of the `segops worker` process that work the live queue."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection

from segops_server.core.runner import rounds_loop
from segops_server.core.workers import worker_id
from segops_server.segments.live.evaluate import live_round

logger = logging.getLogger("segops.live")

IDLE_SECONDS = 0.1  # the wait when nobody was due: part of the 202-to-membership latency


def live_loop(stop: threading.Event | None = None) -> None:
    """Run SEGOPS_LIVE_THREADS evaluators (this thread and more beside it), each round after
    round, waiting IDLE_SECONDS when nobody was due. Each takes its own users under its own
    lease owner (the worker id and its number), on its own database connection, so they never
    evaluate one user at once. Behind, they run rounds back to back (oldest due first) until
    they have caught up; nothing is skipped. A database outage is one log line and a retry, any
    other failure is logged and retried (the claimed users' leases expire and they are claimed
    again): it never stops the worker."""
    stop = stop or threading.Event()
    count = int(settings.SEGOPS_LIVE_THREADS)
    for number in range(1, count):
        threading.Thread(target=_evaluator, args=(number, stop), daemon=True, name=f"live-{number}").start()
    _evaluator(0, stop)


def _evaluator(number: int, stop: threading.Event) -> None:
    owner = f"{worker_id()}/{number}"
    try:
        rounds_loop(
            lambda: live_round(owner=owner),
            what="Real-time evaluator",
            failure="Real-time evaluation round failed",
            log=logger,
            idle=IDLE_SECONDS,
            stop=stop,
        )
    finally:
        connection.close()  # this thread's own connection
