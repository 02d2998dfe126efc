"""What the condition types on aggregates of one event type share (a count, a last time, a sum).

Each such condition reads one value per user from a grouped subquery over its event type (one
scan and GROUP BY for every condition on that type). A user without such events has no row
there, so the condition states what it says of zero events (`absent`); when that is false and
the definition's top level is an AND, the type's GROUP BY drives the query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions.base import ConditionType
from segops_server.segments.rules.conditions.sqltext import Sql, sql
from segops_server.segments.rules.conditions.values import NUMERIC_OPERATORS, positive

if TYPE_CHECKING:
    from segops_server.ingestion.models import Event
    from segops_server.segments.rules.compiler import Compiler, Group, Scope


class AggregateType(ConditionType):
    operators = NUMERIC_OPERATORS

    def absent(self, condition: dict[str, Any]) -> bool:
        """What the condition says of a user with no events of its type."""
        raise NotImplementedError

    def predicate(self, compiler: Compiler, condition: dict[str, Any], op: str, group: Group) -> Sql:
        """The positive operator's test on a user who has a row in the group; never NULL there."""
        raise NotImplementedError

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        return frozenset([str(condition["event_type"])])  # the aggregate reads only its own type

    def driving_event_type(self, condition: dict[str, Any]) -> str | None:
        return None if self.absent(condition) else str(condition["event_type"])

    def time_windows(self, condition: dict[str, Any]) -> list[tuple[str, str, float]]:
        # A windowed count or sum changes when the oldest event inside the window leaves it.
        window = condition.get("window_days")
        return [] if window is None else [("first", str(condition["event_type"]), float(window))]

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        group = compiler.group_of(scope, condition["event_type"])
        op, negate = positive(condition["operator"])
        inner = self.predicate(compiler, condition, op, group)
        present = sql("NOT {i}", i=inner) if negate else inner
        if group is scope.driver:
            return present  # every row of the driving group has such events
        # A user without such events has no row: the condition is what it is for zero events.
        if self.absent(condition):
            return sql("({g}.user_id IS NULL OR {p})", g=group.alias, p=present)
        return sql("({g}.user_id IS NOT NULL AND {p})", g=group.alias, p=present)


def in_window(events: list[Event], condition: dict[str, Any], now: datetime) -> list[Event]:
    """Explain's events of the condition's type within its window (all of them without one)."""
    of_type = [e for e in events if e.event_type == condition.get("event_type")]
    window = condition.get("window_days")
    if window is None:
        return of_type
    return [e for e in of_type if e.occurred_at > now - timedelta(days=window)]
