"""A webhook's deliveries: the list with every attempt, redeliver, and the test ping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from segops_server.testing.factories import Team, client_for
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, DeliveryAttempt, Webhook

URL = "/api/webhooks/"


def _webhook(team: Team, **fields: Any) -> Webhook:
    webhook = Webhook(
        tenant=team.tenant, url="https://93.184.216.34/hook", secret="s" * 20, events=WEBHOOK_EVENTS, **fields
    )
    webhook.save()
    return webhook


def _delivery(team: Team, webhook: Webhook, *, status: str = "pending", attempts: int = 0) -> Delivery:
    delivery = delivery_queue(
        tenant_id=team.tenant.pk,
        event="segment.recomputed",
        payload={"event": "segment.recomputed", "segment_id": 7},
        segment_id=7,
        webhook_id=webhook.pk,
    )
    now = timezone.now()
    for number in range(1, attempts + 1):
        DeliveryAttempt(
            tenant=team.tenant,
            delivery=delivery,
            number=number,
            at=now + timedelta(seconds=number),
            status_code=500,
            duration_ms=12,
            response="oops",
        ).save()
    Delivery.objects.for_tenant(team.tenant).filter(pk=delivery.pk).update(
        status=status,
        attempt_count=attempts,
        last_status_code=500 if attempts else None,
        finished_at=now if status != "pending" else None,
        next_attempt_at=None if status != "pending" else now,
    )
    return Delivery.objects.for_tenant(team.tenant).get(pk=delivery.pk)


def test_it_lists_deliveries_newest_first_with_their_attempts(team: Team) -> None:
    webhook = _webhook(team)
    older = _delivery(team, webhook, status="failed", attempts=2)
    newer = _delivery(team, webhook)
    _delivery(team, _webhook(team))  # another webhook's
    answer = team.client("member").get(f"{URL}{webhook.pk}/deliveries/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2
    assert [d["id"] for d in body["results"]] == [newer.pk, older.pk]
    failed = body["results"][1]
    assert failed["status"] == "failed"
    assert failed["message_id"] == older.message_id
    assert failed["segment_id"] == 7
    assert failed["event"] == "segment.recomputed"
    assert failed["attempt_count"] == 2
    assert failed["last_status_code"] == 500
    assert [a["number"] for a in failed["attempts"]] == [1, 2]
    assert set(failed["attempts"][0]) == {"number", "at", "status_code", "duration_ms", "response", "error"}
    assert failed["attempts"][0]["response"] == "oops"


def test_it_filters_by_status_and_refuses_an_unknown_one(team: Team) -> None:
    webhook = _webhook(team)
    failed = _delivery(team, webhook, status="failed", attempts=1)
    _delivery(team, webhook)
    client = team.client("member")
    only = client.get(f"{URL}{webhook.pk}/deliveries/?status=failed").json()
    assert [d["id"] for d in only["results"]] == [failed.pk]
    assert client.get(f"{URL}{webhook.pk}/deliveries/?status=lost").status_code == 400


def test_redeliver_makes_the_same_row_pending_and_due_keeping_its_attempts(team: Team) -> None:
    webhook = _webhook(team)
    failed = _delivery(team, webhook, status="failed", attempts=3)
    before = timezone.now()
    answer = team.client("member").post(f"{URL}{webhook.pk}/deliveries/{failed.pk}/redeliver/")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["id"] == failed.pk
    assert body["message_id"] == failed.message_id
    assert body["status"] == "pending"
    assert body["attempt_count"] == 0
    assert body["finished_at"] is None
    assert len(body["attempts"]) == 3
    row = Delivery.objects.for_tenant(team.tenant).get(pk=failed.pk)
    assert row.next_attempt_at is not None
    assert before <= row.next_attempt_at <= timezone.now()
    assert Delivery.objects.for_tenant(team.tenant).count() == 1


def test_redeliver_refuses_a_delivery_being_sent_now(team: Team) -> None:
    webhook = _webhook(team)
    pending = _delivery(team, webhook)
    Delivery.objects.for_tenant(team.tenant).filter(pk=pending.pk).update(
        lease_owner="worker-1", lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    answer = team.client("member").post(f"{URL}{webhook.pk}/deliveries/{pending.pk}/redeliver/")
    assert answer.status_code == 409


def test_redeliver_finds_only_this_webhooks_deliveries(team: Team) -> None:
    webhook, other = _webhook(team), _webhook(team)
    theirs = _delivery(team, other, status="failed", attempts=1)
    answer = team.client("member").post(f"{URL}{webhook.pk}/deliveries/{theirs.pk}/redeliver/")
    assert answer.status_code == 404
    assert Delivery.objects.for_tenant(team.tenant).get(pk=theirs.pk).status == "failed"


def test_test_queues_a_ping_due_now(team: Team) -> None:
    webhook = _webhook(team)
    answer = team.client("member").post(f"{URL}{webhook.pk}/test/")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["event"] == "ping"
    assert body["status"] == "pending"
    assert body["segment_id"] is None
    row = Delivery.objects.for_tenant(team.tenant).get(pk=body["id"])
    assert row.webhook_id == webhook.pk
    assert row.payload == {"event": "ping", "tenant_slug": team.tenant.slug, "webhook_id": webhook.pk}
    assert row.next_attempt_at is not None
    assert row.next_attempt_at <= timezone.now()
    listed = team.client("member").get(f"{URL}{webhook.pk}/deliveries/").json()
    assert [d["id"] for d in listed["results"]] == [body["id"]]


def test_outsiders_and_viewers_see_no_deliveries(team: Team) -> None:
    webhook = _webhook(team)
    failed = _delivery(team, webhook, status="failed", attempts=1)
    outsider = client_for(team.outsider, team.other_tenant)
    assert outsider.get(f"{URL}{webhook.pk}/deliveries/").status_code == 404
    assert outsider.post(f"{URL}{webhook.pk}/deliveries/{failed.pk}/redeliver/").status_code == 404
    assert team.client("viewer").get(f"{URL}{webhook.pk}/deliveries/").status_code == 403
    assert team.client("viewer").post(f"{URL}{webhook.pk}/test/").status_code == 403
    assert Delivery.objects.for_tenant(team.tenant).count() == 1
