"""The real-time evaluator: a thread of the `segops worker` process that works the live queue."""

from __future__ import annotations

import logging
import threading

from segops_server.core.runner import rounds_loop
from segops_server.segments.live.evaluate import live_round

logger = logging.getLogger("segops.live")

IDLE_SECONDS = 0.1  # the wait when nobody was due: part of the 202-to-membership latency


def live_loop(stop: threading.Event | None = None) -> None:
    """Evaluate due users round after round, waiting IDLE_SECONDS when nobody was due. Behind, it
    runs rounds back to back (oldest due first) until it has caught up; nothing is skipped. A
    database outage is one log line and a retry, any other failure is logged and retried (the
    claimed users' leases expire and they are claimed again): it never stops the worker."""
    rounds_loop(
        lambda: live_round(),
        what="Real-time evaluator",
        failure="Real-time evaluation round failed",
        log=logger,
        idle=IDLE_SECONDS,
        stop=stop or threading.Event(),
    )
