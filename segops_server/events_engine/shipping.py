"""Copying events from the database (the durable log) to ClickHouse: in id order, in large
batches, exactly once.

The database stays the durable log: a 202 means the event is stored there, as on the database
engine, and ClickHouse is a copy that catches up (the lag is in /metrics and /readyz). Exactly
once takes two things:

- One cursor row (ingestion.EventShipCursor), locked while a batch is shipped and advanced in
  the same transaction: shippers take turns, and a batch is not shipped twice by two of them.
- Insert deduplication by a token naming the batch's id range (`insert_deduplication_token` on
  a MergeTree with `non_replicated_deduplication_window`, schema.py): a shipper that died after
  the insert but before its commit ships the same range again, and ClickHouse drops it.
  Chosen over a ReplacingMergeTree keyed by id, which removes duplicates only at merges (a
  rule would need FINAL, paying on every read) and would need the id in the sort key.

Ids are given at insert: an ingest that commits after a higher id was shipped would be passed
over, so a batch reads only events received more than SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS ago
(an ingest transaction is far shorter).
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event, EventShipCursor

BATCH = 100_000  # events per insert: ClickHouse wants few large blocks, not many small ones


def _settle() -> timedelta:
    return timedelta(seconds=settings.SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS)


def events_batch_ship(
    transport: Transport, *, after_id: int, batch: int = BATCH, settle: timedelta | None = None
) -> int:
    """Ship the next `batch` events with an id above `after_id` (received at least `settle` ago);
    the last id shipped (after_id itself when there were none). The caller records it."""
    settle = _settle() if settle is None else settle
    rows = list(
        Event.objects.unscoped_all_tenants()
        .filter(pk__gt=after_id, received_at__lte=timezone.now() - settle)
        .order_by("pk")
        .values_list("pk", *EVENT_COLUMNS[1:])[:batch]
    )
    if not rows:
        return after_id
    block = [[*row[:7], json.dumps(row[7])] for row in rows]
    first, last = rows[0][0], rows[-1][0]
    transport.insert(EVENTS_TABLE, block, EVENT_COLUMNS, token=f"events-{first}-{last}")
    return int(last)


def events_ship_next(
    transport: Transport, *, batch: int = BATCH, settle: timedelta | None = None
) -> tuple[int, int]:
    """Ship the next batch under the cursor's row lock, recorded in the same transaction:
    (the cursor before, the cursor after), equal when no event was ready. Another shipper's
    batches (the worker's, a backfill's) wait on the lock, so the two take turns."""
    with transaction.atomic():
        cursor, _ = EventShipCursor.objects.select_for_update().get_or_create(pk=1)
        before = cursor.last_event_id
        last = events_batch_ship(transport, after_id=before, batch=batch, settle=settle)
        if last != before:
            cursor.last_event_id = last
            cursor.save(update_fields=["last_event_id", "updated_at"])
    return before, last


def events_shipped_between(after_id: int, upto_id: int) -> int:
    """How many stored events have an id in (after_id, upto_id]: those a cursor moving from the
    one to the other shipped (the ids are the primary key, so this counts an index range)."""
    if upto_id <= after_id:
        return 0
    return Event.objects.unscoped_all_tenants().filter(pk__gt=after_id, pk__lte=upto_id).count()


def events_ship_pending(
    transport: Transport,
    *,
    batch: int = BATCH,
    settle: timedelta | None = None,
    max_batches: int | None = None,
) -> int:
    """Ship batches until none is left (or `max_batches`); how many events were shipped."""
    shipped = 0
    done = 0
    while max_batches is None or done < max_batches:
        before, last = events_ship_next(transport, batch=batch, settle=settle)
        if last == before:
            return shipped
        shipped += events_shipped_between(before, last)
        done += 1
    return shipped


def events_shipped_through() -> int:
    """The last event id shipped (every stored event up to it is in ClickHouse)."""
    return int(EventShipCursor.objects.filter(pk=1).values_list("last_event_id", flat=True).first() or 0)


def events_ship_lag() -> tuple[int, float | None]:
    """(events stored and not yet shipped, seconds since the oldest of them was received)."""
    cursor = events_shipped_through()
    waiting = Event.objects.unscoped_all_tenants().filter(pk__gt=cursor)
    oldest = waiting.order_by("pk").values_list("received_at", flat=True).first()
    age = None if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
    return waiting.count(), age


def events_ship_round() -> int:
    """The worker's round: ship what is pending, when events are read from ClickHouse."""
    from segops_server.events_engine.engine import clickhouse_enabled, clickhouse_transport

    if not clickhouse_enabled():
        return 0
    return events_ship_pending(clickhouse_transport())
