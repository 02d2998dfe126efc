"""event_sequence: the user did these event types in this order (within N days; strictly in a row)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from segops_server.segments.rules.conditions import form
from segops_server.segments.rules.conditions.base import ConditionType, DefinitionError
from segops_server.segments.rules.conditions.sqltext import Sql, joined, sql
from segops_server.segments.rules.conditions.values import MAX_SEQUENCE_STEPS, event_type, optional_days

if TYPE_CHECKING:
    from segops_server.segments.rules.compiler import Compiler, Scope
    from segops_server.segments.rules.reference import Timeline, UserFacts


class EventSequence(ConditionType):
    name = "event_sequence"
    label = "Event sequence — did A, then B"
    required = ("events",)
    optional = {"window_days": None, "strict": False}
    form_names = ("events", "window_days", "strict")

    def validate(self, fields: dict[str, Any], path: str) -> dict[str, Any]:
        events = fields["events"]
        if not isinstance(events, list) or not 2 <= len(events) <= MAX_SEQUENCE_STEPS:
            raise DefinitionError(
                f"{path}.events: must be a list of 2 to {MAX_SEQUENCE_STEPS} event types, in order"
            )
        result: dict[str, Any] = {
            "events": [event_type(e, f"{path}.events[{i}]") for i, e in enumerate(events)]
        }
        result["window_days"] = optional_days(fields["window_days"], f"{path}.window_days")
        if not isinstance(fields["strict"], bool):
            raise DefinitionError(f"{path}.strict: must be true or false")
        result["strict"] = fields["strict"]
        return result

    def sql(self, compiler: Compiler, condition: dict[str, Any], scope: Scope, stack: tuple[int, ...]) -> Sql:
        steps: list[str] = condition["events"]
        window = condition["window_days"]
        chains = _strict(compiler, steps, window) if condition["strict"] else _chains(compiler, steps, window)
        return sql("{u}.user_id IN ({sub})", u=scope.users, sub=chains)

    def event_types(self, condition: dict[str, Any]) -> frozenset[str] | None:
        # A strict sequence is broken by any event between two steps; a loose one reads its steps.
        if condition.get("strict"):
            return None
        return frozenset(str(step) for step in condition.get("events", []))

    def evaluate(self, condition: dict[str, Any], user: UserFacts) -> bool:
        return sequence_matches(condition, user.timeline)

    def form_fields(self, values: dict[str, str], segments: list[tuple[int, str]]) -> list[form.RowField]:
        steps = values.get("events", "")
        return [
            form.RowField(
                "events", "Events, in order", "text", steps, placeholder="signup, purchase", wide=True
            ),
            form.window_field(values, "Within (days)"),
            form.RowField("strict", "Strictly consecutive", "check", values.get("strict", "")),
        ]

    def from_form(self, values: dict[str, str]) -> dict[str, Any]:
        return {
            "events": [e for e in re.split(r"[\s,>→]+", values.get("events", "")) if e],
            "window_days": form.parse_optional_whole(values.get("window_days", "")),
            "strict": values.get("strict") in ("on", "true", "1"),
        }

    def to_form(self, condition: dict[str, Any]) -> dict[str, str]:
        return {
            "window_days": form.form_text(condition.get("window_days"), scalar=False),
            "events": ", ".join(condition.get("events") or []),
            "strict": "on" if condition.get("strict") else "",
        }


def sequence_matches(condition: dict[str, Any], timeline: Timeline) -> bool:
    """The meaning on one user's timeline (sorted by occurred_at, then id)."""
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


def _within(compiler: Compiler, start: str, end: str, window_days: int | None) -> Sql:
    """end - start <= window_days days, exactly (microseconds count)."""
    if window_days is None:
        return Sql("")
    return sql(" AND {s} >= {before}", s=start, before=compiler.days_before(end, window_days))


def _chains(compiler: Compiler, steps: list[str], window: int | None) -> Sql:
    # For each event of step k: the latest start of a chain of steps 1..k ending at it
    # (a running MAX over the user's earlier step k-1 events, ordered by occurred_at, id).
    # Each step is a named CTE over the previous one rather than a subquery nested in it:
    # SQLite's parser overflows past four steps of nesting ("parser stack overflow").
    name = compiler.alias("c")
    ctes = [
        sql(
            "{n} AS (SELECT user_id, occurred_at, id, occurred_at AS best {events})",
            n=name,
            events=compiler.of_type(steps[0]),
        )
    ]
    for step in steps[1:]:
        # kind 0 (this step) sorts before kind 1 (the previous step) for the same event,
        # so an event never follows itself when two steps have the same type.
        merged = sql(
            "SELECT user_id, occurred_at, id, 1 AS kind, best FROM {chain} UNION ALL "
            "SELECT user_id, occurred_at, id, 0 AS kind, {null} {events}",
            chain=name,
            null="CAST(NULL AS timestamptz)" if compiler.pg else "NULL",
            events=compiler.of_type(step),
        )
        ranked = sql(
            "SELECT user_id, occurred_at, id, kind, MAX(best) OVER (PARTITION BY user_id "
            "ORDER BY occurred_at, id, kind ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS best "
            "FROM ({merged}) {m}",
            merged=merged,
            m=compiler.alias("m"),
        )
        # A chain already longer than the window cannot end within it later: dropped early.
        name = compiler.alias("c")
        ctes.append(
            sql(
                "{n} AS (SELECT user_id, occurred_at, id, best FROM ({ranked}) {r} "
                "WHERE kind = 0 AND best IS NOT NULL{within})",
                n=name,
                ranked=ranked,
                r=compiler.alias("r"),
                within=_within(compiler, "best", "occurred_at", window),
            )
        )
    return sql("WITH {ctes} SELECT user_id FROM {last}", ctes=joined(", ", ctes), last=name)


def _strict(compiler: Compiler, steps: list[str], window: int | None) -> Sql:
    """Consecutive events of the user's timeline: LEAD over all the user's events."""
    leads = [Sql("event_type AS s0")] + [
        Sql(f"LEAD(event_type, {i}) OVER w AS s{i}") for i in range(1, len(steps))
    ]
    leads.append(Sql(f"occurred_at AS first_at, LEAD(occurred_at, {len(steps) - 1}) OVER w AS last_at"))
    matches = joined(" AND ", [sql(f"s{i} = {{t}}", t=compiler.text(t)) for i, t in enumerate(steps)])
    return sql(
        "SELECT user_id FROM (SELECT user_id, {leads} FROM {events} WHERE {scan} "
        "WINDOW w AS (PARTITION BY user_id ORDER BY occurred_at, id)) {x} WHERE {matches}{within}",
        events=compiler.events,
        leads=joined(", ", leads),
        scan=compiler.scan(),
        x=compiler.alias("x"),
        matches=matches,
        within=_within(compiler, "first_at", "last_at", window),
    )
