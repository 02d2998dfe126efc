"""The segment semantics in plain Python: the oracle the compiled SQL is tested against.

Written for clarity, not speed (one user's history at a time, exact rational arithmetic);
docs/segments.md states the same rules in prose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from segops_server.segments.dsl import DefinitionError, LookupDefinition, definition_validate, positive
from segops_server.segments.regex import regex_search

# A plain decimal number: optional minus, digits, optional fraction. "1e3", " 1", "1." are text.
PLAIN_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MISSING = object()  # a property that is not there at all (unlike JSON null)
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class _Event:
    key: tuple[datetime, int]  # (occurred_at, id): the order of a user's timeline
    event_type: str
    payload: dict[str, Any]

    @property
    def at(self) -> datetime:
        return self.key[0]


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
        kind = condition.get("type")
        timeline = self.timelines[user]
        if kind is None:
            return self.group(condition, user, stack)
        if kind == "segment_membership":
            inside = user in self.segment(condition["segment_id"], stack)
            return inside if condition["operator"] == "in" else not inside
        if kind == "event_sequence":
            return sequence_matches(condition, timeline)
        if kind == "user_property":
            traits = self.properties.get(user) or {}
            return property_matches(traits.get(condition["property"], MISSING), condition)
        of_type = [e for e in timeline if e.event_type == condition["event_type"]]
        if kind == "event_property":
            latest = of_type[-1].payload.get(condition["property"], MISSING) if of_type else MISSING
            return property_matches(latest, condition)
        if kind == "recency":
            return compare(self.days_since(of_type), condition["operator"], condition["window_days"])
        in_window = self.in_window(of_type, condition["window_days"])
        if kind == "event_count":
            return compare(Fraction(len(in_window)), condition["operator"], condition["value"])
        return compare(
            aggregate(
                condition["metric"], [e.payload.get(condition["property"], MISSING) for e in in_window]
            ),
            condition["operator"],
            condition["value"],
        )

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

    def in_window(self, events: list[_Event], window_days: int | None) -> list[_Event]:
        """In the last window_days days: strictly after now - window_days * 86400 s."""
        if window_days is None:
            return events
        start = self.now - timedelta(days=window_days)
        return [e for e in events if e.at > start]

    def days_since(self, events: list[_Event]) -> Fraction | float:
        """Days since the last one, exactly; never done is infinitely long ago."""
        if not events:
            return math.inf
        delta = self.now - max(e.at for e in events)
        micros = (delta.days * SECONDS_PER_DAY + delta.seconds) * 1_000_000 + delta.microseconds
        return Fraction(micros, SECONDS_PER_DAY * 1_000_000)


def exact(value: Any) -> Fraction | None:
    """A number as an exact fraction, as PostgreSQL's numeric reads it from JSON text.

    JSON numbers count; so do strings that are plain decimals ("12.5", "-3", "007").
    Booleans, null, other strings, lists and objects are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        # JSON carries the shortest repr ("0.1"), which is what the database reads back.
        return Fraction(Decimal(repr(value))) if math.isfinite(value) else None
    if isinstance(value, str) and PLAIN_DECIMAL_RE.fullmatch(value):
        return Fraction(Decimal(value))
    return None


def aggregate(metric: str, raw: Iterable[Any]) -> Fraction | None:
    """sum over no numbers is 0; avg and max over no numbers have no value (None)."""
    numbers = [n for n in (exact(v) for v in raw) if n is not None]
    if metric == "sum":
        return sum(numbers, Fraction(0))
    if not numbers:
        return None
    if metric == "avg":
        return sum(numbers, Fraction(0)) / len(numbers)
    return max(numbers)


def absent_truth(condition: dict[str, Any]) -> bool:
    """What an event_count, recency or monetary condition says of a user with no such events."""
    if condition["type"] == "event_count":
        return compare(Fraction(0), condition["operator"], condition["value"])
    if condition["type"] == "recency":
        return compare(math.inf, condition["operator"], condition["window_days"])
    return compare(aggregate(condition["metric"], []), condition["operator"], condition["value"])


def compare(subject: Fraction | float | None, operator: str, value: Any) -> bool:
    """A number (or no value: None, always false before negation) against the condition's value."""
    op, negate = positive(operator)
    return _compare(subject, op, value) != negate


def _compare(subject: Fraction | float | None, op: str, value: Any) -> bool:
    if subject is None:
        return False
    if op == "between":
        return _number(value[0]) <= subject <= _number(value[1])
    if op == "in":
        return any(subject == _number(v) for v in value)
    target = _number(value)
    return {
        "eq": subject == target,
        "gt": subject > target,
        "gte": subject >= target,
        "lt": subject < target,
        "lte": subject <= target,
    }[op]


def _number(value: Any) -> Fraction:
    number = exact(value)
    if number is None:
        raise TypeError(f"not a number: {value!r}")
    return number


def property_matches(found: Any, condition: dict[str, Any]) -> bool:
    """A property (MISSING if absent) against the condition's operator and value."""
    op, negate = positive(condition["operator"])
    return _property_positive(found, op, condition.get("value")) != negate


def _property_positive(found: Any, op: str, value: Any) -> bool:
    if op == "is_set":
        return found is not MISSING and found is not None
    if op == "is_true":
        return found is True
    if op == "is_false":
        return found is False
    if op in ("eq", "in"):
        return any(_equals(found, v) for v in (value if op == "in" else [value]))
    if op in ("gt", "gte", "lt", "lte", "between"):
        number = None if found is MISSING else exact(found)
        return _compare(number, op, value)
    if not isinstance(found, str):
        return False  # text operators apply to strings only
    if op == "contains":
        return value in found
    if op == "starts_with":
        return bool(found.startswith(value))
    if op == "ends_with":
        return bool(found.endswith(value))
    if op == "matches_regex":
        return regex_search(value, found)
    raise ValueError(f"unknown operator {op!r}")


def _equals(found: Any, value: Any) -> bool:
    """Booleans equal JSON booleans; numbers compare numerically; strings equal strings only."""
    if found is MISSING:
        return False
    if isinstance(value, bool):
        return found is value
    if isinstance(value, str):
        return isinstance(found, str) and found == value
    number = exact(found)
    return number is not None and number == _number(value)


def sequence_matches(condition: dict[str, Any], timeline: list[_Event]) -> bool:
    """event_sequence on one user's timeline (sorted by occurred_at, then id)."""
    steps: list[str] = condition["events"]
    window = condition["window_days"]
    limit = None if window is None else timedelta(days=window)
    if condition["strict"]:
        # Consecutive events of the user's own timeline, nothing in between.
        for start in range(len(timeline) - len(steps) + 1):
            run = timeline[start : start + len(steps)]
            if [e.event_type for e in run] == steps and (limit is None or run[-1].at - run[0].at <= limit):
                return True
        return False
    # Any later events will do; from each possible first step, taking the earliest event for
    # every next step finishes soonest, so it is the one to check against the window.
    for start, first in enumerate(timeline):
        if first.event_type != steps[0]:
            continue
        position, last = start, first
        for step in steps[1:]:
            position = next(
                (i for i in range(position + 1, len(timeline)) if timeline[i].event_type == step), -1
            )
            if position < 0:
                break
            last = timeline[position]
        else:
            if limit is None or last.at - first.at <= limit:
                return True
    return False
