"""A sync's progress, told by the delivery worker as its batches are sent."""

from __future__ import annotations

from datetime import datetime

from segops_server.webhooks.models import Delivery


def sync_batch_attempted(
    *, delivery: Delivery, succeeded: bool, final: bool, error: str, now: datetime
) -> None:
    """One attempt at a batch of an activation's sync ended (`delivery.activation_id` is set).

    `succeeded`: the receiver took it. `final`: the batch is settled (succeeded, refused for good,
    or out of retries); otherwise it will be tried again. Called in the transaction that records
    the attempt."""
