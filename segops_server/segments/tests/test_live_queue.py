"""The live queue as ingestion writes it: outside any transaction (PostgreSQL's one-statement
path for small requests), one row per user however many events, the earliest due time kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from segops_server.accounts.models import Tenant
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.live import queue
from segops_server.segments.live.timers import TICK, next_moments
from segops_server.segments.models import LivePending, Segment
from segops_server.testing.factories import make_tenant

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
RULE = {"conditions": [{"type": "event_count", "event_type": "order_placed", "min": 1}]}


def live_tenant() -> Tenant:
    """A tenant with a segment kept in real time (one is needed for its events to queue users)."""
    tenant = make_tenant()
    Segment.objects.for_tenant(tenant).create(tenant=tenant, name="Live", definition=RULE)
    return tenant


def _queued(tenant: Tenant) -> list[str]:
    return list(LivePending.objects.for_tenant(tenant).order_by("user_id").values_list("user_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_only_a_tenant_with_a_live_segment_queues_its_users() -> None:
    tenant = make_tenant()
    events_store(
        tenant=tenant, events=[event_validate({"user_id": "a", "event_type": "x"}, now=NOW)], received_at=NOW
    )
    batch = [event_validate({"user_id": f"u{n}", "event_type": "x"}, now=NOW) for n in range(60)]
    events_store(tenant=tenant, events=batch, received_at=NOW)  # the transactional path too
    Segment.objects.for_tenant(tenant).create(tenant=tenant, name="Draft", definition=None)
    Segment.objects.for_tenant(tenant).create(tenant=tenant, name="Off", definition=RULE, realtime=False)
    events_store(
        tenant=tenant, events=[event_validate({"user_id": "b", "event_type": "x"}, now=NOW)], received_at=NOW
    )
    assert _queued(tenant) == []  # no segment kept live: nothing to evaluate
    other = live_tenant()  # another tenant's live segment is not this tenant's
    events_store(
        tenant=tenant, events=[event_validate({"user_id": "c", "event_type": "x"}, now=NOW)], received_at=NOW
    )
    assert _queued(tenant) == []
    Segment.objects.for_tenant(tenant).create(
        tenant=tenant, name="Live", definition=RULE
    )  # never computed yet: counts
    events_store(
        tenant=tenant, events=[event_validate({"user_id": "d", "event_type": "x"}, now=NOW)], received_at=NOW
    )
    events_store(tenant=tenant, events=batch[:2], received_at=NOW)
    assert _queued(tenant) == ["d", "u0", "u1"]
    assert _queued(other) == []


@pytest.mark.django_db(transaction=True)
def test_a_request_queues_each_of_its_users_once_with_its_events() -> None:
    tenant = live_tenant()
    events = [event_validate({"user_id": u, "event_type": "order_placed"}, now=NOW) for u in ("b", "a", "b")]
    events_store(tenant=tenant, events=events, received_at=NOW)
    rows = LivePending.objects.for_tenant(tenant).order_by("user_id")
    assert [(r.user_id, r.due_at, r.stamp) for r in rows] == [("a", NOW, 0), ("b", NOW, 0)]
    later = NOW + timedelta(seconds=5)
    events_store(
        tenant=tenant,
        events=[event_validate({"user_id": "a", "event_type": "x"}, now=later)],
        received_at=later,
    )
    row = LivePending.objects.for_tenant(tenant).get(user_id="a")
    # Coalesced: still due at the first event's time, and an unclaimed row is not even rewritten.
    assert (row.due_at, row.stamp) == (NOW, 0)


@pytest.mark.django_db(transaction=True)
def test_an_event_for_a_user_being_evaluated_keeps_them_due() -> None:
    tenant = live_tenant()
    queue.users_enqueue(tenant_id=tenant.pk, user_ids=["a", "b"], due_at=NOW)
    claimed = queue.users_claim(owner="w", now=NOW, limit=10)
    later = NOW + timedelta(seconds=5)
    events_store(
        tenant=tenant,
        events=[event_validate({"user_id": "a", "event_type": "x"}, now=later)],
        received_at=later,
    )
    assert LivePending.objects.for_tenant(tenant).get(user_id="a").stamp == 1  # a newer event came
    queue.users_done(rows=claimed, owner="w", next_due={})
    row = LivePending.objects.for_tenant(tenant).get()  # b is done; a is due again for its event
    assert (row.user_id, row.lease_owner, row.due_at) == ("a", "", NOW)
    assert [c.user_id for c in queue.users_claim(owner="w", now=later, limit=10)] == ["a"]


@pytest.mark.django_db(transaction=True)
def test_a_timer_never_postpones_a_due_evaluation() -> None:
    tenant = live_tenant()
    queue.users_enqueue(tenant_id=tenant.pk, user_ids=["a"], due_at=NOW)
    queue.users_enqueue(tenant_id=tenant.pk, user_ids=["a"], due_at=NOW + timedelta(days=3))
    assert LivePending.objects.for_tenant(tenant).get(user_id="a").due_at == NOW
    claimed = queue.users_claim(owner="w", now=NOW, limit=10)
    assert queue.users_claim(owner="w2", now=NOW, limit=10) == []  # held
    queue.users_done(rows=claimed, owner="w", next_due={"a": NOW + timedelta(days=3)})
    row = LivePending.objects.for_tenant(tenant).get(user_id="a")
    assert (row.due_at, row.lease_owner) == (NOW + timedelta(days=3), "")
    assert queue.users_claim(owner="w", now=NOW + timedelta(days=2), limit=10) == []


@pytest.mark.django_db
def test_days_since_last_times_only_users_whose_last_event_is_inside_the_window() -> None:
    tenant = make_tenant()
    sent = {
        "old": NOW - timedelta(days=40),
        "recent": NOW - timedelta(days=10),
        "edge": NOW - timedelta(days=30),
    }
    events = [
        event_validate(
            {"user_id": user, "event_type": "order_placed", "occurred_at": at.isoformat()}, now=NOW
        )
        for user, at in sent.items()
    ]
    events.append(  # an older event of the recent user does not hide their last one
        event_validate(
            {
                "user_id": "recent",
                "event_type": "order_placed",
                "occurred_at": (NOW - timedelta(days=50)).isoformat(),
            },
            now=NOW,
        )
    )
    events_store(tenant=tenant, events=events, received_at=NOW)
    due = next_moments(tenant_id=tenant.pk, user_ids=None, windows={("last", "order_placed", 30.0)}, now=NOW)
    assert due == {"recent": NOW + timedelta(days=20), "edge": NOW + TICK}
