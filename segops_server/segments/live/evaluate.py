"""Real-time evaluation: the claimed users checked against each real-time segment of their tenant,
and the difference applied to the segment's current member set.

A segment is evaluated for a batch of users with its compiled rule restricted to those users
(definition_compile's `only_users`), a read outside any transaction. The difference with the
current generation's rows is then applied, for all the round's segments, in one short transaction
(one commit a round) that takes each segment's row in primary-key order (an UPDATE that changes
nothing, unless a compute runs or the generation moved: that segment is left out), and renews the
lease on the users last: a compute that claims the segment after it sees the applied rows and
every event read; a compute that claimed it before makes the evaluation wait (the users stay
pending and are evaluated against the new generation once it is swapped in). So live changes and
computes never interleave into a wrong set.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.analytics.services import segment_size_record
from segops_server.core.sqllists import json_param, rows_sql
from segops_server.core.workers import worker_id
from segops_server.identity.selectors import edges_exist, users_resolve
from segops_server.ingestion.models import Event
from segops_server.ingestion.services import profiles_fold_pending
from segops_server.segments.delivery import snapshots
from segops_server.segments.live import queue
from segops_server.segments.live.gate import LIVE
from segops_server.segments.live.timers import Window, next_moments, segments_windows
from segops_server.segments.live.triggers import (
    Recent,
    Triggers,
    definition_triggers,
    events_since,
    windows_crossed,
)
from segops_server.segments.members import stay_covers
from segops_server.segments.models import ChangeKind, ComputeState, Segment, SegmentChange, SegmentMember
from segops_server.segments.rules.lookup import definition_lookup
from segops_server.segments.rules.tenant_compile import events_catch_up, tenant_definition_compile
from segops_server.webhooks.outbox import live_outbox_write

logger = logging.getLogger("segops.live")

SLOW_ROUND_SECONDS = 1.0  # a round taking longer is logged (users, seconds)
RETRY = timedelta(seconds=1)  # a user waiting for a compute to finish is tried again this soon


@dataclass
class Outcome:
    """What a batch did: changes applied, segments that were busy (their users stay pending)."""

    entered: int = 0
    exited: int = 0
    busy: set[int] = field(default_factory=set)
    # Users with events not in ClickHouse yet (that engine only): evaluated in a later round.
    waiting: set[str] = field(default_factory=set)
    evaluations: int = 0  # segments evaluated (each for the users it can have changed for)
    evaluated: int = 0  # (segment, user) pairs evaluated
    # Where the round's time went: "fold" (pending profile deltas), "reads" (timers, what
    # changed), "rules", "apply".
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    next_due: dict[str, datetime] = field(default_factory=dict)  # when time changes them next


def live_round(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    owner: str | None = None,
    out: Outcome | None = None,
) -> int:
    """Claim the due users (up to `limit`), evaluate them, let their rows go; returns how many.
    `owner` names the leases (this process's worker id, and the evaluator thread's number); `out`,
    if given, receives the round's totals (bench/live_round.py reads where the time went)."""
    owner = owner or worker_id()
    now = now or timezone.now()
    started = time.monotonic()
    rows = queue.users_claim(owner=owner, now=now, limit=limit or queue.batch_size())
    by_tenant: dict[int, list[queue.Claimed]] = defaultdict(list)
    for row in rows:
        by_tenant[row.tenant_id].append(row)
    total = out if out is not None else Outcome()
    for tenant_id, claimed in by_tenant.items():
        outcome = users_evaluate(tenant_id=tenant_id, claimed=claimed, owner=owner, now=now)
        total.evaluations += outcome.evaluations
        total.evaluated += outcome.evaluated
        for part, seconds in outcome.seconds.items():
            total.seconds[part] += seconds
        if outcome.busy:
            queue.users_later(rows=claimed, owner=owner, due_at=now + RETRY)
            continue
        later = [row for row in claimed if row.user_id in outcome.waiting]
        queue.users_later(rows=later, owner=owner, due_at=now + RETRY)
        done = [row for row in claimed if row.user_id not in outcome.waiting]
        queue.users_done(rows=done, owner=owner, next_due=outcome.next_due)
    took = time.monotonic() - started
    if took > SLOW_ROUND_SECONDS:  # where 202-to-membership latency goes under load
        parts = ", ".join(f"{part} {seconds:.2f}" for part, seconds in sorted(total.seconds.items()))
        logger.info(
            "Real-time round: %d users, %d segment evaluations of %d users, %.2f s (%s)",
            len(rows),
            total.evaluations,
            total.evaluated,
            took,
            parts,
        )
    return len(rows)


