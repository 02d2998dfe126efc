"""The real-time evaluator: a thread of the `segops worker` process that works the live queue."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from segops_server.core.runner import TRANSIENT_ERRORS, Outage
from segops_server.segments.live.evaluate import live_round

logger = logging.getLogger("segops.live")

IDLE_SECONDS = 0.1  # the wait when nobody was due: part of the 202-to-membership latency


def live_loop(stop: threading.Event | None = None) -> None:
    """Evaluate due users round after round, waiting IDLE_SECONDS when nobody was due. Behind, it
    runs rounds back to back (oldest due first) until it has caught up; nothing is skipped. A
    database outage is one log line and a retry, any other failure is logged and retried (the
    claimed users' leases expire and they are claimed again): it never stops the worker."""
    stop = stop or threading.Event()
    outage = Outage(logger, "Real-time evaluator")
    while not stop.is_set():
        evaluated = 0
        try:
            evaluated = live_round()
            outage.recovered()
        except TRANSIENT_ERRORS as exc:  # the database is away: one line, then retried
            outage.failed(exc)
        except Exception:  # a failed round is logged and retried, never fatal
            logger.exception("Real-time evaluation round failed")
        finally:
            close_old_connections()
        if not evaluated:
            stop.wait(IDLE_SECONDS)
