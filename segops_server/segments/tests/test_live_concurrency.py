"""Several evaluators at once (spec §13, "many processes"): threads each on their own database
connection, as separate worker processes would be, while requests of events keep coming; at the
end every live set is what a full compute gives. And the lease that makes two evaluators never
work on one user at once: disjoint claims, and an evaluator whose lease lapsed applies nothing."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.live import queue
from segops_server.segments.live.evaluate import users_evaluate
from segops_server.segments.live.worker import live_loop
from segops_server.segments.members import stay_covers
from segops_server.segments.models import LivePending, Segment, SegmentMember
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.lookup import definition_lookup
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db(transaction=True)

USERS = [f"u{n}" for n in range(25)]
TYPES = ["order_placed", "page_viewed", "signup"]


def _rule(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": list(conditions)}


def _count(event_type: str, operator: str, value: int, **more: Any) -> dict[str, Any]:
    return {"type": "event_count", "event_type": event_type, "operator": operator, "value": value, **more}


def _store(team: Team, rows: list[tuple[str, str]]) -> None:
    now = timezone.now()
    events = [
        event_validate({"user_id": user, "event_type": kind, "occurred_at": now.isoformat()}, now=now)
        for user, kind in rows
    ]
    events_store(tenant=team.tenant, events=events, received_at=now)


def _live(segment: Segment) -> set[str]:
    segment.refresh_from_db()
    rows = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    found = set(rows.values_list("user_id", flat=True))
    assert segment.member_count == len(found)
    return found


def _due() -> int:
    """Rows due now (SQLite's test database, shared in memory, refuses a read while a writer holds
    the table: read again)."""
    for _attempt in range(100):
        try:
            return LivePending.objects.unscoped_all_tenants().filter(due_at__lte=timezone.now()).count()
        except OperationalError:
            time.sleep(0.05)
    raise AssertionError("the queue stayed locked")


def _full(segment: Segment) -> set[str]:
    assert segment.definition is not None
    sql, params = definition_compile(
        segment.definition,
        tenant_id=segment.tenant_id,
        vendor=connection.vendor,
        now=timezone.now(),
        lookup_definition=definition_lookup(segment.tenant),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def test_several_evaluators_and_concurrent_ingestion_end_with_the_full_computes_sets(
    team: Team, settings: Any
) -> None:
    _store(team, [(user, "signup") for user in USERS[:10]])
    buyers = segment_create(
        tenant=team.tenant, actor=None, name="Buyers", definition=_rule(_count("order_placed", "gte", 3))
    )
    segments = [
        buyers,
        segment_create(
            tenant=team.tenant,
            actor=None,
            name="Never bought",  # holds of a user without such events: a new user enters it
            definition=_rule(_count("order_placed", "eq", 0)),
        ),
        segment_create(
            tenant=team.tenant,
            actor=None,
            name="Browsing, not buying",
            definition=_rule(
                _count("page_viewed", "gte", 2, window_days=30),
                {"type": "segment_membership", "segment_id": buyers.pk, "operator": "not_in"},
            ),
        ),
    ]
    for segment in segments:
        segment_compute_run(segment_id=segment.pk)

    stop = threading.Event()
    failures: list[BaseException] = []

    def sender(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(30):
                rows = [(rng.choice(USERS), rng.choice(TYPES)) for _ in range(rng.randint(1, 4))]
                for _attempt in range(50):  # a client sends again when the database was busy
                    try:
                        _store(team, rows)
                        break
                    except OperationalError:
                        time.sleep(0.05)
        except BaseException as exc:  # reported from the test's own thread
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    # The worker's evaluators as they run in `segops worker` (their rounds retried after a
    # database error), three of them, each on its own connection.
    settings.SEGOPS_LIVE_THREADS = 3
    evaluators = threading.Thread(target=live_loop, args=(stop,))
    senders = [threading.Thread(target=sender, args=(seed,)) for seed in range(2)]
    evaluators.start()
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(120)
    try:
        deadline = time.monotonic() + 60
        while _due() and time.monotonic() < deadline:  # they catch up
            time.sleep(0.05)
    finally:
        stop.set()
    evaluators.join(60)
    time.sleep(0.5)  # the other two see `stop` after their round

    assert failures == []
    assert _due() == 0  # what is left waits for time windows (30 days from now)
    for segment in segments:
        assert _live(segment) == _full(segment), segment.name


def test_two_evaluators_never_hold_one_user_and_a_lapsed_lease_applies_nothing(team: Team) -> None:
    _store(team, [("ann", "order_placed")])
    segment = segment_create(
        tenant=team.tenant, actor=None, name="Buyers", definition=_rule(_count("order_placed", "gte", 2))
    )
    segment_compute_run(segment_id=segment.pk)
    _store(team, [("ann", "order_placed")])  # due first
    _store(team, [("bob", "order_placed")])
    now = timezone.now()
    first = queue.users_claim(owner="first", now=now, limit=1)
    second = queue.users_claim(owner="second", now=now, limit=10)
    assert [row.user_id for row in first] == ["ann"]
    assert [row.user_id for row in second] == ["bob"]  # what one holds, the other cannot claim

    # The first evaluator stalls past its lease; a third takes its user over.
    later = now + queue.LEASE + timedelta(seconds=1)
    third = queue.users_claim(owner="third", now=later, limit=1)
    assert [row.user_id for row in third] == ["ann"]
    # The stalled evaluator's apply is refused (the user is the third's now): nothing changes.
    stalled = users_evaluate(tenant_id=team.tenant.pk, claimed=first, owner="first", now=later)
    assert stalled.busy == {segment.pk}
    assert _live(segment) == set()
    users_evaluate(tenant_id=team.tenant.pk, claimed=third, owner="third", now=later)
    queue.users_done(rows=third, owner="third", next_due={})
    assert _live(segment) == {"ann"}
    assert not LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()
