"""When time alone changes a user's membership: the next such moment, kept as a due queue row.

A windowed count or sum changes when the user's oldest event inside the window leaves it (its
time + window); days-since-last changes when the time since the user's last event passes a
compared number (last + days: at that moment for strict comparisons, just after it for the
others, so both are woken). After each evaluation the user's next moment over all the tenant's
real-time segments (and the segments they reference) becomes the due time of their queue row:
the evaluator acts on it like on an event, and sets the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min

from segops_server.ingestion.models import Event
from segops_server.segments.models import Segment
from segops_server.segments.rules.conditions import condition_type

CHUNK = 500  # users per write of the timers after a compute
TICK = timedelta(microseconds=1)  # "just after" a moment, at the database's resolution

Window = tuple[str, str, float]  # ("first" | "last", event_type, days)


def definition_windows(
    definition: dict[str, Any], lookup: Callable[[int], dict[str, Any] | None], seen: set[int] | None = None
) -> set[Window]:
    """Every time window of a definition, through nested groups and referenced segments."""
    seen = set() if seen is None else seen
    found: set[Window] = set()
    for condition in definition.get("conditions", []):
        if not isinstance(condition, dict):
            continue
        kind = condition_type(condition.get("type"))
        if kind is None:
            found |= definition_windows(condition, lookup, seen)
            continue
        found.update(kind.time_windows(condition))
        referenced = kind.referenced_segment(condition)
        if referenced is not None and referenced not in seen:
            seen.add(referenced)
            nested = lookup(referenced)
            if nested is not None:
                found |= definition_windows(nested, lookup, seen)
    return found


def segments_windows(segments: list[Segment], lookup: Callable[[int], dict[str, Any] | None]) -> set[Window]:
    found: set[Window] = set()
    for segment in segments:
        version = segment.computed_version
        definition = version.definition if version is not None else segment.definition
        if isinstance(definition, dict):
            found |= definition_windows(definition, lookup)
    return found


def next_moments(
    *, tenant_id: int, user_ids: list[str] | None, windows: set[Window], now: datetime
) -> dict[str, datetime]:
    """Each user's next moment after `now` at which time alone may change a membership (every
    user of the tenant when `user_ids` is None)."""
    due: dict[str, datetime] = {}

    def consider(user_id: str, moment: datetime) -> None:
        if moment <= now:
            moment += TICK
        if moment > now and (user_id not in due or moment < due[user_id]):
            due[user_id] = moment

    events = Event.objects.for_tenant(tenant_id)
    if user_ids is not None:
        events = events.filter(user_id__among=user_ids)
    for which, event_type, days in sorted(windows):
        window = timedelta(days=days)
        of_type = events.filter(event_type=event_type)
        if which == "first":
            # The oldest event still inside the window: it leaves it first.
            rows = (
                of_type.filter(occurred_at__gt=now - window).values("user_id").annotate(at=Min("occurred_at"))
            )
        else:
            # The last event, of users whose last event is inside the window: for the others
            # last + window is past already (read only the window's events, not every user's).
            recent = of_type.filter(occurred_at__gte=now - window)
            rows = recent.values("user_id").annotate(at=Max("occurred_at"))
        for row in rows:
            moment = row["at"] + window
            if moment >= now:
                consider(row["user_id"], moment)
    return due


def timers_after_compute(
    *, segment: Segment, lookup: Callable[[int], dict[str, Any] | None], now: datetime
) -> int:
    """After a compute of a real-time segment with time windows: every user's next moment, so
    membership moves with time from the new set on (users without one need no row)."""
    from segops_server.segments.live.queue import users_enqueue_at

    if not segment.realtime:
        return 0
    windows = segments_windows([segment], lookup)
    if not windows:
        return 0
    due = next_moments(tenant_id=segment.tenant_id, user_ids=None, windows=windows, now=now)
    users = sorted(due)
    for start in range(0, len(users), CHUNK):
        with transaction.atomic():
            users_enqueue_at(
                tenant_id=segment.tenant_id, dues={u: due[u] for u in users[start : start + CHUNK]}
            )
    return len(users)
