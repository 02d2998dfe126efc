"""Copying events from the database (the durable log) to ClickHouse: in id order, in large
batches, each batch insert-deduplicated by a token naming its id range, so a batch shipped
again (a worker that died before recording its progress) is dropped by ClickHouse."""

from __future__ import annotations

import json

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event

BATCH = 100_000  # events per insert: ClickHouse wants few large blocks, not many small ones


def events_batch_ship(transport: Transport, *, after_id: int, batch: int = BATCH) -> int:
    """Ship the next `batch` events with an id above `after_id`; the last id shipped (after_id
    itself when there were none). The caller records it as its cursor."""
    rows = list(
        Event.objects.unscoped_all_tenants()
        .filter(pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", *EVENT_COLUMNS[1:])[:batch]
    )
    if not rows:
        return after_id
    block = [[*row[:7], json.dumps(row[7])] for row in rows]
    first, last = rows[0][0], rows[-1][0]
    transport.insert(EVENTS_TABLE, block, EVENT_COLUMNS, token=f"events-{first}-{last}")
    return int(last)
