"""The condition types of the rule language, one module each, looked up by name in one table.

docs/segments.md documents each type; the order here is the order of error messages and of the
rule builder's choices.
"""

from __future__ import annotations

from segops_server.segments.rules.conditions.base import ConditionType
from segops_server.segments.rules.conditions.event_count import EventCount
from segops_server.segments.rules.conditions.event_property import EventProperty
from segops_server.segments.rules.conditions.event_sequence import EventSequence
from segops_server.segments.rules.conditions.monetary import Monetary
from segops_server.segments.rules.conditions.recency import Recency
from segops_server.segments.rules.conditions.segment_membership import SegmentMembership
from segops_server.segments.rules.conditions.user_property import UserProperty

REGISTRY: dict[str, ConditionType] = {
    kind.name: kind
    for kind in (
        EventCount(),
        Recency(),
        Monetary(),
        EventProperty(),
        UserProperty(),
        EventSequence(),
        SegmentMembership(),
    )
}
CONDITION_TYPES = tuple(REGISTRY)


def condition_type(name: object) -> ConditionType | None:
    """The type called `name`, or None for anything else (a JSON list or object included)."""
    return REGISTRY.get(name) if isinstance(name, str) else None
