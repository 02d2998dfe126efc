"""Real-time membership (spec §13): events move users in and out of a computed segment's current
set without a compute, time windows move them on time, a chain of segments follows, computes and
live updates never interleave into a wrong set, and pending evaluations survive a dead worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from segops_server.activations.models import ActivationStatus, ActivationSync
from segops_server.activations.tests.helpers import activation_make
from segops_server.analytics.models import SegmentSizeDay
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.live import queue
from segops_server.segments.live.evaluate import live_round
from segops_server.segments.members import stay_covers
from segops_server.segments.models import ComputeState, LivePending, Segment, SegmentChange, SegmentMember
from segops_server.testing.factories import Team
from segops_server.webhooks.models import Delivery, WebhookEvent
from segops_server.webhooks.tests.conftest import webhook_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _send(
    team: Team, user: str, kind: str = "order_placed", *, at: datetime, ago: timedelta = timedelta()
) -> None:
    event = event_validate(
        {"user_id": user, "event_type": kind, "occurred_at": (at - ago).isoformat()}, now=at
    )
    events_store(tenant=team.tenant, events=[event], received_at=at)


def _rule(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": list(conditions)}


def _orders(times: int = 1, window_days: int | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": "event_count",
        "event_type": "order_placed",
        "operator": "gte",
        "value": times,
    }
    if window_days is not None:
        condition["window_days"] = window_days
    return condition


def _segment(team: Team, definition: dict[str, Any], *, at: datetime = NOW, **fields: Any) -> Segment:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="S", definition=definition)
    if fields:
        Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(**fields)
    segment_compute_run(segment_id=segment.pk, now=at)
    segment.refresh_from_db()
    return segment


def _members(segment: Segment) -> set[str]:
    segment.refresh_from_db()
    rows = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    return set(rows.values_list("user_id", flat=True))


def _drain(now: datetime) -> int:
    rounds = 0
    while live_round(now=now):
        rounds += 1
    return rounds


def test_an_event_moves_its_user_in_without_a_compute(team: Team) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(2)))
    assert _members(segment) == set()
    _send(team, "ann", at=NOW + timedelta(seconds=5))
    _send(team, "bob", at=NOW + timedelta(seconds=5))
    assert LivePending.objects.for_tenant(team.tenant).count() == 2  # durable with the events
    _drain(NOW + timedelta(seconds=5))
    segment.refresh_from_db()
    assert _members(segment) == {"ann"}
    assert segment.member_count == 1
    assert segment.generation == 1  # the same member set, kept up to date
    assert segment.last_live_change_at == NOW + timedelta(seconds=5)
    changes = SegmentChange.objects.for_tenant(team.tenant).filter(segment=segment)
    assert list(changes.values_list("user_id", "change", "generation")) == [("ann", "entered", 1)]
    assert not LivePending.objects.for_tenant(team.tenant).exists()
    # The day's size (analytics' trend) follows the live change too.
    sizes = SegmentSizeDay.objects.for_tenant(team.tenant).filter(segment=segment)
    assert list(sizes.values_list("day", "count")) == [((NOW + timedelta(seconds=5)).date(), 1)]


def test_a_user_leaves_when_their_only_event_leaves_the_window(team: Team) -> None:
    _send(team, "ann", at=NOW, ago=timedelta(days=2))
    _drain(NOW)  # no segment yet: the compute alone schedules the window's end
    assert not LivePending.objects.for_tenant(team.tenant).exists()
    segment = _segment(team, _rule(_orders(1, window_days=3)))
    assert _members(segment) == {"ann"}
    leaves = NOW + timedelta(days=1)  # the event's time + 3 days
    _drain(leaves - timedelta(seconds=1))
    assert _members(segment) == {"ann"}
    _drain(leaves + timedelta(seconds=1))
    assert _members(segment) == set()
    assert segment.member_count == 0
    changes = SegmentChange.objects.for_tenant(team.tenant).filter(segment=segment, change="exited")
    assert list(changes.values_list("user_id", flat=True)) == ["ann"]


def test_days_since_last_moves_users_in_on_time(team: Team) -> None:
    _send(team, "ann", at=NOW)
    churned = {"type": "recency", "event_type": "order_placed", "operator": "gt", "window_days": 7}
    segment = _segment(team, _rule(churned))
    assert _members(segment) == set()
    _drain(NOW + timedelta(days=7))
    assert _members(segment) == set()  # exactly 7 days: not more than 7 yet
    _drain(NOW + timedelta(days=7, seconds=1))
    assert _members(segment) == {"ann"}
    _send(team, "ann", at=NOW + timedelta(days=8))  # back: days since last is 0 again
    _drain(NOW + timedelta(days=8))
    assert _members(segment) == set()


def test_a_segment_referencing_another_follows_it(team: Team) -> None:
    _send(team, "ann", at=NOW)
    _send(team, "bob", "signup", at=NOW)
    buyers = _segment(team, _rule(_orders(2)))
    not_buyers = _segment(
        team, _rule({"type": "segment_membership", "segment_id": buyers.pk, "operator": "not_in"})
    )
    assert _members(not_buyers) == {"ann", "bob"}
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    _drain(NOW + timedelta(seconds=1))
    assert _members(buyers) == {"ann"}
    assert _members(not_buyers) == {"bob"}


def test_a_segment_that_is_not_realtime_keeps_its_last_compute(team: Team) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(2)), realtime=False)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    _drain(NOW + timedelta(seconds=1))
    assert _members(segment) == set()
    segment.refresh_from_db()
    assert segment.last_live_change_at is None
    segment_compute_run(segment_id=segment.pk, now=NOW + timedelta(seconds=2))
    assert _members(segment) == {"ann"}


def test_a_running_compute_keeps_the_user_pending_until_it_is_done(team: Team) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(2)))
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(compute_state=ComputeState.RUNNING)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    live_round(now=NOW + timedelta(seconds=1))
    assert _members(segment) == set()  # the compute's set is left to it
    assert LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(compute_state=ComputeState.IDLE)
    _drain(NOW + timedelta(seconds=3))
    assert _members(segment) == {"ann"}


def test_a_compute_on_one_segment_leaves_the_rounds_other_changes_applied(team: Team) -> None:
    """A round's changes are applied in one transaction: the segment a compute holds is left out
    (its users stay pending), the round's other segments change."""
    _send(team, "ann", at=NOW)
    busy = _segment(team, _rule(_orders(2)))
    free = _segment(team, _rule(_orders(2)))
    Segment.objects.for_tenant(team.tenant).filter(pk=busy.pk).update(compute_state=ComputeState.RUNNING)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    live_round(now=NOW + timedelta(seconds=1))
    assert (_members(busy), _members(free)) == (set(), {"ann"})
    assert SegmentChange.objects.for_tenant(team.tenant).filter(segment=free, user_id="ann").count() == 1
    assert LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()
    Segment.objects.for_tenant(team.tenant).filter(pk=busy.pk).update(compute_state=ComputeState.IDLE)
    _drain(NOW + timedelta(seconds=3))
    assert (_members(busy), _members(free)) == ({"ann"}, {"ann"})
    assert SegmentChange.objects.for_tenant(team.tenant).filter(segment=free, user_id="ann").count() == 1


