"""Which segments a queued user is evaluated in (segments/live/triggers.py): those their new events
can change (by the condition types' event types, through groups and referenced segments), those
whose windows time crossed for them, and every one for a new user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from segops_server.ingestion.models import IDENTIFY_EVENT
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.live import queue
from segops_server.segments.live.evaluate import users_evaluate
from segops_server.segments.live.triggers import definition_event_types, definition_triggers
from segops_server.segments.models import SegmentMember
from segops_server.testing.factories import Team

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _rule(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": list(conditions)}


def _count(event_type: str, value: int = 1, **more: Any) -> dict[str, Any]:
    return {"type": "event_count", "event_type": event_type, "operator": "gte", "value": value, **more}


PLAN = {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}
LOOSE = {"type": "event_sequence", "events": ["cart_added", "order_placed"], "strict": False}


def test_each_condition_type_names_the_events_that_can_change_it() -> None:
    referenced = {7: _rule(_count("signup"))}
    lookup = referenced.get
    assert definition_event_types(_rule(_count("order_placed")), lookup) == {"order_placed"}
    assert definition_event_types(_rule(PLAN), lookup) == {IDENTIFY_EVENT}
    assert definition_event_types(_rule(LOOSE), lookup) == {"cart_added", "order_placed"}
    assert definition_event_types(_rule({**LOOSE, "strict": True}), lookup) is None  # any event breaks it
    nested = _rule(
        {
            "logic": "OR",
            "conditions": [PLAN, {"type": "segment_membership", "segment_id": 7, "operator": "in"}],
        }
    )
    assert definition_event_types(nested, lookup) == {IDENTIFY_EVENT, "signup"}  # through the reference
    unknown = _rule({"type": "segment_membership", "segment_id": 8, "operator": "in"})
    assert definition_event_types(unknown, lookup) is None
    triggers = definition_triggers(_rule(_count("order_placed", window_days=30)), lookup, NOW)
    assert triggers.windows == {("first", "order_placed", 30.0)}
    assert triggers.changed_by({"order_placed", "page_viewed"})
    assert not triggers.changed_by({"page_viewed"})
    assert not triggers.holds_for_stranger  # a new user without orders cannot enter it
    never = {"type": "event_count", "event_type": "order_placed", "operator": "eq", "value": 0}
    assert definition_triggers(_rule(never), lookup, NOW).holds_for_stranger
    outside = _rule({"type": "segment_membership", "segment_id": 7, "operator": "not_in"})
    assert definition_triggers(outside, lookup, NOW).holds_for_stranger


def _send(team: Team, user: str, kind: str, at: datetime) -> None:
    event = event_validate({"user_id": user, "event_type": kind, "occurred_at": at.isoformat()}, now=at)
    events_store(tenant=team.tenant, events=[event], received_at=at)


@pytest.mark.django_db
def test_a_user_is_evaluated_only_in_the_segments_their_events_or_time_can_change(team: Team) -> None:
    for user in ("ann", "bob"):
        _send(team, user, "signup", NOW - timedelta(days=10))
    orders = segment_create(
        tenant=team.tenant, actor=None, name="O", definition=_rule(_count("order_placed"))
    )
    pages = segment_create(tenant=team.tenant, actor=None, name="P", definition=_rule(_count("page_viewed")))
    recent_signup = segment_create(
        tenant=team.tenant, actor=None, name="R", definition=_rule(_count("signup", window_days=11))
    )
    never = segment_create(
        tenant=team.tenant,
        actor=None,
        name="N",
        definition=_rule({"type": "event_count", "event_type": "order_placed", "operator": "eq", "value": 0}),
    )
    for segment in (orders, pages, recent_signup, never):
        segment_compute_run(segment_id=segment.pk, now=NOW)

    def evaluations(at: datetime) -> int:
        claimed = queue.users_claim(owner="w", now=at, limit=10)
        outcome = users_evaluate(tenant_id=team.tenant.pk, claimed=claimed, owner="w", now=at)
        queue.users_done(rows=claimed, owner="w", next_due=outcome.next_due)
        return outcome.evaluations

    _send(team, "ann", "page_viewed", NOW + timedelta(seconds=1))
    assert evaluations(NOW + timedelta(seconds=1)) == 1  # pages only: no order, no signup
    _send(team, "ann", "order_placed", NOW + timedelta(seconds=5))
    _send(team, "bob", "order_placed", NOW + timedelta(seconds=5))
    assert evaluations(NOW + timedelta(seconds=5)) == 2  # the two on orders, once for both users
    _send(team, "cat", "other", NOW + timedelta(seconds=10))
    # A new user: the segments whose rule holds of someone without their events' types.
    assert evaluations(NOW + timedelta(seconds=10)) == 1
    assert "cat" in set(
        SegmentMember.objects.for_tenant(team.tenant).filter(segment=never).values_list("user_id", flat=True)
    )
    # The signups leave recent_signup's 11-day window a day later: time, not an event.
    assert evaluations(NOW + timedelta(days=1, seconds=1)) == 1
