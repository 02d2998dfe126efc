"""The ClickHouse events table, created idempotently (CREATE TABLE IF NOT EXISTS).

- `MergeTree ORDER BY (tenant_id, event_type, user_id, occurred_at)`: a rule reads one tenant's
  events of one type, grouped by user, which this order makes a contiguous, sorted range (the
  same leading columns as the database's `event_type_user_time` index).
- `PARTITION BY toYYYYMM(occurred_at)`: windowed conditions skip whole months, and old months
  can be dropped as a whole.
- `payload JSON`: ClickHouse stores each payload path as its own typed sub-column, so a rule on
  `amount` reads that column only, and numbers stay numbers (measured: about twice as fast as
  `JSONExtractFloat` over a `String` column).
- `non_replicated_deduplication_window`: the last blocks' hashes are kept, so a batch shipped
  again with the same `insert_deduplication_token` is dropped (exactly once; see shipping).
"""

from __future__ import annotations

from segops_server.events_engine.transport import Transport

EVENTS_TABLE = "segops_events"

# How many recent insert blocks ClickHouse remembers for deduplication: a retried batch is one of
# the last few, so this is ample while costing a few hundred bytes per block in the table's metadata.
DEDUPLICATION_WINDOW = 1000

EVENT_COLUMNS = (
    "id",
    "tenant_id",
    "event_type",
    "user_id",
    "occurred_at",
    "received_at",
    "anonymous_id",
    "payload",
)

EVENTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
    id UInt64,
    tenant_id UInt64,
    event_type LowCardinality(String),
    user_id String,
    occurred_at DateTime64(6, 'UTC'),
    received_at DateTime64(6, 'UTC'),
    anonymous_id Nullable(String),
    payload JSON
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_type, user_id, occurred_at)
SETTINGS non_replicated_deduplication_window = {DEDUPLICATION_WINDOW}
"""


def schema_ensure(transport: Transport) -> None:
    """Create the events table if it is missing; harmless to run on every start."""
    transport.command(EVENTS_DDL)
