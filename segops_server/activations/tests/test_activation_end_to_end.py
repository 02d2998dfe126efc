"""An activation end to end: created and switched on through the API, synced after computes by
the real sender to a real receiver — every member first, then only the changes — and put in
`error` when its receiver fails, back to `active` once a sync gets through."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from segops_admin.webhook import verify_webhook

from segops_server.activations.models import Activation, ActivationStatus, ActivationSync
from segops_server.activations.tests.helpers import buyers, compute, orders, redefine
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.receiver import Answer, Receiver
from segops_server.webhooks.models import Delivery
from segops_server.webhooks.sender import deliveries_send_due

pytestmark = pytest.mark.django_db

SECRET = "end-to-end-activation-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def _activate(team: Team, segment: Segment, receiver: Receiver) -> int:
    created = team.client("member").post(
        "/api/activations/",
        {
            "segment": segment.pk,
            "connector_type": "webhook",
            "config": {"url": receiver.url("/sync"), "secret": SECRET},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    activation_id = int(created.json()["id"])
    switched = team.client("member").patch(
        f"/api/activations/{activation_id}/", {"status": "active"}, format="json"
    )
    assert switched.status_code == 200, switched.content
    return activation_id


def _bodies(receiver: Receiver, start: int = 0) -> list[dict[str, Any]]:
    for request in receiver.requests[start:]:
        assert verify_webhook(request.body, request.header("X-SegOps-Signature"), SECRET)
    return [request.json() for request in receiver.requests[start:]]


def test_members_then_changes_reach_the_receiver(team: Team, receiver: Receiver) -> None:
    orders(team, ann=1, bob=2, cat=3)
    segment = compute(buyers(team, times=1))  # ann, bob, cat
    activation_id = _activate(team, segment, receiver)

    deliveries_send_due()
    (first,) = _bodies(receiver)
    assert first["event"] == "activation.sync"
    assert first["activation_id"] == activation_id
    assert first["segment_id"] == segment.pk
    assert sorted(first["entered"]) == ["ann", "bob", "cat"]
    assert first["exited"] == []
    assert first["sync_id"].startswith("msg_")

    orders(team, dan=2)
    redefine(team, segment, times=2)  # bob, cat, dan: ann left, dan came
    deliveries_send_due()
    (second,) = _bodies(receiver, start=1)
    assert (second["entered"], second["exited"]) == (["dan"], ["ann"])
    assert second["sync_id"] != first["sync_id"]

    activation = Activation.objects.for_tenant(team.tenant).get(pk=activation_id)
    assert activation.status == ActivationStatus.ACTIVE
    assert activation.last_synced_at is not None
    logs = team.client("viewer").get(f"/api/activations/{activation_id}/syncs/").json()["results"]
    assert [(log["kind"], log["status"], log["entered"], log["exited"]) for log in logs] == [
        ("changes", "succeeded", 1, 1),
        ("full", "succeeded", 3, 0),
    ]


def test_a_failing_receiver_puts_the_activation_in_error_until_a_sync_gets_through(
    team: Team, receiver: Receiver
) -> None:
    orders(team, ann=1)
    segment = compute(buyers(team, times=1))
    receiver.answer(Answer(status=503, body=b"down for maintenance"))
    activation_id = _activate(team, segment, receiver)

    deliveries_send_due()
    body = team.client("viewer").get(f"/api/activations/{activation_id}/").json()
    assert body["status"] == "error"
    assert "503" in body["last_error"]
    assert ActivationSync.objects.for_tenant(team.tenant).get().status == "running"  # retried later

    # The retry (due once its wait has passed) gets through with the same sync_id: the sync
    # succeeds and the error clears.
    Delivery.objects.for_tenant(team.tenant).update(next_attempt_at=timezone.now())
    deliveries_send_due()
    failed, retried = _bodies(receiver)
    assert retried["sync_id"] == failed["sync_id"]
    assert retried["entered"] == ["ann"]
    body = team.client("viewer").get(f"/api/activations/{activation_id}/").json()
    assert (body["status"], body["last_error"]) == ("active", "")
    assert body["last_sync"]["status"] == "succeeded"
