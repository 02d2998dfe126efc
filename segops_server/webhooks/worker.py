"""The delivery sender: a thread of the `segops worker` process that sends due deliveries."""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from segops_server.core.runner import rounds_loop
from segops_server.webhooks.sender import deliveries_send_due

logger = logging.getLogger("segops.webhooks")

IDLE_SECONDS = 0.5  # the wait when nothing was due: how soon a new delivery goes out


def deliveries_loop(stop: threading.Event | None = None) -> None:
    """Send due deliveries round after round, waiting IDLE_SECONDS when nothing was due. A
    database outage is one log line and a retry, any other failure is logged and retried: the
    sender never stops the worker. Until `stop` is set (for ever in the worker)."""
    rounds_loop(
        lambda: deliveries_send_due(threads=settings.SEGOPS_WEBHOOK_SENDER_THREADS),
        what="Webhook sender",
        failure="Webhook delivery round failed",
        log=logger,
        idle=IDLE_SECONDS,
        stop=stop or threading.Event(),
    )
