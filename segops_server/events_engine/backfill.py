"""Moving an existing installation to ClickHouse: copy the events already stored, then check
each tenant's count on both sides.

The copy is the worker's shipping (shipping.py), run in a loop until the cursor passes the
newest event present at the start: the same cursor row, lock and deduplication tokens. So a
backfill stopped anywhere continues from the cursor when run again, a batch shipped twice is
dropped by ClickHouse, and a worker shipping at the same time takes turns with it on the lock
(whichever holds it ships the next batch; the other starts from where it left the cursor).

The check never repairs: a count that differs is reported, and what to do is the operator's
call (docs/architecture.md, "Moving an existing installation").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count

from segops_server.accounts.models import Tenant
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.shipping import BATCH, events_ship_next, events_shipped_between
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event, EventShipCursor

# How long to wait before asking again when the events left are not settled yet (received less
# than SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS ago, shipping.py): a fraction of that delay.
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill copies: the events with an id in (after_id, upto_id], `total` of them."""

    after_id: int  # the cursor when it started: everything up to it is in ClickHouse already
    upto_id: int  # the newest event stored when it started
    total: int


@dataclass(frozen=True)
class TenantCount:
    """One tenant's events up to the last shipped id, in the database and in ClickHouse."""

    tenant_id: int
    slug: str
    database: int
    clickhouse: int

    @property
    def ok(self) -> bool:
        return self.database == self.clickhouse


def ship_cursor() -> int:
    """The last event id shipped to ClickHouse (0 before the first batch)."""
    return EventShipCursor.objects.filter(pk=1).values_list("last_event_id", flat=True).first() or 0


def backfill_plan() -> BackfillPlan:
    """The events to copy: those stored now and past the cursor."""
    after = ship_cursor()
    newest = Event.objects.unscoped_all_tenants().order_by("-pk").values_list("pk", flat=True).first() or 0
    upto = max(after, newest)
    return BackfillPlan(after_id=after, upto_id=upto, total=events_shipped_between(after, upto))


def events_backfill(
    transport: Transport,
    plan: BackfillPlan,
    *,
    batch: int = BATCH,
    settle: timedelta | None = None,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Ship batches until the cursor reaches `plan.upto_id`, calling `progress(copied)` after
    each; the cursor at the end. Batches shipped meanwhile by a worker count as copied too."""
    seen = plan.after_id
    copied = 0
    while seen < plan.upto_id:
        before, last = events_ship_next(transport, batch=batch, settle=settle)
        reached = min(max(before, last), plan.upto_id)
        if reached > seen:
            copied += events_shipped_between(seen, reached)
            seen = reached
            if progress is not None:
                progress(copied)
        elif last == before:
            # Nothing was ready: the events left are not settled yet, or were deleted with their
            # tenant since the start (then there is nothing left to wait for).
            if not Event.objects.unscoped_all_tenants().filter(pk__gt=before, pk__lte=plan.upto_id).exists():
                break
            sleep(POLL_SECONDS)
    return ship_cursor()


def events_counts_compare(transport: Transport, *, upto_id: int) -> list[TenantCount]:
    """Each tenant's count of events with an id up to `upto_id` in the database and in
    ClickHouse, by slug. Both sides stop at the same id, so batches shipped after it (a worker
    still running) do not count; a tenant deleted from the database whose events remain in
    ClickHouse is listed under its id."""
    database = dict(
        Event.objects.unscoped_all_tenants()
        .filter(pk__lte=upto_id)
        .order_by()
        .values_list("tenant_id")
        .annotate(n=Count("pk"))
        .values_list("tenant_id", "n")
    )
    clickhouse = {
        int(tenant_id): int(n)
        for tenant_id, n in transport.query(
            f"SELECT tenant_id, count() FROM {EVENTS_TABLE} "  # noqa: S608 - the table is the engine's own
            "WHERE id <= {upto:UInt64} GROUP BY tenant_id",
            {"upto": upto_id},
        )
    }
    ids = set(database) | set(clickhouse)
    slugs = dict(Tenant.objects.filter(pk__in=ids).values_list("pk", "slug"))
    rows = [
        TenantCount(
            tenant_id=tenant_id,
            slug=slugs.get(tenant_id, f"(deleted tenant {tenant_id})"),
            database=database.get(tenant_id, 0),
            clickhouse=clickhouse.get(tenant_id, 0),
        )
        for tenant_id in ids
    ]
    return sorted(rows, key=lambda row: (row.slug, row.tenant_id))
