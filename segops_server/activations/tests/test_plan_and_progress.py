"""After a compute, each syncing activation gets its sync (changes or every member), and the
worker's attempts at its batches move the sync and the activation along."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from segops_server.activations import plan
from segops_server.activations.models import Activation, ActivationStatus, ActivationSync
from segops_server.activations.plan import activations_plan
from segops_server.activations.progress import sync_batch_attempted
from segops_server.activations.tests.helpers import activation_make, buyers, compute, orders, redefine
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.webhooks import chunks as source
from segops_server.webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


def _plan(segment: Segment) -> None:
    with transaction.atomic():  # as in the compute's swap
        activations_plan(
            tenant_id=segment.tenant_id,
            segment_id=segment.pk,
            generation=segment.generation,
            now=timezone.now(),
        )


def _syncs(activation: Activation) -> list[ActivationSync]:
    return list(
        ActivationSync.objects.for_tenant(activation.tenant_id).filter(activation=activation).order_by("id")
    )


def _batches(sync: ActivationSync) -> list[Delivery]:
    return list(Delivery.objects.for_tenant(sync.tenant_id).filter(sync=sync).order_by("id"))


def _fresh(activation: Activation) -> Activation:
    activation.refresh_from_db()
    return activation


def _activate(activation: Activation, synced_generation: int | None) -> None:
    """Switched on after the computes of the set-up, so only `_plan` plans its syncs."""
    Activation.objects.for_tenant(activation.tenant_id).filter(pk=activation.pk).update(
        status=ActivationStatus.ACTIVE, synced_generation=synced_generation
    )


@pytest.fixture
def changed(team: Team) -> Segment:
    """Generation 1: ann, bob, cat; generation 2 (two orders or more): bob, cat, dan.
    So ann exited and dan entered."""
    orders(team, ann=1, bob=2, cat=2)
    segment = compute(buyers(team))
    orders(team, dan=2)
    return redefine(team, segment, 2)


def test_a_receiver_holding_the_generation_before_gets_the_changes(team: Team, changed: Segment) -> None:
    activation = activation_make(changed)
    _activate(activation, synced_generation=1)
    _plan(changed)
    [sync] = _syncs(activation)
    assert (sync.kind, sync.generation, sync.status) == ("changes", 2, "running")
    assert (sync.entered, sync.exited, sync.batches, sync.batches_done) == (1, 1, 1, 0)
    [batch] = _batches(sync)
    assert batch.users == {"entered": ["dan"], "exited": ["ann"]}
    assert batch.event == "activation.sync"
    assert batch.payload == {
        "event": "activation.sync",
        "activation_id": activation.pk,
        "segment_id": changed.pk,
    }
    assert (batch.activation_id, batch.segment_id, batch.webhook_id) == (activation.pk, changed.pk, None)
    assert _fresh(activation).synced_generation == 2


@pytest.mark.parametrize("synced_generation", [None, 0, 5])
def test_any_other_receiver_gets_every_member(
    team: Team, changed: Segment, synced_generation: int | None
) -> None:
    activation = activation_make(changed)
    _activate(activation, synced_generation)
    _plan(changed)
    [sync] = _syncs(activation)
    assert (sync.kind, sync.entered, sync.exited) == ("full", 3, 0)
    assert [b.users for b in _batches(sync)] == [{"entered": ["bob", "cat", "dan"], "exited": []}]
    assert _fresh(activation).synced_generation == 2


def test_inactive_activations_and_other_segments_are_left_alone(team: Team, changed: Segment) -> None:
    paused = activation_make(changed)
    other = activation_make(buyers(team), status=ActivationStatus.ACTIVE)
    failing = activation_make(changed)
    Activation.objects.for_tenant(team.tenant).filter(pk=failing.pk).update(status=ActivationStatus.ERROR)
    _plan(changed)
    assert _syncs(paused) == []
    assert _syncs(other) == []
    assert len(_syncs(failing)) == 1  # an activation in error keeps syncing


def test_a_big_segment_is_sent_in_batches_of_at_most_a_thousand(
    team: Team, changed: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = source.members_chunks
    monkeypatch.setattr(plan, "members_chunks", lambda **kw: chunks(**kw, size=2))
    activation = activation_make(changed)
    _activate(activation, None)
    _plan(changed)
    [sync] = _syncs(activation)
    assert [(b.users or {})["entered"] for b in _batches(sync)] == [["bob", "cat"], ["dan"]]
    assert (sync.batches, sync.entered) == (2, 3)
    assert len({b.message_id for b in _batches(sync)}) == 2


def test_a_sync_with_nobody_to_send_succeeds_at_once(team: Team) -> None:
    orders(team, ann=1)
    segment = compute(buyers(team))
    segment = compute(segment)  # the same members: no changes in generation 2
    activation = activation_make(segment)
    _activate(activation, synced_generation=1)
    _plan(segment)
    [sync] = _syncs(activation)
    assert (sync.kind, sync.status, sync.entered, sync.exited, sync.batches) == (
        "changes",
        "succeeded",
        0,
        0,
        0,
    )
    assert sync.finished_at is not None
    assert _batches(sync) == []
    assert _fresh(activation).last_synced_at == sync.finished_at


@pytest.fixture
def two_batches(
    team: Team, changed: Segment, monkeypatch: pytest.MonkeyPatch
) -> tuple[Activation, ActivationSync]:
    chunks = source.members_chunks
    monkeypatch.setattr(plan, "members_chunks", lambda **kw: chunks(**kw, size=2))
    activation = activation_make(changed)
    _activate(activation, None)
    _plan(changed)
    [sync] = _syncs(activation)
    return activation, sync


def _attempt(delivery: Delivery, *, succeeded: bool, final: bool, error: str = "") -> None:
    """As the sender records an attempt: the delivery's row and the sync's progress, in one transaction."""
    with transaction.atomic():
        sync_batch_attempted(
            delivery=delivery, succeeded=succeeded, final=final, error=error, now=timezone.now()
        )
        if final:
            status = DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED
            Delivery.objects.for_tenant(delivery.tenant_id).filter(pk=delivery.pk).update(status=status)


def test_the_last_batch_delivered_ends_the_sync_and_clears_the_error(
    two_batches: tuple[Activation, ActivationSync],
) -> None:
    activation, sync = two_batches
    first, second = _batches(sync)
    _attempt(first, succeeded=False, final=False, error="HTTP 503 from the receiver")
    activation = _fresh(activation)
    assert (activation.status, activation.last_error) == ("error", "HTTP 503 from the receiver")
    _attempt(first, succeeded=True, final=True)
    sync.refresh_from_db()
    assert (sync.batches_done, sync.status, sync.finished_at) == (1, "running", None)
    assert _fresh(activation).status == "error"
    _attempt(second, succeeded=True, final=True)
    sync.refresh_from_db()
    assert (sync.batches_done, sync.status) == (2, "succeeded")
    assert sync.finished_at is not None
    activation = _fresh(activation)
    assert (activation.status, activation.last_error) == ("active", "")
    assert activation.last_synced_at == sync.finished_at


def test_a_batch_delivered_twice_counts_once(two_batches: tuple[Activation, ActivationSync]) -> None:
    activation, sync = two_batches
    first, second = _batches(sync)
    _attempt(first, succeeded=True, final=True)
    _attempt(first, succeeded=True, final=True)  # sent again by hand
    sync.refresh_from_db()
    assert (sync.batches_done, sync.status) == (1, "running")
    assert _fresh(activation).last_synced_at is None
    _attempt(second, succeeded=True, final=True)
    sync.refresh_from_db()
    assert (sync.batches_done, sync.status) == (2, "succeeded")


def test_a_batch_failed_for_good_fails_the_sync_and_the_next_sync_sends_everyone(
    team: Team, two_batches: tuple[Activation, ActivationSync]
) -> None:
    activation, sync = two_batches
    first, _second = _batches(sync)
    _attempt(first, succeeded=False, final=True, error="HTTP 410 Gone: refused for good")
    sync.refresh_from_db()
    assert (sync.status, sync.error) == ("failed", "HTTP 410 Gone: refused for good")
    assert sync.finished_at is not None
    activation = _fresh(activation)
    assert (activation.status, activation.last_error) == ("error", "HTTP 410 Gone: refused for good")
    assert activation.synced_generation is None
    assert activation.last_synced_at is None
    # The next compute (same members) sends every member again rather than "no changes".
    segment = compute(Segment.objects.for_tenant(team.tenant).get(pk=activation.segment_id))
    Activation.objects.for_tenant(team.tenant).filter(pk=activation.pk).update(status=ActivationStatus.ERROR)
    _plan(segment)
    assert _syncs(activation)[-1].kind == "full"


def test_a_paused_activation_keeps_its_status_when_a_batch_fails(
    two_batches: tuple[Activation, ActivationSync],
) -> None:
    activation, sync = two_batches
    Activation.objects.for_tenant(activation.tenant_id).filter(pk=activation.pk).update(
        status=ActivationStatus.INACTIVE
    )
    _attempt(_batches(sync)[0], succeeded=False, final=False, error="connection refused")
    activation = _fresh(activation)
    assert (activation.status, activation.last_error) == ("inactive", "connection refused")


def test_an_attempt_for_a_deleted_activation_is_ignored(
    two_batches: tuple[Activation, ActivationSync],
) -> None:
    activation, sync = two_batches
    batch = _batches(sync)[0]
    Activation.objects.for_tenant(activation.tenant_id).filter(pk=activation.pk).delete()
    _attempt(batch, succeeded=True, final=True)  # no error
    assert not ActivationSync.objects.for_tenant(activation.tenant_id).exists()


def test_the_planned_batches_are_due_at_once(two_batches: tuple[Activation, ActivationSync]) -> None:
    _activation, sync = two_batches
    for batch in _batches(sync):
        assert batch.status == "pending"
        assert batch.next_attempt_at is not None
        assert batch.next_attempt_at <= timezone.now() + timedelta(seconds=1)
