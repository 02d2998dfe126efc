"""A full sync's members are read by the task worker, never in the request or the compute's swap
that asked for it: the sync is logged with its task queued, the task queues the batches once, and
the rescue round queues the task again when it was lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from segops_server.activations import plan, tasks
from segops_server.activations.models import ActivationStatus, ActivationSync, SyncKind
from segops_server.activations.tasks import sync_fill
from segops_server.activations.tests.helpers import activation_make, buyers, compute, orders
from segops_server.testing.factories import Team
from segops_server.webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The sync ids handed to the task, which does not run (as with the database's task queue)."""
    calls: list[Any] = []

    class Held:
        module_path = sync_fill.module_path

        def get_backend(self) -> Any:
            return sync_fill.get_backend()

        def enqueue(self, sync_id: int) -> None:
            calls.append(sync_id)

    monkeypatch.setattr(tasks, "sync_fill", Held())
    return calls


def _full_sync(team: Team) -> ActivationSync:
    orders(team, ann=1, bob=1, cat=1)
    segment = compute(buyers(team))
    activation = activation_make(segment, status=ActivationStatus.ACTIVE)
    with transaction.atomic():
        return plan.sync_queue(
            activation=activation, kind=SyncKind.FULL, generation=segment.generation, now=timezone.now()
        )


def _users(team: Team) -> list[str]:
    rows = Delivery.objects.for_tenant(team.tenant).order_by("id").values_list("users", flat=True)
    return sorted(user for users in rows for user in users["entered"])


def test_a_full_sync_is_logged_and_its_task_queued_without_reading_the_members(
    team: Team, queued: list[Any]
) -> None:
    sync = _full_sync(team)
    assert queued == [sync.pk]
    assert (sync.queued_at, sync.batches, sync.entered, sync.status) == (None, 0, 0, "running")
    assert not Delivery.objects.for_tenant(team.tenant).exists()

    plan.sync_fill_run(sync_id=sync.pk)
    sync.refresh_from_db()
    assert sync.queued_at is not None
    assert (sync.batches, sync.entered) == (1, 3)
    assert _users(team) == ["ann", "bob", "cat"]


def test_the_task_queues_the_batches_once(team: Team, queued: list[Any]) -> None:
    sync = _full_sync(team)
    plan.sync_fill_run(sync_id=sync.pk)
    plan.sync_fill_run(sync_id=sync.pk)  # a second run of the same task (a rescue's)
    assert Delivery.objects.for_tenant(team.tenant).count() == 1


def test_it_sends_the_set_current_when_the_worker_reads_it(team: Team, queued: list[Any]) -> None:
    sync = _full_sync(team)
    orders(team, dan=1)
    segment = compute(sync.activation.segment)  # a compute before the worker got to the sync
    plan.sync_fill_run(sync_id=sync.pk)
    sync.refresh_from_db()
    assert sync.generation == segment.generation
    assert "dan" in _users(team)


def test_the_rescue_queues_again_a_full_sync_whose_task_was_lost(team: Team, queued: list[Any]) -> None:
    sync = _full_sync(team)
    queued.clear()
    assert plan.syncs_rescue() == 0  # just started: its task may still be on its way
    later = timezone.now() + timedelta(minutes=10)
    assert plan.syncs_rescue(now=later) == 1
    assert queued == [sync.pk]
    plan.sync_fill_run(sync_id=sync.pk)
    assert plan.syncs_rescue(now=later) == 0  # its batches are queued: nothing to rescue