def test_an_event_during_a_first_compute_waits_for_it(team: Team) -> None:
    """A segment's first compute may not read an event that comes while it runs: the user stays
    pending until the first member set is in, then is evaluated against it."""
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="S", definition=_rule(_orders(1)))
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(compute_state=ComputeState.RUNNING)
    _send(team, "ann", at=NOW)
    live_round(now=NOW)
    assert LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()
    # The compute ends having read nothing (its snapshot was older than the event).
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(
        compute_state=ComputeState.IDLE, generation=1
    )
    _drain(NOW + timedelta(seconds=2))
    assert _members(segment) == {"ann"}


def test_a_dead_workers_users_are_evaluated_once_its_lease_expires(team: Team) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(2)))
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    claimed = queue.users_claim(owner="dead-worker", now=NOW + timedelta(seconds=1), limit=10)
    assert [row.user_id for row in claimed] == ["ann"]  # then the worker is killed
    assert _drain(NOW + timedelta(seconds=2)) == 0  # its lease still holds
    assert _members(segment) == set()
    _drain(NOW + timedelta(seconds=1) + queue.LEASE + timedelta(seconds=1))
    assert _members(segment) == {"ann"}
    assert not LivePending.objects.for_tenant(team.tenant).exists()


def test_an_event_during_an_evaluation_is_evaluated_again(team: Team) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(3)))
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    claimed = queue.users_claim(owner="w1", now=NOW + timedelta(seconds=1), limit=10)
    _send(team, "ann", at=NOW + timedelta(seconds=2))  # arrives while w1 evaluates
    queue.users_done(rows=claimed, owner="w1", next_due={})
    assert LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()
    _drain(NOW + timedelta(seconds=2))
    assert _members(segment) == {"ann"}


