"""Which deliveries the sender takes and when: in order per receiver and segment, never to a
paused receiver, never one another live worker holds, never to an address refused at send time;
a webhook failing for 24 hours is disabled, once, with an audit entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from segops_server.activations.models import Activation, ActivationStatus
from segops_server.audit.models import AuditEvent
from segops_server.segments.definitions.services import segment_update
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.live import free_port
from segops_server.testing.receiver import Answer, Receiver
from segops_server.webhooks import sender
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import Delivery, DeliveryAttempt, Webhook
from segops_server.webhooks.sender import deliveries_send_due
from segops_server.webhooks.tests.conftest import compute, deliveries, orders, rule, webhook_make

pytestmark = pytest.mark.django_db


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_a_host_resolving_to_loopback_is_refused_at_send_time(
    team: Team, segment: Segment, receiver: Receiver, settings: Any
) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    hook = webhook_make(team, f"https://localhost:{receiver.port}/hook", events=["segment.recomputed"])
    compute(segment)
    assert deliveries_send_due() == 1
    assert receiver.requests == []
    (delivery,) = deliveries(hook)
    (attempt,) = DeliveryAttempt.objects.for_tenant(team.tenant).filter(delivery=delivery)
    assert attempt.status_code is None
    assert "localhost resolves to 127.0.0.1" in attempt.error
    assert "loopback" in attempt.error
    assert delivery.last_error == attempt.error
    assert delivery.status == "pending"  # a name can be pointed elsewhere: tried again later


@pytest.mark.usefixtures("private_urls")
def test_it_sends_in_order_per_webhook_and_segment(team: Team, segment: Segment) -> None:
    with Receiver().running() as first, Receiver().running() as second:
        held = webhook_make(team, first.url())
        other = webhook_make(team, second.url())
        first.answer(Answer(500))
        compute(segment)
        orders(team, {"dan": 2})
        segment_update(segment=segment, actor=team.owner, definition=rule(2))
        compute(segment)
        assert deliveries_send_due() == 5  # one to the held webhook, all four to the other
        assert len(first.requests) == 1
        assert [r.header("webhook-id") for r in second.requests] == [d.message_id for d in deliveries(other)]
        assert deliveries_send_due() == 0  # nothing overtakes the one waiting for its retry

        assert deliveries_send_due(now=later(6)) == 4
        sent = [r.header("webhook-id") for r in first.requests]
        queued = [d.message_id for d in deliveries(held)]
        assert sent == [queued[0], *queued]
        assert [r.json()["event"] for r in first.requests[1:]] == [
            "segment.membership_changed",
            "segment.recomputed",
            "segment.membership_changed",
            "segment.recomputed",
        ]
        assert [r.json().get("generation") for r in first.requests[1:]] == [1, None, 2, None]


@pytest.mark.usefixtures("private_urls")
def test_a_paused_webhooks_deliveries_wait(team: Team, segment: Segment, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url())
    compute(segment)
    Webhook.objects.for_tenant(team.tenant).filter(pk=hook.pk).update(is_active=False)
    assert deliveries_send_due(now=later(48 * 3600)) == 0
    assert receiver.requests == []
    assert [(d.status, d.attempt_count) for d in deliveries(hook)] == [("pending", 0), ("pending", 0)]
    Webhook.objects.for_tenant(team.tenant).filter(pk=hook.pk).update(is_active=True)
    assert deliveries_send_due() == 2


@pytest.mark.usefixtures("private_urls")
def test_a_delivery_another_live_worker_holds_is_left_to_it(
    team: Team, segment: Segment, receiver: Receiver
) -> None:
    hook = webhook_make(team, receiver.url(), events=["segment.recomputed"])
    compute(segment)
    rows = Delivery.objects.for_tenant(team.tenant).filter(webhook=hook)
    rows.update(lease_owner="another-worker", lease_expires_at=later(30))
    assert deliveries_send_due() == 0
    rows.update(lease_expires_at=later(-1))  # that worker died: its lease lapsed
    assert deliveries_send_due() == 1
    (delivery,) = deliveries(hook)
    assert (delivery.status, delivery.lease_owner, delivery.lease_expires_at) == ("succeeded", "", None)


def test_a_webhook_failing_for_24_hours_is_disabled_once_with_an_audit_entry(
    team: Team, segment: Segment, settings: Any
) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    hook = webhook_make(team, f"http://127.0.0.1:{free_port()}/hook", events=["segment.recomputed"])
    compute(segment)
    start = timezone.now()
    assert deliveries_send_due(now=start) == 1
    hook.refresh_from_db()
    assert (hook.failing_since, hook.is_active) == (start, True)
    assert deliveries_send_due(now=start + timedelta(hours=23)) == 1
    hook.refresh_from_db()
    assert (hook.failing_since, hook.is_active) == (start, True)

    assert deliveries_send_due(now=start + timedelta(hours=24, seconds=1)) == 1
    hook.refresh_from_db()
    assert hook.is_active is False
    assert "24 hours" in hook.disabled_reason
    assert "connection refused" in hook.disabled_reason
    (audit,) = AuditEvent.objects.for_tenant(team.tenant).filter(action="webhook.disabled")
    assert audit.detail["webhook_id"] == hook.pk
    assert hook.secret not in str(audit.detail)
    # Disabled: its deliveries wait (neither sent nor failed), and no second entry is written.
    assert deliveries_send_due(now=start + timedelta(days=3)) == 0
    assert deliveries(hook)[0].status == "pending"
    assert AuditEvent.objects.unscoped_all_tenants().filter(action="webhook.disabled").count() == 1


def test_a_success_resets_the_24_hours(team: Team, segment: Segment, settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
    port = free_port()
    hook = webhook_make(team, f"http://127.0.0.1:{port}/hook", events=["segment.recomputed"])
    compute(segment)
    start = timezone.now()
    deliveries_send_due(now=start)
    with Receiver(port=port).running():
        deliveries_send_due(now=start + timedelta(hours=20))
    hook.refresh_from_db()
    assert (hook.failing_since, hook.last_success_at) == (None, start + timedelta(hours=20))
    compute(segment)
    deliveries_send_due(now=start + timedelta(hours=21))  # failing again from here
    deliveries_send_due(now=start + timedelta(hours=30))
    hook.refresh_from_db()
    assert (hook.failing_since, hook.is_active) == (start + timedelta(hours=21), True)


@pytest.mark.usefixtures("private_urls")
def test_a_ping_carries_its_id_and_time(team: Team, receiver: Receiver) -> None:
    hook = webhook_make(team, receiver.url())
    ping = delivery_queue(
        tenant_id=team.tenant.pk,
        webhook_id=hook.pk,
        event="ping",
        payload={"event": "ping", "tenant_slug": "acme", "webhook_id": hook.pk},
    )
    assert deliveries_send_due() == 1
    body = receiver.requests[0].json()
    assert body.pop("sent_at")
    assert body == {"id": ping.message_id, "event": "ping", "tenant_slug": "acme", "webhook_id": hook.pk}


@pytest.mark.usefixtures("private_urls")
def test_an_activation_batch_is_sent_signed_with_its_sync_id_and_reported(
    team: Team, segment: Segment, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    import standardwebhooks

    activation = Activation.objects.unscoped_all_tenants().create(
        tenant=team.tenant,
        segment=segment,
        connector_type="webhook",
        config={"url": receiver.url("/sync"), "secret": "a customer passphrase"},
        status=ActivationStatus.INACTIVE,
    )
    batch = delivery_queue(
        tenant_id=team.tenant.pk,
        activation_id=activation.pk,
        segment_id=segment.pk,
        event="activation.sync",
        payload={"event": "activation.sync", "activation_id": activation.pk, "segment_id": segment.pk},
        users={"entered": ["ann"], "exited": ["bob"]},
    )
    reported: list[tuple[int, bool, bool, str]] = []
    monkeypatch.setattr(
        "segops_server.webhooks.attempts.sync_batch_attempted",
        lambda *, delivery, succeeded, final, error, now: reported.append(
            (delivery.pk, succeeded, final, error)
        ),
    )
    assert deliveries_send_due() == 0  # an inactive activation's batches wait
    Activation.objects.for_tenant(team.tenant).filter(pk=activation.pk).update(status=ActivationStatus.ACTIVE)
    assert deliveries_send_due() == 1
    (request,) = receiver.requests
    assert request.path == "/sync"
    assert request.json() == {
        "event": "activation.sync",
        "activation_id": activation.pk,
        "sync_id": batch.message_id,
        "segment_id": segment.pk,
        "entered": ["ann"],
        "exited": ["bob"],
    }
    # A secret not in the whsec_ form: its UTF-8 bytes are the key (docs/webhooks.md).
    standardwebhooks.Webhook(b"a customer passphrase").verify(request.body, request.headers)
    assert reported == [(batch.pk, True, True, "")]
    assert sender.RUN > 1
