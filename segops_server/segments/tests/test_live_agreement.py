"""Property test: after any stream of events and any passage of time, the live member set of a
real-time segment is what a full compute gives (spec §13).

Random rules (the compiler agreement test's, a segment referencing another among them) are
computed once; then random steps (a request of events, or the clock moving on) go through the
real-time path only: events_store, then the evaluator's rounds at the step's time. After each
step every segment's current member set and member count must equal its rule's full answer at
that time; at the end a real compute changes nothing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segops_server.ingestion.models import IDENTIFY_EVENT
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.live.evaluate import live_round
from segops_server.segments.members import stay_covers
from segops_server.segments.models import Segment, SegmentChange, SegmentMember
from segops_server.segments.rules.compiler import definition_compile
from segops_server.segments.rules.lookup import definition_lookup
from segops_server.segments.tests.test_compiler_agreement import (
    PROPERTIES,
    USERS,
    compared,
    definitions,
    group,
    json_values,
    leaf,
    merged,
    numeric_ops,
    with_type,
)
from segops_server.testing.factories import make_tenant

START = datetime(2026, 3, 1, tzinfo=UTC)
TYPES = ["signup", "order_placed", "page_viewed", IDENTIFY_EVENT]

payloads = st.dictionaries(st.sampled_from(PROPERTIES), json_values, max_size=3)
# Events up to 20 days old on a 12-hour grid (window boundaries come up), sometimes a microsecond off.
ages = st.builds(
    lambda half_days, micros: timedelta(hours=12 * half_days, microseconds=micros),
    st.integers(0, 40),
    st.sampled_from([0, 0, 1]),
)
requests = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(TYPES), ages, payloads), min_size=1, max_size=6
)
# A step: a request of events, or the clock moving on (half days, or a few seconds).
clock_moves = st.one_of(
    st.integers(1, 12).map(lambda h: timedelta(hours=12 * h)),
    st.integers(1, 90).map(lambda s: timedelta(seconds=s)),
)
# Rules that time moves (short windows, days since last), mixed with every other kind.
short_days = st.integers(0, 10)
timed = st.one_of(
    merged(
        with_type("event_count", event_type=st.sampled_from(TYPES[:3]), window_days=short_days),
        compared(numeric_ops, "value", st.integers(0, 3)),
    ),
    merged(
        with_type("recency", event_type=st.sampled_from(TYPES[:3])),
        compared(numeric_ops, "window_days", short_days),
    ),
)
timed_rules = st.one_of(
    timed.map(lambda c: {"logic": "AND", "conditions": [c]}),
    group(st.one_of(timed, timed, leaf, group(st.one_of(timed, leaf)))),
)
steps = st.lists(st.one_of(requests, clock_moves), min_size=1, max_size=8)


def _store(tenant: Any, rows: list[Any], now: datetime) -> None:
    events = [
        event_validate(
            {
                "user_id": user,
                "event_type": kind,
                "occurred_at": (now - age).isoformat(),
                "payload": payload,
            },
            now=now,
        )
        for user, kind, age, payload in rows
    ]
    events_store(tenant=tenant, events=events, received_at=now)


def _drain(now: datetime) -> None:
    while live_round(now=now):
        pass


def _live(segment: Segment) -> set[str]:
    segment.refresh_from_db()
    members = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    found = set(members.values_list("user_id", flat=True))
    assert segment.member_count == len(found)
    return found


def _full(segment: Segment, now: datetime) -> set[str]:
    assert segment.definition is not None
    sql, params = definition_compile(
        segment.definition,
        tenant_id=segment.tenant_id,
        vendor=connection.vendor,
        now=now,
        lookup_definition=definition_lookup(segment.tenant),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _pointing(definition: dict[str, Any], segment_id: int) -> dict[str, Any]:
    """The generated rule with its reference (segment 1) pointing at `segment_id`."""
    conditions = []
    for condition in definition["conditions"]:
        if "conditions" in condition:
            condition = _pointing(condition, segment_id)
        elif condition.get("type") == "segment_membership":
            condition = {**condition, "segment_id": segment_id}
        conditions.append(condition)
    return {**definition, "conditions": conditions}


@settings(
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=timed_rules, second=definitions([1], depth=2), history=requests, stream=steps)
def test_the_live_set_is_what_a_full_compute_gives(
    db: None, first: dict[str, Any], second: dict[str, Any], history: list[Any], stream: list[Any]
) -> None:
    tenant = make_tenant()
    now = START
    _store(tenant, history, now)
    a = segment_create(tenant=tenant, actor=None, name="A", definition=first)
    b = segment_create(tenant=tenant, actor=None, name="B", definition=_pointing(second, a.pk))
    for segment in (a, b):
        segment_compute_run(segment_id=segment.pk, now=now)
    _drain(now)
    for step in stream:
        if isinstance(step, timedelta):
            before = [_full(segment, now) for segment in (a, b)]
            now += step
            if before != [_full(segment, now) for segment in (a, b)]:
                event("time alone moved a member")
        else:
            _store(tenant, step, now)
        _drain(now)
        for segment in (a, b):
            assert _live(segment) == _full(segment, now), (segment.name, step)
    for segment in (a, b):
        live = _live(segment)
        segment_compute_run(segment_id=segment.pk, now=now)
        segment.refresh_from_db()
        assert (
            not SegmentChange.objects.for_tenant(tenant)
            .filter(segment=segment, generation=segment.generation)
            .exists()
        )
        assert _live(segment) == live