def live_segments(tenant_id: int) -> list[Segment]:
    """The tenant's segments kept in real time (LIVE), a first compute's included: its users
    wait for it, as events it may not have read reached them."""
    return list(
        Segment.objects.for_tenant(tenant_id)
        .select_related("computed_version")
        .filter(LIVE)
        .filter(Q(generation__gt=0) | Q(compute_state=ComputeState.RUNNING))
        .order_by("pk")
    )


def users_evaluate(*, tenant_id: int, claimed: list[queue.Claimed], owner: str, now: datetime) -> Outcome:
    """Evaluate the claimed users in each real-time segment of the tenant their events (or time)
    can have changed them in (triggers.py), and apply the changes."""
    outcome = Outcome()
    segments = live_segments(tenant_id)
    if not segments:
        return outcome
    clock = time.monotonic()
    profiles_fold_pending(tenant_id=tenant_id)  # the profiles (traits) the rules read
    outcome.seconds["fold"] += time.monotonic() - clock
    clock = time.monotonic()
    tenant = Tenant.objects.get(pk=tenant_id)
    lookup = definition_lookup(tenant)
    windows = segments_windows(segments, lookup)
    user_ids = [row.user_id for row in claimed]
    outcome.waiting = _not_shipped(tenant_id, user_ids)
    user_ids = [u for u in user_ids if u not in outcome.waiting]
    since = min(row.due_at for row in claimed)
    # An event sent under an alias or a merged id counts for the user it resolves to: that user
    # is the one whose membership can change. The events are stored under the ids sent, so the
    # narrowing below cannot follow them: such a tenant's users are evaluated in every segment.
    narrow = not edges_exist(tenant=tenant)
    if not narrow:
        user_ids = users_resolve(tenant=tenant, user_ids=user_ids)
    if windows:
        outcome.next_due = next_moments(tenant_id=tenant_id, user_ids=user_ids, windows=windows, now=now)
    if narrow:
        recent = events_since(tenant_id=tenant_id, user_ids=user_ids, since=since)
        crossed = (
            windows_crossed(tenant_id=tenant_id, user_ids=user_ids, windows=windows, since=since, now=now)
            if windows
            else {}
        )
    outcome.seconds["reads"] += time.monotonic() - clock
    evaluated: list[Evaluated] = []
    for segment in segments:
        # The rule of the member set being kept: the definition it was computed with.
        version = segment.computed_version
        definition = version.definition if version is not None else segment.definition
        assert definition is not None
        users = user_ids
        if narrow:
            users = _users_for(definition_triggers(definition, lookup, now), user_ids, recent, crossed)
            if not users:
                continue
        if segment.compute_state == ComputeState.RUNNING:
            outcome.busy.add(segment.pk)
            continue
        outcome.evaluations += 1
        outcome.evaluated += len(users)
        clock = time.monotonic()
        try:
            sql, params = tenant_definition_compile(
                definition, tenant=tenant, now=now, lookup=lookup, only_users=users, ship=False
            )
        except Exception:  # a rule broken since (a deleted reference): its next compute says so
            logger.warning("Segment %s: its rule no longer compiles; not kept live", segment.pk)
            continue
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            matched = {row[0] for row in cursor.fetchall()}
        evaluated.append(Evaluated(segment=segment, user_ids=users, matched=matched))
        outcome.seconds["rules"] += time.monotonic() - clock
    clock = time.monotonic()
    _apply(tenant=tenant, evaluated=evaluated, lease=Lease(rows=claimed, owner=owner, now=now), out=outcome)
    outcome.seconds["apply"] += time.monotonic() - clock
    return outcome


def _not_shipped(tenant_id: int, user_ids: list[str]) -> set[str]:
    """On the ClickHouse engine, after shipping what has settled (once a round, not once a
    segment): the users with an event ClickHouse does not hold yet. Evaluating them now would
    miss it, so they wait for a later round (about SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS; longer
    while they send events more often than that). None on the database engine."""
    through = events_catch_up()
    if through is None:
        return set()
    recent = Event.objects.for_tenant(tenant_id).filter(user_id__in=user_ids, pk__gt=through)
    return set(recent.values_list("user_id", flat=True).distinct())


def _users_for(
    triggers: Triggers, user_ids: list[str], recent: Recent, crossed: dict[Window, set[str]]
) -> list[str]:
    """Of `user_ids`, those whose new events or crossed windows can change the segment."""
    timed: set[str] = set()
    for window in triggers.windows:
        timed |= crossed.get(window, set())
    return [u for u in user_ids if u in timed or recent.changed(u, triggers)]


@dataclass(frozen=True)
class Lease:
    """The claimed rows a change is applied for, held again in the applying transaction."""

    rows: list[queue.Claimed]
    owner: str
    now: datetime


@dataclass(frozen=True)
class Evaluated:
    """One segment's answer for the users it was evaluated for: those of them its rule matched."""

    segment: Segment
    user_ids: list[str]
    matched: set[str]


