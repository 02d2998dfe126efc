"""The delivery sender: a thread of the `segops worker` process that sends due deliveries."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from segops_server.core.runner import TRANSIENT_ERRORS, Outage
from segops_server.webhooks.sender import deliveries_send_due

logger = logging.getLogger("segops.webhooks")

IDLE_SECONDS = 0.5  # the wait when nothing was due: how soon a new delivery goes out


def deliveries_loop(stop: threading.Event | None = None) -> None:
    """Send due deliveries round after round, waiting IDLE_SECONDS when nothing was due. A
    database outage is one log line and a retry, any other failure is logged and retried: the
    sender never stops the worker. Until `stop` is set (for ever in the worker)."""
    stop = stop or threading.Event()
    outage = Outage(logger, "Webhook sender")
    while not stop.is_set():
        attempts = 0
        try:
            attempts = deliveries_send_due(threads=settings.SEGOPS_WEBHOOK_SENDER_THREADS)
            outage.recovered()
        except TRANSIENT_ERRORS as exc:  # the database is away: one line, then retried
            outage.failed(exc)
        except Exception:  # a failed round is logged and retried, never fatal
            logger.exception("Webhook delivery round failed")
        finally:
            close_old_connections()
        if not attempts:
            stop.wait(IDLE_SECONDS)
