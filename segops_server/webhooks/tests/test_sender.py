"""The sender against a real receiver (an HTTP server in a thread): signed bodies both schemes
verify, every attempt recorded, retries on the schedule, no retry where none is due, redirects
never followed, addresses checked at send time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import standardwebhooks
from django.utils import timezone
from segops_admin.webhook import verify_webhook

from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.live import free_port
from segops_server.testing.receiver import Answer, Receiver
from segops_server.webhooks.models import Delivery, DeliveryAttempt, Webhook
from segops_server.webhooks.sender import deliveries_send_due
from segops_server.webhooks.tests.conftest import compute, deliveries, webhook_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_urls")]


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def attempts(delivery: Delivery) -> list[DeliveryAttempt]:
    return list(
        DeliveryAttempt.objects.for_tenant(delivery.tenant).filter(delivery=delivery).order_by("number")
    )


def fresh(hook: Webhook) -> list[Delivery]:
    return deliveries(hook)


def test_it_sends_signed_bodies_both_schemes_verify(team: Team, segment: Segment, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url())
    segment = compute(segment)
    before = timezone.now()
    assert deliveries_send_due() == 2
    changed, recomputed = receiver.requests
    for request in receiver.requests:
        assert verify_webhook(request.body, request.header("X-SegOps-Signature"), hook.secret)
        verified = standardwebhooks.Webhook(hook.secret).verify(request.body, request.headers)
        assert verified == request.json()
        assert request.header("Content-Type") == "application/json"
    queued = fresh(hook)
    body = changed.json()
    assert body["id"] == queued[0].message_id == changed.header("webhook-id")
    assert datetime.fromisoformat(body["sent_at"]) >= before - timedelta(seconds=1)
    assert {k: v for k, v in body.items() if k not in {"id", "sent_at"}} == {
        "event": "segment.membership_changed",
        "tenant_slug": "acme",
        "segment_id": segment.pk,
        "segment_name": "Buyers",
        "generation": 1,
        "entered": ["ann", "bob", "cat"],  # a first compute: every member entered
        "exited": [],
    }
    # The hosted payload, exactly: receivers written for the hosted service keep working.
    assert recomputed.json() == queued[1].payload
    assert set(recomputed.json()) == {
        "event",
        "tenant_slug",
        "segment_id",
        "segment_name",
        "member_count",
        "computed_at",
    }
    assert recomputed.header("webhook-id") == queued[1].message_id
    for delivery in queued:
        assert delivery.status == "succeeded"
        assert delivery.attempt_count == 1
        assert delivery.finished_at is not None
        (attempt,) = attempts(delivery)
        assert (attempt.number, attempt.status_code, attempt.response, attempt.error) == (1, 200, "ok", "")
    hook.refresh_from_db()
    assert hook.last_success_at is not None
    assert hook.failing_since is None
    assert deliveries_send_due() == 0  # nothing sent twice


def test_it_retries_after_a_500_with_the_same_message_id(
    team: Team, segment: Segment, receiver: Receiver
) -> None:
    hook = webhook_make(team, receiver.url())
    receiver.answer(Answer(500, b"down for maintenance"))
    compute(segment)
    assert deliveries_send_due() == 1  # the recomputed waits behind the changes
    first = fresh(hook)[0]
    assert first.status == "pending"
    assert first.last_status_code == 500
    assert first.next_attempt_at is not None
    assert timedelta(seconds=4) < first.next_attempt_at - timezone.now() <= timedelta(seconds=5)
    assert [(a.number, a.status_code, a.response) for a in attempts(first)] == [
        (1, 500, "down for maintenance")
    ]
    hook.refresh_from_db()
    assert hook.failing_since is not None
    assert deliveries_send_due() == 0  # not yet due

    assert deliveries_send_due(now=later(6)) == 2
    first, second = fresh(hook)
    assert (first.status, first.attempt_count, second.status) == ("succeeded", 2, "succeeded")
    assert [r.header("webhook-id") for r in receiver.requests] == [
        first.message_id,
        first.message_id,
        second.message_id,
    ]
    assert receiver.requests[0].json()["id"] == receiver.requests[1].json()["id"]
    hook.refresh_from_db()
    assert hook.failing_since is None


def test_it_retries_after_a_refused_connection(team: Team, segment: Segment) -> None:
    port = free_port()  # nothing listens there yet
    hook = webhook_make(team, f"http://127.0.0.1:{port}/hook")
    compute(segment)
    assert deliveries_send_due() == 1
    first = fresh(hook)[0]
    assert first.status == "pending"
    (attempt,) = attempts(first)
    assert attempt.status_code is None
    assert "connection refused" in attempt.error
    with Receiver(port=port).running() as receiver:
        assert deliveries_send_due(now=later(6)) == 2
        assert len(receiver.requests) == 2
    assert [d.status for d in fresh(hook)] == ["succeeded", "succeeded"]


def test_it_does_not_retry_after_a_400(team: Team, segment: Segment, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url())
    receiver.answer(Answer(400, b"bad payload"))
    compute(segment)
    assert deliveries_send_due() == 2  # refused for good: the next one goes at once
    first, second = fresh(hook)
    assert (first.status, first.attempt_count, first.next_attempt_at) == ("failed", 1, None)
    assert first.finished_at is not None
    assert first.last_error == "HTTP 400"
    assert second.status == "succeeded"
    assert deliveries_send_due(now=later(48 * 3600)) == 0
    assert len(receiver.requests) == 2


def test_it_does_not_follow_or_retry_a_redirect(team: Team, segment: Segment, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url(), events=["segment.recomputed"])
    receiver.answer(Answer(302, b"", {"Location": receiver.url("/elsewhere")}))
    compute(segment)
    assert deliveries_send_due() == 1
    assert deliveries_send_due(now=later(48 * 3600)) == 0
    assert [r.path for r in receiver.requests] == ["/hook"]  # the Location was never asked for
    (delivery,) = fresh(hook)
    assert (delivery.status, delivery.last_status_code) == ("failed", 302)
    assert "redirects are not followed" in delivery.last_error


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "120", 120),
        (503, "90", 90),
        (429, "1", 5),  # never sooner than the schedule
        (429, "9999999", 8 * 3600),  # at most the schedule's longest wait
        (500, "120", 5),  # only on 429 and 503
        (429, "soon", 5),  # unreadable: the schedule
    ],
)
def test_it_honours_retry_after(
    team: Team, segment: Segment, receiver: Receiver, status: int, retry_after: str, wait: int
) -> None:
    hook = webhook_make(team, receiver.url(), events=["segment.recomputed"])
    receiver.answer(Answer(status, b"", {"Retry-After": retry_after}))
    compute(segment)
    now = timezone.now()
    assert deliveries_send_due(now=now) == 1
    (delivery,) = fresh(hook)
    assert delivery.next_attempt_at == now + timedelta(seconds=wait)


def test_it_honours_retry_after_as_an_http_date(team: Team, segment: Segment, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url(), events=["segment.recomputed"])
    compute(segment)
    now = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    date = (now + timedelta(minutes=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    receiver.answer(Answer(503, b"", {"Retry-After": date}))
    assert deliveries_send_due(now=now) == 1
    (delivery,) = fresh(hook)
    assert delivery.next_attempt_at == now + timedelta(minutes=10)


def test_it_fails_for_good_after_the_last_retry(
    team: Team, segment: Segment, receiver: Receiver, settings: Any
) -> None:
    settings.SEGOPS_WEBHOOK_RETRY_SCHEDULE = (5, 60)
    hook = webhook_make(team, receiver.url(), events=["segment.recomputed"])
    receiver.answer(Answer(500), Answer(502), Answer(504))
    compute(segment)
    now = timezone.now()
    assert deliveries_send_due(now=now) == 1
    assert deliveries_send_due(now=now + timedelta(seconds=5)) == 1
    (delivery,) = fresh(hook)
    assert (delivery.status, delivery.next_attempt_at) == ("pending", now + timedelta(seconds=65))
    assert deliveries_send_due(now=now + timedelta(seconds=65)) == 1
    (delivery,) = fresh(hook)
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("failed", 3, 504)
    assert [a.number for a in attempts(delivery)] == [1, 2, 3]
    assert deliveries_send_due(now=now + timedelta(days=3)) == 0