def test_another_tenants_rows_are_untouched(team: Team) -> None:
    for tenant in (team.tenant, team.other_tenant):
        events_store(
            tenant=tenant,
            events=[event_validate({"user_id": "ann", "event_type": "order_placed"}, now=NOW)],
            received_at=NOW,
        )
    mine = _segment(team, _rule(_orders(2)))
    theirs = segment_create(tenant=team.other_tenant, actor=None, name="T", definition=_rule(_orders(2)))
    segment_compute_run(segment_id=theirs.pk, now=NOW)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    _drain(NOW + timedelta(seconds=1))
    assert _members(mine) == {"ann"}
    assert _members(theirs) == set()
    assert not SegmentChange.objects.for_tenant(team.other_tenant).exists()


def test_a_live_change_is_sent_to_webhooks_and_active_activations(team: Team) -> None:
    _send(team, "ann", at=NOW)
    _send(team, "bob", at=NOW)
    _send(team, "bob", at=NOW)
    segment = _segment(team, _rule(_orders(2)))
    hook = webhook_make(team, "https://hooks.example.com/segops")
    activation = activation_make(
        segment, status=ActivationStatus.ACTIVE, synced_generation=segment.generation
    )
    stale = activation_make(segment, status=ActivationStatus.ACTIVE, synced_generation=None)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    _drain(NOW + timedelta(seconds=1))
    sent = Delivery.objects.for_tenant(team.tenant).filter(webhook=hook)
    assert [(d.event, d.users) for d in sent] == [
        (WebhookEvent.MEMBERSHIP_CHANGED, {"entered": ["ann"], "exited": []})
    ]
    assert sent[0].payload["generation"] == segment.generation
    syncs = ActivationSync.objects.for_tenant(team.tenant).filter(activation=activation)
    assert [(s.kind, s.entered, s.exited, s.batches) for s in syncs] == [("changes", 1, 0, 1)]
    # A receiver that does not hold the current set gets every member at its next full sync.
    assert not ActivationSync.objects.for_tenant(team.tenant).filter(activation=stale).exists()


def test_the_api_reports_realtime_and_the_last_live_change(team: Team) -> None:
    client = team.client("member")
    created = client.post("/api/segments/", {"name": "B", "definition": _rule(_orders(2))}, format="json")
    assert created.status_code == 201
    assert created.json()["realtime"] is True
    assert created.json()["last_live_change_at"] is None
    segment_id = created.json()["id"]
    _send(team, "ann", at=NOW)
    segment_compute_run(segment_id=segment_id, now=NOW)
    _send(team, "ann", at=NOW + timedelta(seconds=1))
    _drain(NOW + timedelta(seconds=1))
    body = client.get(f"/api/segments/{segment_id}/").json()
    assert body["last_live_change_at"] == "2026-05-01T12:00:01Z"
    assert body["member_count"] == 1
    off = client.patch(f"/api/segments/{segment_id}/", {"realtime": False}, format="json")
    assert off.status_code == 200
    assert off.json()["realtime"] is False
    bad = client.patch(f"/api/segments/{segment_id}/", {"realtime": "sometimes"}, format="json")
    assert bad.status_code == 400
    assert "realtime" in bad.json()


def test_turning_realtime_back_on_recomputes_what_was_missed(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    _send(team, "ann", at=NOW)
    segment = _segment(team, _rule(_orders(2)), realtime=False)
    _send(team, "ann", at=NOW)  # while off: evaluated, but not kept in this segment
    _drain(NOW)
    client = team.client("member")
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(f"/api/segments/{segment.pk}/", {"realtime": True}, format="json")
    assert _members(segment) == {"ann"}
    assert segment.generation == 2
