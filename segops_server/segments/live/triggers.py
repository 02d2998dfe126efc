"""Which segments a queued user can have changed in: the one rule real-time evaluation narrows by.

A segment's answer for a user changes only through (a) a new event of a type its rule reads, as
each condition type declares (ConditionType.event_types: the aggregates and event_property their
event type, user_property identify events, a loose sequence its steps, a strict sequence and any
type that says nothing every event), or (b) time passing one of its windows (timers.py). The walk
goes through nested groups and into the segments it references through `segment_membership`:
their definitions are inlined in its SQL (never their stored members), so an event that can
change a referenced segment is evaluated in the referencing one in the same round, and no order
between the segments is needed for the answer to be right.

A queued user is then evaluated in a segment when their events received since their row became
due are of a type it reads, or when one of its windows was crossed for them between that time
and now. Both reads start a second before the earliest due time of the batch: a superset of
what each row asks for, never less.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Min

from segops_server.ingestion.models import Event
from segops_server.segments.live.timers import Window, definition_windows
from segops_server.segments.rules.conditions import condition_type
from segops_server.segments.rules.reference import evaluate as reference_evaluate

MARGIN = timedelta(seconds=1)  # the reads start this much before the batch's earliest due time
STRANGER_TYPE = "\x00 no rule names this"  # an event type no definition can name


@dataclass(frozen=True)
class Triggers:
    event_types: frozenset[str] | None  # None: an event of any type can change the segment
    windows: frozenset[Window]
    # Whether the rule holds of a user none of whose events it reads (a count equal to 0, `not_in`
    # another segment): a new user can then enter it whatever their events' types.
    holds_for_stranger: bool = True

    def changed_by(self, types: set[str]) -> bool:
        """Whether events of `types` can change the segment."""
        if not types:
            return False
        return self.event_types is None or not self.event_types.isdisjoint(types)


def definition_event_types(
    definition: dict[str, Any], lookup: Callable[[int], dict[str, Any] | None], seen: set[int] | None = None
) -> frozenset[str] | None:
    """The event types that can change the definition's answer (None: any), through nested
    groups and referenced segments."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    for condition in definition.get("conditions", []):
        if not isinstance(condition, dict):
            continue
        kind = condition_type(condition.get("type"))
        if kind is None:  # a nested group
            nested_types = definition_event_types(condition, lookup, seen)
            if nested_types is None:
                return None
            found |= nested_types
            continue
        own = kind.event_types(condition)
        if own is None:
            return None
        found |= own
        referenced = kind.referenced_segment(condition)
        if referenced is not None and referenced not in seen:
            seen.add(referenced)
            nested = lookup(referenced)
            if nested is None:
                return None  # unknown to us: assume the worst
            referenced_types = definition_event_types(nested, lookup, seen)
            if referenced_types is None:
                return None
            found |= referenced_types
    return frozenset(found)


def definition_triggers(
    definition: dict[str, Any], lookup: Callable[[int], dict[str, Any] | None], now: datetime
) -> Triggers:
    return Triggers(
        event_types=definition_event_types(definition, lookup),
        windows=frozenset(definition_windows(definition, lookup)),
        holds_for_stranger=_holds_for_stranger(definition, lookup, now),
    )


def _holds_for_stranger(
    definition: dict[str, Any], lookup: Callable[[int], dict[str, Any] | None], now: datetime
) -> bool:
    """The rule's answer for a user with one event of a type no rule names and no traits, by the
    reference semantics (rules/reference.py): what it says of any user whose events it does not
    read. True (evaluate) if the reference cannot tell."""
    stranger = {"user_id": "stranger", "event_type": STRANGER_TYPE, "occurred_at": now, "payload": {}}
    try:
        found = reference_evaluate(
            definition, events=[stranger], properties={}, now=now, lookup_definition=lookup
        )
    except Exception:  # a rule broken since: its own evaluation says so
        return True
    return "stranger" in found


@dataclass(frozen=True)
class Recent:
    """What happened to the queued users since their rows became due."""

    types: dict[str, set[str]]  # the types of each user's events received since
    new: set[str]  # users whose first events those are: they enter every segment's universe

    def changed(self, user_id: str, triggers: Triggers) -> bool:
        types = self.types.get(user_id, set())
        # A new user enters the universe: a segment whose rule holds of a user without events
        # of its types (a count equal to 0, `not_in` another segment) may change for them.
        if not types:
            return False
        return (user_id in self.new and triggers.holds_for_stranger) or triggers.changed_by(types)


def events_since(*, tenant_id: int, user_ids: list[str], since: datetime) -> Recent:
    """The types of each user's events received since `since` (less MARGIN), and which of the
    users had none before: one read of the users' events (through the (tenant, user) index),
    grouped by user and type."""
    start = since - MARGIN
    rows = (
        Event.objects.for_tenant(tenant_id)
        .filter(user_id__among=user_ids)
        .values_list("user_id", "event_type")
        .annotate(latest=Max("received_at"), earliest=Min("received_at"))
        .order_by()
    )
    types: dict[str, set[str]] = {}
    known: set[str] = set()
    for user_id, event_type, latest, earliest in rows:
        if latest >= start:
            types.setdefault(user_id, set()).add(event_type)
        if earliest < start:
            known.add(user_id)
    return Recent(types=types, new=set(types) - known)


def windows_crossed(
    *, tenant_id: int, user_ids: list[str], windows: set[Window], since: datetime, now: datetime
) -> dict[Window, set[str]]:
    """For each window, the users for whom time crossed it between `since` (less MARGIN) and
    `now`: an event of its type that left it ("first"), or whose age passed its days ("last";
    checked on every such event, a superset of checking the last one)."""
    crossed: dict[Window, set[str]] = {}
    events = Event.objects.for_tenant(tenant_id).filter(user_id__among=user_ids)
    for window in sorted(windows):
        _, event_type, days = window
        span = timedelta(days=days)
        users = (
            events.filter(
                event_type=event_type,
                occurred_at__gte=since - MARGIN - span,
                occurred_at__lte=now - span,
            )
            .values_list("user_id", flat=True)
            .distinct()
        )
        crossed[window] = set(users)
    return crossed