def _apply(*, tenant: Tenant, evaluated: list[Evaluated], lease: Lease, out: Outcome) -> None:
    """Apply the round's differences in one transaction (one commit a round, not one a segment),
    taking the segments' rows in primary-key order; a segment a compute took first is left out
    (busy). Last, the lease on the users is renewed: if it lapsed (another worker evaluates
    them), nothing is applied. Every round locks in that order (segments by key, then queue
    rows), so two evaluators applying at once wait for each other, never deadlock; and the
    queue rows, which ingestion updates, are held only for the commit."""
    entered = exited = 0
    with transaction.atomic():
        for item in evaluated:
            difference = _segment_difference(tenant=tenant, item=item)
            if difference is None:
                out.busy.add(item.segment.pk)
            elif difference[0] or difference[1]:
                _segment_change(tenant=tenant, segment=item.segment, difference=difference, now=lease.now)
                entered += len(difference[0])
                exited += len(difference[1])
        if not entered and not exited:
            return
        if not queue.users_hold(rows=lease.rows, owner=lease.owner, now=lease.now):
            transaction.set_rollback(True)
            out.busy.update(item.segment.pk for item in evaluated)
            return
        transaction.on_commit(snapshots.changed)
    out.entered += entered
    out.exited += exited


def _segment_difference(*, tenant: Tenant, item: Evaluated) -> tuple[list[str], list[str]] | None:
    """In the applying transaction: take the segment's row (an UPDATE that changes nothing, unless
    a compute runs or the generation moved: then None), and the users who entered and exited."""
    segment = item.segment
    held = (
        Segment.objects.for_tenant(tenant)
        .filter(pk=segment.pk, generation=segment.generation)
        .exclude(compute_state=ComputeState.RUNNING)
        .update(generation=F("generation"))
    )
    if not held:
        return None
    current = _members_among(tenant, segment.pk, segment.generation, item.user_ids)
    return sorted(item.matched - current), sorted(current - item.matched)


def _segment_change(
    *, tenant: Tenant, segment: Segment, difference: tuple[list[str], list[str]], now: datetime
) -> None:
    """Write one segment's difference: members, change feed, size, webhook and activation outbox."""
    generation = segment.generation
    entered, exited = difference
    if exited:  # their stays end now: deleted, as no reader holds an older generation of them
        SegmentMember.objects.for_tenant(tenant).filter(
            stay_covers(generation), segment_id=segment.pk, user_id__in=exited
        ).delete()
    head = [tenant.pk, segment.pk, generation]
    at = connection.ops.adapt_datetimefield_value(now)
    _insert_each(
        f"INSERT INTO {SegmentMember._meta.db_table} "  # noqa: S608
        "(tenant_id, segment_id, generation, until_generation, user_id, computed_at) "
        "SELECT %s, %s, %s, NULL, {user}, %s FROM {users}",
        [*head, at],
        entered,
    )
    for kind, users in ((ChangeKind.EXITED, exited), (ChangeKind.ENTERED, entered)):  # exits first
        _insert_each(
            f"INSERT INTO {SegmentChange._meta.db_table} "  # noqa: S608
            "(tenant_id, segment_id, generation, user_id, change, at) "
            "SELECT %s, %s, %s, {user}, %s, %s FROM {users}",
            [*head, kind.value, at],
            users,
        )
    Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
        member_count=F("member_count") + len(entered) - len(exited), last_live_change_at=now
    )
    count = Segment.objects.for_tenant(tenant).values_list("member_count", flat=True).get(pk=segment.pk)
    segment_size_record(segment_id=segment.pk, tenant_id=tenant.pk, day=now.date(), count=count)
    # The webhooks' deliveries and the activations' syncs of these changes, in this transaction.
    live_outbox_write(
        tenant=tenant,
        segment=segment,
        generation=generation,
        users={"entered": entered, "exited": exited},
        now=now,
    )


def _insert_each(sql: str, params: list[Any], user_ids: list[str]) -> None:
    """Run `sql` (an INSERT ... SELECT with `{user}` and `{users}` to fill) once for all of
    `user_ids`, in their order: the list is one parameter (core/sqllists.py), so a round's
    thousands of rows are neither model objects nor a placeholder each."""
    if not user_ids:
        return
    with connection.cursor() as cursor:
        users = f"({rows_sql([('user_id', 'text')])}) AS u"
        rows = json_param([u] for u in user_ids)
        cursor.execute(sql.format(user="u.user_id", users=users), [*params, rows])


def _members_among(tenant: Tenant, segment_id: int, generation: int, user_ids: list[str]) -> set[str]:
    """Which of `user_ids` are in the member set (the list as one parameter)."""
    return set(
        SegmentMember.objects.for_tenant(tenant)
        .filter(stay_covers(generation), segment_id=segment_id, user_id__among=user_ids)
        .values_list("user_id", flat=True)
    )
