"""Compute leases: a compute whose worker died is queued again and finishes; a compute another
worker holds is left alone; a segment can always be recomputed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from segops_server.core.workers import (
    heartbeat_record,
    lease_hold,
    lease_release,
    leases_renew,
    tasks_rescue,
    worker_id,
)
from segops_server.segments.compute.services import segment_compute_run, segments_rescue
from segops_server.segments.compute.tasks import compute_segment
from segops_server.segments.models import ComputeState, Segment, Status
from segops_server.segments.tests.test_segments_api import _create, _history
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _segment(team: Team) -> Segment:
    _history(team)
    return Segment.objects.for_tenant(team.tenant).get(pk=_create(team).json()["id"])


def _left_running(segment: Segment, *, owner: str = "dead-worker", seconds: int = -5) -> None:
    """The state a worker killed mid-compute leaves behind (seconds < 0: the lease has expired)."""
    Segment.objects.for_tenant(segment.tenant).filter(pk=segment.pk).update(
        compute_state=ComputeState.RUNNING,
        status=Status.COMPUTING,
        lease_owner=owner,
        lease_expires_at=timezone.now() + timedelta(seconds=seconds),
    )


def _fresh(segment: Segment) -> Segment:
    return Segment.objects.for_tenant(segment.tenant).get(pk=segment.pk)


def test_it_recomputes_a_segment_whose_worker_died_mid_compute(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    segment = _segment(team)
    _left_running(segment)
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client("member").post(f"/api/segments/{segment.pk}/compute/")
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "coalesced": False}  # queued now, not "already running"
    fresh = _fresh(segment)
    assert fresh.status == Status.COMPUTED
    assert fresh.compute_state == ComputeState.IDLE
    assert fresh.member_count == 2
    assert (fresh.lease_owner, fresh.lease_expires_at) == ("", None)


def test_it_coalesces_with_a_compute_whose_worker_is_alive(team: Team) -> None:
    segment = _segment(team)
    _left_running(segment, owner="busy-worker", seconds=30)
    response = team.client("member").post(f"/api/segments/{segment.pk}/compute/")
    assert response.json() == {"status": "queued", "coalesced": True}
    assert _fresh(segment).lease_owner == "busy-worker"


def test_a_worker_leaves_alone_a_compute_another_worker_holds(team: Team) -> None:
    segment = _segment(team)
    _left_running(segment, owner="busy-worker", seconds=30)
    segment_compute_run(segment_id=segment.pk)
    fresh = _fresh(segment)
    assert (fresh.compute_state, fresh.status, fresh.lease_owner) == (
        ComputeState.RUNNING,
        Status.COMPUTING,
        "busy-worker",
    )
    assert fresh.generation == 0


def test_the_rescue_queues_again_only_computes_whose_lease_expired(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    dead, alive = _segment(team), _segment(team)
    _left_running(dead)
    _left_running(alive, owner="busy-worker", seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert segments_rescue() == 1
    assert _fresh(dead).status == Status.COMPUTED
    assert _fresh(alive).compute_state == ComputeState.RUNNING


def test_it_clears_the_lease_when_a_compute_fails(team: Team) -> None:
    segment = _segment(team)
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(definition={"bad": "rule"})
    segment_compute_run(segment_id=segment.pk)
    fresh = _fresh(segment)
    assert fresh.status == Status.FAILED
    assert (fresh.compute_state, fresh.lease_owner, fresh.lease_expires_at) == (ComputeState.IDLE, "", None)


def test_the_heartbeat_renews_only_the_leases_this_worker_holds(team: Team) -> None:
    mine, theirs = _segment(team), _segment(team)
    _left_running(mine, owner=worker_id(), seconds=1)
    _left_running(theirs, owner="other-worker", seconds=1)
    lease_hold(Segment, mine.pk)
    lease_hold(Segment, theirs.pk)  # held here by mistake: the owner column still decides
    try:
        assert leases_renew() == 1
    finally:
        lease_release(Segment, mine.pk)
        lease_release(Segment, theirs.pk)
    assert _fresh(mine).lease_expires_at > timezone.now() + timedelta(seconds=20)  # type: ignore[operator]
    assert _fresh(theirs).lease_expires_at < timezone.now() + timedelta(seconds=2)  # type: ignore[operator]
    assert leases_renew() == 0  # released: no longer renewed


def test_it_leaves_a_queued_compute_to_its_task_and_queues_one_that_lost_it(
    team: Team, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TASKS = DATABASE_TASKS
    waiting, lost = _segment(team), _segment(team)
    for segment in (waiting, lost):
        Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(
            compute_state=ComputeState.QUEUED,
            status=Status.COMPUTING,
            lease_expires_at=timezone.now() - timedelta(seconds=5),
        )
    compute_segment.enqueue(waiting.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert segments_rescue() == 1
    queued = [row["args"][0] for row in DBTaskResult.objects.values_list("args_kwargs", flat=True)]
    assert sorted(queued) == sorted([waiting.pk, lost.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert segments_rescue() == 0  # both have a task in the queue now


def test_it_runs_again_the_tasks_of_a_worker_that_stopped_beating(team: Team, settings: Any) -> None:
    settings.TASKS = DATABASE_TASKS
    settings.SEGOPS_TASK_LEASE_SECONDS = 30
    long_ago = timezone.now() - timedelta(minutes=5)
    dead = compute_segment.enqueue(1)
    alive = compute_segment.enqueue(2)
    heartbeat_record(worker="alive-worker", started_at=long_ago)
    heartbeat_record(worker="dead-worker", started_at=long_ago, now=long_ago)
    DBTaskResult.objects.filter(pk=dead.id).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["dead-worker"]
    )
    DBTaskResult.objects.filter(pk=alive.id).update(
        status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["alive-worker"]
    )
    assert tasks_rescue() == 1
    assert DBTaskResult.objects.get(pk=dead.id).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(pk=alive.id).status == TaskResultStatus.RUNNING


def test_a_worker_takes_back_its_own_compute_cut_short_by_an_outage(team: Team) -> None:
    segment = _segment(team)
    _left_running(segment, owner=worker_id(), seconds=30)  # its lease is live, but it is this worker's
    segment_compute_run(segment_id=segment.pk)
    fresh = _fresh(segment)
    assert (fresh.status, fresh.member_count, fresh.lease_owner) == (Status.COMPUTED, 2, "")
