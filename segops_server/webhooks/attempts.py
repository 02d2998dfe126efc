"""Recording one attempt at a delivery, in one transaction: the attempt's row, the delivery's new
state, its webhook's health (and its disabling after 24 hours of failures) or its activation
sync's progress."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from segops_server.activations.progress import sync_batch_attempted
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record
from segops_server.core.workers import worker_id
from segops_server.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Webhook
from segops_server.webhooks.outbox import iso_datetime
from segops_server.webhooks.schedule import Verdict
from segops_server.webhooks.sending import BODY_HEAD_BYTES, Outcome

logger = logging.getLogger("segops.webhooks")

# A webhook whose every attempt failed for this long, without one success, is disabled.
DISABLE_AFTER = timedelta(hours=24)


def attempt_error(outcome: Outcome) -> str:
    """The attempt's error in words: the sender's own, or the status that was not a success."""
    if outcome.error:
        return outcome.error
    if outcome.succeeded or outcome.status is None:
        return ""
    if 300 <= outcome.status < 400:
        return f"HTTP {outcome.status}: redirects are not followed"
    return f"HTTP {outcome.status}"


def attempt_record(*, delivery: Delivery, outcome: Outcome, verdict: Verdict, now: datetime) -> bool:
    """Record the attempt this worker made at `delivery` (whose lease it holds) and move the
    delivery on. False, and nothing recorded, when the lease went to another worker meanwhile
    (this one stalled past it): that worker's attempt is the one that counts."""
    error = attempt_error(outcome)
    number = delivery.attempt_count + 1
    if verdict.succeeded:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.FAILED if verdict.final else DeliveryStatus.PENDING
    with transaction.atomic():
        moved = (
            Delivery.objects.unscoped_all_tenants()  # the worker spans tenants: it is handed ids
            .filter(pk=delivery.pk, lease_owner=worker_id(), status=DeliveryStatus.PENDING)
            .update(
                status=status,
                attempt_count=number,
                next_attempt_at=verdict.next_attempt_at,
                last_status_code=outcome.status,
                last_error=error,
                finished_at=now if verdict.final else None,
                lease_owner="",
                lease_expires_at=None,
            )
        )
        if not moved:
            logger.warning("Delivery %s was taken over by another worker; attempt not recorded", delivery.pk)
            return False
        DeliveryAttempt.objects.unscoped_all_tenants().create(
            tenant_id=delivery.tenant_id,
            delivery_id=delivery.pk,
            number=number,
            at=now,
            status_code=outcome.status,
            duration_ms=max(0, outcome.duration_ms),
            response=outcome.body_head[:BODY_HEAD_BYTES],
            error=error,
        )
        delivery.status = status
        delivery.attempt_count = number
        delivery.next_attempt_at = verdict.next_attempt_at
        delivery.last_status_code = outcome.status
        delivery.last_error = error
        if delivery.webhook_id is not None:
            _webhook_health(delivery.webhook_id, succeeded=verdict.succeeded, error=error, now=now)
        else:
            sync_batch_attempted(
                delivery=delivery, succeeded=verdict.succeeded, final=verdict.final, error=error, now=now
            )
    return True


def _webhook_health(webhook_id: int, *, succeeded: bool, error: str, now: datetime) -> None:
    hooks = Webhook.objects.unscoped_all_tenants().filter(pk=webhook_id)
    if succeeded:
        hooks.update(failing_since=None, last_success_at=now)
        return
    hooks.filter(failing_since__isnull=True).update(failing_since=now)
    # Disabled once: the first failure 24 hours after the failures began, with no success since.
    disabled = hooks.filter(
        is_active=True,
        failing_since__lte=now - DISABLE_AFTER,
    ).update(
        is_active=False,
        disabled_reason=(
            "Disabled after 24 hours of failed deliveries without a success; "
            f"the last one failed with: {error}"
        )[:500],
    )
    if disabled:
        hook = hooks.select_related("tenant").get()
        logger.warning("Webhook %s disabled after 24 hours of failed deliveries", hook.pk)
        audit_record(
            action=Action.WEBHOOK_DISABLED,
            tenant=hook.tenant,
            webhook_id=hook.pk,
            url=hook.url,
            failing_since=None if hook.failing_since is None else iso_datetime(hook.failing_since),
            last_error=error,
        )
