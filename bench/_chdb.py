"""bench/segments.py --engine chdb: the same events generated in a chDB directory, and the rule timed there.

chDB is ClickHouse inside one process, and a directory is opened by one process at a time (a
second one fails with "Error initializing EmbeddedServer"). The benchmark therefore opens the
directory itself only while no server runs on it: it closes its session before the server (whose
task worker keeps the directory open from its start) is started, and the server is stopped before
the benchmark opens it. See segments.py's docstring for the order.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import psycopg
from _server import django_child

from segops_server.events_engine.schema import EVENTS_TABLE, schema_ensure
from segops_server.events_engine.transport import ChdbTransport, Params
from segops_server.segments.rules.examples import HIGH_VALUE_CHURNERS

# The best hand-written ClickHouse SQL for the same question: the sort key's prefix (tenant,
# event type) picks the orders, one pass groups them by user. Float64 is what one writes by hand;
# the payload's totals have two decimals, so the sum rounded to cents is exact (the members are
# the same as the compiled rule's, which the benchmark checks). The filter on event_type leaves
# only orders, so sum/max need no -If (sumIf/maxIf would read every event type).
HAND_WRITTEN = f"""
SELECT user_id FROM {EVENTS_TABLE}
WHERE tenant_id = {{tenant:UInt64}} AND event_type = 'order_placed'
GROUP BY user_id
HAVING round(sum(toFloat64(payload.total)), 2) >= 500
   AND max(occurred_at) < {{cutoff:DateTime64(6, 'UTC')}}
"""

# The same by hand with the compiled rule's arithmetic (exact decimals read from the number's
# shortest text), for reference: what the exactness costs, apart from the rest of the query.
HAND_WRITTEN_EXACT = HAND_WRITTEN.replace(
    "round(sum(toFloat64(payload.total)), 2)", "sum(toDecimal128OrNull(toString(payload.total), 18))"
)

# The events of generate() for PostgreSQL (bench/segments.py), with ClickHouse's functions:
# user i % users, the same five event types in turn, times spread over the last year, an order's
# total between 0 and 199.99 (two decimals), a page path otherwise. intHash32 stands for
# PostgreSQL's hashint4: the same distribution, not the same values.
GENERATE = f"""
INSERT INTO {EVENTS_TABLE} (id, tenant_id, event_type, user_id, occurred_at, received_at, anonymous_id, payload)
SELECT number + 1,
       {{tenant:UInt64}},
       ['page_viewed', 'page_viewed', 'product_viewed', 'cart_added', 'order_placed'][1 + number % 5],
       concat('u', toString(number % {{users:UInt64}})),
       now64(6) - toIntervalSecond(intHash32(number) % (365 * 86400)),
       now64(6),
       NULL,
       if(number % 5 = 4,
          concat('{{"total":', toString((intHash32(number * 7) % 20000) / 100), '}}'),
          concat('{{"path":"/p/', toString(number % 100), '"}}'))
FROM numbers({{events:UInt64}})
"""


def absolute_goal(events: int) -> float:
    """The goal for the rule in seconds: 0.5 s at 10M events, 5 s at 100M (0.05 s a million)."""
    return 0.5 * events / 10_000_000


def chdb_generate(path: str, tenant_id: int, events: int, users: int) -> tuple[float, float]:
    """The events in the chDB directory through the product's schema, then the table merged to
    one part a month (at rest, as after the background merges of a bulk import); the seconds each took."""
    transport = ChdbTransport(path)
    try:
        schema_ensure(transport)
        start = time.perf_counter()
        transport.command(GENERATE, {"tenant": tenant_id, "users": users, "events": events})
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        transport.command(f"OPTIMIZE TABLE {EVENTS_TABLE} FINAL")
        return loaded, time.perf_counter() - start
    finally:
        transport.close()


def chdb_timed(path: str, queries: list[tuple[str, Params]], runs: int = 3) -> list[tuple[float, int]]:
    """Best of `runs` wall times of SELECT count() over each query after one warm-up of each, and
    its count; the queries take turns, so the machine's other work weighs on all alike."""
    transport = ChdbTransport(path)
    try:
        wrapped = [(f"SELECT count() FROM ({sql})", params) for sql, params in queries]
        counts = [int(transport.query(sql, params)[0][0]) for sql, params in wrapped]
        best = [float("inf")] * len(queries)
        for _ in range(runs):
            for index, (sql, params) in enumerate(wrapped):
                start = time.perf_counter()
                transport.query(sql, params)
                best[index] = min(best[index], time.perf_counter() - start)
        return list(zip(best, counts, strict=True))
    finally:
        transport.close()


def chdb_compiled(database_url: str, tenant_id: int, now: datetime) -> tuple[str, Params]:
    """The rule compiled for ClickHouse by the product (in a child process that sets Django up),
    its parameters in ClickHouse's text form."""
    data = django_child(
        database_url,
        "from datetime import datetime;"
        "from segops_server.events_engine.transport import param_text;"
        "from segops_server.segments.rules.clickhouse import clickhouse_definition_compile;"
        "sql, params = clickhouse_definition_compile(json.loads(sys.argv[1]), tenant_id=int(sys.argv[2]),"
        " now=datetime.fromisoformat(sys.argv[3]), lookup_definition=lambda i: None);"
        "print(json.dumps({'sql': sql, 'params': {k: param_text(v) for k, v in params.items()}}))",
        json.dumps(HIGH_VALUE_CHURNERS),
        str(tenant_id),
        now.isoformat(),
    )
    return data["sql"], data["params"]


def chdb_report(path: str, database_url: str, tenant_id: int, now: datetime, events: int) -> None:
    """The compiled rule next to the hand-written SQL, printed; SystemExit when their members differ."""
    sql, params = chdb_compiled(database_url, tenant_id, now)
    hand = {"tenant": tenant_id, "cutoff": now - timedelta(days=30)}
    (t_compiled, n_compiled), (t_hand, n_hand), (t_exact, n_exact) = chdb_timed(
        path, [(sql, params), (HAND_WRITTEN, hand), (HAND_WRITTEN_EXACT, hand)]
    )
    ratio = t_compiled / t_hand
    goal = absolute_goal(events)
    print(
        f"High-Value Churners on chDB: compiled SQL {t_compiled * 1000:,.0f} ms ({n_compiled:,} users), "
        f"hand-written SQL {t_hand * 1000:,.0f} ms ({n_hand:,} users), ratio {ratio:.2f} "
        f"({'meets' if ratio <= 1.2 else 'ABOVE'} goal 1.2); absolute goal {goal:.2f} s: "
        f"{'meets' if t_compiled <= goal else 'ABOVE'}"
    )
    print(
        f"  for reference, hand-written with the compiled rule's exact decimals: {t_exact * 1000:,.0f} ms "
        f"({n_exact:,} users), compiled / exact {t_compiled / t_exact:.2f}"
    )
    if not n_compiled == n_hand == n_exact:
        raise SystemExit("the compiled and hand-written queries disagree on the members")


def ship_cursor_skip(database_url: str) -> None:
    """Mark the database's events as already copied to ClickHouse: the events generated in
    PostgreSQL for its own figure are not the chDB directory's (generated there), and the
    server's worker would otherwise copy them in as it starts."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO ingestion_eventshipcursor (id, last_event_id, updated_at)
            SELECT 1, coalesce(max(id), 0), now() FROM ingestion_event
            ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id, updated_at = now()
            """
        )
