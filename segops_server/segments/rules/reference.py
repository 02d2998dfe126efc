"""The segment semantics in plain Python: the oracle the compiled SQL is tested against.

Written for clarity, not speed (one user's history at a time, exact rational arithmetic);
docs/segments.md states the same rules in prose. This module walks the users, the groups and
the referenced segments; what each condition type means is in its module under conditions/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from segops_server.segments.rules.conditions import condition_type
from segops_server.segments.rules.dsl import DefinitionError, LookupDefinition, definition_validate

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class _Event:
    key: tuple[datetime, int]  # (occurred_at, id): the order of a user's timeline
    event_type: str
    payload: dict[str, Any]

    @property
    def at(self) -> datetime:
        return self.key[0]


Timeline = list[_Event]


def evaluate(
    definition: dict[str, Any],
    *,
    events: list[dict[str, Any]],
    properties: dict[str, dict[str, Any]],
    now: datetime,
    lookup_definition: LookupDefinition,
) -> set[str]:
    """The user ids of one tenant matching `definition`.

    `events`: dicts with user_id, event_type, occurred_at (aware), payload and optionally id;
    without ids the list order stands for insertion order. `properties`: user_id -> traits.
    The universe is every user with at least one event.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    timelines: dict[str, list[_Event]] = {}
    for index, e in enumerate(events):
        at = e["occurred_at"].astimezone(UTC)
        event = _Event((at, e.get("id", index)), e["event_type"], e.get("payload") or {})
        timelines.setdefault(e["user_id"], []).append(event)
    for timeline in timelines.values():
        timeline.sort(key=lambda ev: ev.key)
    evaluator = _Evaluator(now.astimezone(UTC), lookup_definition, timelines, properties)
    return evaluator.members(definition, stack=())


class _Evaluator:
    """One tenant's histories at one instant; referenced segments' members are computed once."""

    def __init__(
        self,
        now: datetime,
        lookup: LookupDefinition,
        timelines: dict[str, list[_Event]],
        properties: dict[str, dict[str, Any]],
    ) -> None:
        self.now = now
        self.lookup = lookup
        self.timelines = timelines
        self.properties = properties
        self.segments: dict[int, set[str]] = {}

    def members(self, definition: dict[str, Any], stack: tuple[int, ...]) -> set[str]:
        definition = definition_validate(definition, lookup_definition=self.lookup)
        return {user for user in self.timelines if self.group(definition, user, stack)}

    def group(self, group: dict[str, Any], user: str, stack: tuple[int, ...]) -> bool:
        results = (self.condition(c, user, stack) for c in group["conditions"])
        return all(results) if group["logic"] == "AND" else any(results)

    def condition(self, condition: dict[str, Any], user: str, stack: tuple[int, ...]) -> bool:
        kind = condition_type(condition.get("type"))
        if kind is None:
            return self.group(condition, user, stack)
        return kind.evaluate(condition, UserFacts(self, user, stack))

    def segment(self, segment_id: int, stack: tuple[int, ...]) -> set[str]:
        """Another segment's members by its definition (not its last computed members)."""
        if segment_id in stack:
            raise DefinitionError(f"segment_id: segment {segment_id} leads to a cycle")
        if segment_id not in self.segments:
            saved = self.lookup(segment_id)
            if saved is None:
                raise DefinitionError(f"segment_id: no such segment ({segment_id})")
            self.segments[segment_id] = self.members(saved, (*stack, segment_id))
        return self.segments[segment_id]


class UserFacts:
    """What a condition type reads of one user: the timeline, the traits, the other segments."""

    def __init__(self, evaluator: _Evaluator, user: str, stack: tuple[int, ...]) -> None:
        self.now = evaluator.now
        self.timeline = evaluator.timelines[user]
        self.traits = evaluator.properties.get(user) or {}
        self._evaluator = evaluator
        self._user = user
        self._stack = stack

    def of_type(self, event_type: str) -> Timeline:
        return [e for e in self.timeline if e.event_type == event_type]

    def in_segment(self, segment_id: int) -> bool:
        return self._user in self._evaluator.segment(segment_id, self._stack)

    def in_window(self, events: Timeline, window_days: int | None) -> Timeline:
        """In the last window_days days: strictly after now - window_days * 86400 s."""
        if window_days is None:
            return events
        start = self.now - timedelta(days=window_days)
        return [e for e in events if e.at > start]

    def days_since(self, events: Timeline) -> Fraction | float:
        """Days since the last one, exactly; never done is infinitely long ago."""
        if not events:
            return math.inf
        delta = self.now - max(e.at for e in events)
        micros = (delta.days * SECONDS_PER_DAY + delta.seconds) * 1_000_000 + delta.microseconds
        return Fraction(micros, SECONDS_PER_DAY * 1_000_000)
