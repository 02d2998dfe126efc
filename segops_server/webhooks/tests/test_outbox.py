"""What a compute queues for the webhooks, in its swap's transaction: the membership changes in
chunks of at most 1,000 users, then `segment.recomputed`, for each webhook that subscribes."""

from __future__ import annotations

import pytest

from segops_server.segments.definitions.services import segment_create, segment_update
from segops_server.segments.delivery import snapshots
from segops_server.segments.models import Segment, Status
from segops_server.testing.factories import Team
from segops_server.webhooks.models import Delivery, Webhook, WebhookEvent
from segops_server.webhooks.tests.conftest import compute, deliveries, orders, rule, webhook_make

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/segops"


def test_it_queues_the_changes_then_recomputed_on_a_compute(team: Team, segment: Segment) -> None:
    hook = webhook_make(team, URL)
    segment = compute(segment)
    queued = deliveries(hook)
    assert [d.event for d in queued] == [WebhookEvent.MEMBERSHIP_CHANGED, WebhookEvent.RECOMPUTED]
    changed, recomputed = queued
    assert changed.users == {"entered": ["ann", "bob", "cat"], "exited": []}
    assert changed.payload == {
        "event": "segment.membership_changed",
        "tenant_slug": "acme",
        "segment_id": segment.pk,
        "segment_name": "Buyers",
        "generation": 1,
    }
    assert segment.last_computed_at is not None
    assert recomputed.payload == {
        "event": "segment.recomputed",
        "tenant_slug": "acme",
        "segment_id": segment.pk,
        "segment_name": "Buyers",
        "member_count": 3,
        "computed_at": segment.last_computed_at.isoformat().replace("+00:00", "Z"),
    }
    assert recomputed.users is None
    for delivery in queued:
        assert delivery.status == "pending"
        assert delivery.segment_id == segment.pk
        assert delivery.next_attempt_at == delivery.created_at
    assert changed.message_id != recomputed.message_id


def test_it_cuts_the_changes_in_chunks_of_at_most_1000_users(team: Team) -> None:
    orders(team, {f"u{i:04d}": 1 for i in range(2_345)})
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Many", definition=rule(1))
    hook = webhook_make(team, URL, events=["segment.membership_changed"])
    compute(segment)
    chunks = [d.users for d in deliveries(hook)]
    assert [len(c["entered"]) for c in chunks if c] == [1_000, 1_000, 345]
    seen = [user for chunk in chunks if chunk for user in chunk["entered"]]
    assert seen == [f"u{i:04d}" for i in range(2_345)]


def test_it_queues_only_recomputed_when_nothing_changed(team: Team, segment: Segment) -> None:
    compute(segment)
    hook = webhook_make(team, URL)
    compute(segment)
    assert [d.event for d in deliveries(hook)] == [WebhookEvent.RECOMPUTED]


def test_it_queues_the_exits_and_entries_of_a_later_compute(team: Team, segment: Segment) -> None:
    compute(segment)
    hook = webhook_make(team, URL)
    orders(team, {"dan": 2})
    segment_update(segment=segment, actor=team.owner, definition=rule(2))
    compute(segment)
    changed = deliveries(hook)[0]
    assert changed.users == {"entered": ["dan"], "exited": ["ann"]}
    assert changed.payload["generation"] == 2


def test_it_follows_each_webhooks_subscription(team: Team, segment: Segment) -> None:
    everything = webhook_make(team, URL)
    recomputed_only = webhook_make(team, URL, events=["segment.recomputed"])
    other_segment = webhook_make(team, URL, segment_ids=[segment.pk + 1000])
    this_segment = webhook_make(team, URL, segment_ids=[segment.pk], events=["segment.membership_changed"])
    paused = webhook_make(team, URL, is_active=False)
    compute(segment)
    assert len(deliveries(everything)) == 2
    assert [d.event for d in deliveries(recomputed_only)] == [WebhookEvent.RECOMPUTED]
    assert deliveries(other_segment) == []
    assert [d.event for d in deliveries(this_segment)] == [WebhookEvent.MEMBERSHIP_CHANGED]
    assert deliveries(paused) == []


def test_it_queues_nothing_for_another_tenants_webhook(team: Team, segment: Segment) -> None:
    hook = webhook_make(team, URL)
    Webhook.objects.unscoped_all_tenants().filter(pk=hook.pk).update(tenant=team.other_tenant)
    compute(segment)
    assert not Delivery.objects.unscoped_all_tenants().exists()


def test_a_compute_that_fails_queues_nothing(
    team: Team, segment: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_make(team, URL)

    def broken() -> None:  # the swap fails after the deliveries were written in it
        raise RuntimeError("the swap failed")

    monkeypatch.setattr(snapshots, "changed", broken)
    segment = compute(segment)
    assert segment.status == Status.FAILED
    assert not Delivery.objects.for_tenant(team.tenant).exists()


def test_each_webhook_gets_every_chunk_in_order_then_recomputed(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segops_server.webhooks import outbox

    monkeypatch.setattr(outbox, "BULK_BATCH", 3)  # written in several INSERTs as the changes are read
    orders(team, {f"u{i:04d}": 1 for i in range(2_500)})
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Many", definition=rule(1))
    hooks = [webhook_make(team, URL), webhook_make(team, URL)]
    compute(segment)
    for hook in hooks:
        queued = deliveries(hook)
        assert [d.event for d in queued] == [WebhookEvent.MEMBERSHIP_CHANGED] * 3 + [WebhookEvent.RECOMPUTED]
        users = [user for d in queued[:3] for user in (d.users or {}).get("entered", [])]
        assert users == [f"u{i:04d}" for i in range(2_500)]
