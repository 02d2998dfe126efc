"""The delivery worker's round: claim the due deliveries, send each, record each attempt.

Deliveries to one receiver (a webhook, an activation) about one segment go out in id order: one
is sent only when no earlier delivery of that receiver and segment is still pending, so a
receiver never sees a compute's changes before those of the compute before it, and a delivery
waiting for a retry holds back the ones after it. A round takes the first due delivery of each
such queue and the due ones right behind it (a run), claims them all under this worker's
lease, and sends a run in order, stopping at the first that is to be tried again; in the
worker, the runs of different queues go side by side (SEGOPS_WEBHOOK_SENDER_THREADS), and a run
gives way after RUN_SECONDS, so a slow receiver holds up only itself.

A claimed delivery carries this worker's lease, renewed by its heartbeat: a worker killed
mid-delivery stops renewing it, and once it lapses another worker claims the delivery and sends
it again, with the same message id (receivers deduplicate on it).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from segops_server.activations.models import ActivationStatus
from segops_server.core.workers import lease_expiry, lease_hold, lease_lapsed, lease_release, worker_id
from segops_server.webhooks.attempts import attempt_record
from segops_server.webhooks.bodies import delivery_body, delivery_receiver
from segops_server.webhooks.models import Delivery, DeliveryStatus
from segops_server.webhooks.schedule import Verdict, attempt_verdict
from segops_server.webhooks.sending import Outcome, post_vetted
from segops_server.webhooks.signing import payload_body, signed_headers

logger = logging.getLogger("segops.webhooks")

ROUND_QUEUES = 20  # queues (receiver and segment) taken per round
RUN = 50  # deliveries of one queue claimed together
RUN_SECONDS = 5.0  # a run still sending after this long lets the rest of its deliveries go


def _pending() -> QuerySet[Delivery]:
    # The worker spans tenants: it is handed rows, never a tenant, and sends each to its own receiver.
    return Delivery.objects.unscoped_all_tenants().filter(status=DeliveryStatus.PENDING)


def _sendable(now: datetime) -> Q:
    """Due, held by no live worker, and to a receiver that is switched on (the deliveries of a
    paused webhook or an inactive activation wait, neither sent nor failed)."""
    receiver_on = Q(webhook__is_active=True) | Q(
        activation__status__in=[ActivationStatus.ACTIVE, ActivationStatus.ERROR]
    )
    return Q(next_attempt_at__lte=now) & lease_lapsed(timezone.now()) & receiver_on


def _heads(now: datetime, limit: int) -> list[Delivery]:
    """The first pending delivery of each queue, when it can be sent now."""
    earlier = _pending().filter(
        Q(webhook_id=OuterRef("webhook_id")) | Q(activation_id=OuterRef("activation_id")),
        segment_id=OuterRef("segment_id"),
        id__lt=OuterRef("id"),
    )
    return list(
        _pending().filter(_sendable(now)).exclude(Exists(earlier)).order_by("next_attempt_at", "id")[:limit]
    )


def _run(head: Delivery, now: datetime) -> list[int]:
    """`head` and the pending deliveries right behind it in its queue that can be sent now."""
    if head.segment_id is None:  # a ping: alone in its queue
        return [head.pk]
    receiver = Q(webhook_id=head.webhook_id) if head.webhook_id else Q(activation_id=head.activation_id)
    rows = (
        _pending()
        .filter(receiver, segment_id=head.segment_id, id__gt=head.pk)
        .order_by("id")
        .values_list("pk", "next_attempt_at", "lease_expires_at")[: RUN - 1]
    )
    run = [head.pk]
    live_leases_after = timezone.now()
    for pk, next_attempt_at, lease_expires_at in rows:
        # Same receiver as the head, so switched on too: due, and held by no live worker.
        due = next_attempt_at is not None and next_attempt_at <= now
        if not due or (lease_expires_at is not None and lease_expires_at >= live_leases_after):
            break
        run.append(pk)
    return run


def _claim(pks: list[int]) -> list[int]:
    """Take the lease on what is still free of `pks`; returns the claimed prefix of `pks` (a run
    is sent in order, so a gap ends it; what lies after a gap is let go at once)."""
    owner = worker_id()
    _pending().filter(lease_lapsed(timezone.now()), pk__in=pks).update(
        lease_owner=owner, lease_expires_at=lease_expiry()
    )
    mine = set(_pending().filter(pk__in=pks, lease_owner=owner).values_list("pk", flat=True))
    claimed: list[int] = []
    for pk in pks:
        if pk not in mine:
            break
        claimed.append(pk)
    _let_go([pk for pk in mine if pk not in claimed])
    return claimed


def _let_go(pks: list[int]) -> None:
    if pks:
        _pending().filter(pk__in=pks, lease_owner=worker_id()).update(lease_owner="", lease_expires_at=None)


def delivery_send(delivery: Delivery, *, now: datetime | None = None) -> Verdict:
    """One attempt at a delivery this worker holds the lease on: build, sign, POST, record."""
    at = now or timezone.now()
    receiver = delivery_receiver(delivery)
    body = payload_body(delivery_body(delivery, now=at))
    try:
        headers = signed_headers(
            receiver.secret, body, message_id=delivery.message_id, timestamp=int(at.timestamp())
        )
    except ValueError as exc:  # no usable secret: nothing can be signed, so nothing is sent
        outcome = Outcome(status=None, duration_ms=0, error=f"not sent: {exc}")
    else:
        outcome = post_vetted(
            receiver.url, body, headers, allow_private=settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS
        )
    verdict = attempt_verdict(outcome, attempt=delivery.attempt_count + 1, now=at)
    attempt_record(delivery=delivery, outcome=outcome, verdict=verdict, now=at)
    # The id and the outcome only: never a body, a URL's query or a secret.
    logger.info(
        "Delivery %s (%s) attempt %s: %s",
        delivery.pk,
        delivery.event,
        delivery.attempt_count,
        "succeeded" if verdict.succeeded else (outcome.status or outcome.error),
    )
    return verdict


def _send_run(pks: list[int], now: datetime | None) -> int:
    """Send a claimed run in order; stop at the first delivery to be tried again, or once the run
    has taken RUN_SECONDS (a slow receiver does not keep the others waiting). Whatever is not
    sent is let go, for the next round. Returns the number of attempts made."""
    for pk in pks:
        lease_hold(Delivery, pk)  # renewed by this worker's heartbeat while it sends
    attempts = 0
    started = time.monotonic()
    try:
        rows = _pending().select_related("webhook", "activation").filter(pk__in=pks, lease_owner=worker_id())
        by_pk = {row.pk: row for row in rows}
        for index, pk in enumerate(pks):
            delivery = by_pk.get(pk)
            if delivery is None:
                _let_go(pks[index:])
                break
            attempts += 1
            verdict = delivery_send(delivery, now=now)
            if not verdict.final or time.monotonic() - started > RUN_SECONDS:
                _let_go(pks[index + 1 :])  # behind a retry the rest waits; after a long run, its turn
                break
    finally:
        for pk in pks:
            lease_release(Delivery, pk)
    return attempts


def _send_run_in_thread(pks: list[int], now: datetime | None) -> int:
    try:
        return _send_run(pks, now)
    finally:
        connections.close_all()  # this thread's own connections: the pool's threads end with the round


def deliveries_send_due(*, now: datetime | None = None, limit: int = ROUND_QUEUES, threads: int = 1) -> int:
    """One round: send what is due in up to `limit` queues; returns the number of attempts made.

    With `threads` > 1 the queues' runs are sent side by side, each thread on its own database
    connection (the worker); with 1, in the caller's thread and transaction (tests). `now`
    (tests) is the time deliveries are due by and attempts are recorded at."""
    due_by = now or timezone.now()
    runs = [run for head in _heads(due_by, limit) if (run := _claim(_run(head, due_by)))]
    if threads <= 1 or len(runs) <= 1:
        return sum(_send_run(run, now) for run in runs)
    with ThreadPoolExecutor(max_workers=min(threads, len(runs)), thread_name_prefix="sender") as pool:
        return sum(pool.map(_send_run_in_thread, runs, [now] * len(runs)))
