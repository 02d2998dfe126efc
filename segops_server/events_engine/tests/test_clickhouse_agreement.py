"""Property test on chDB: the ClickHouse SQL agrees with the reference evaluator, for random
histories and random definitions of the condition types the ClickHouse dialect compiles (the
same strategies as segments/tests/test_compiler_agreement.py, whose numbers and times are chosen
to hit exactness and window boundaries)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import IDENTIFY_EVENT
from segops_server.segments.rules import reference
from segops_server.segments.rules.clickhouse import SUPPORTED_TYPES, clickhouse_definition_compile
from segops_server.segments.tests.test_compiler_agreement import (
    USERS,
    definitions,
    event_rows,
    leaves,
    nows,
    payloads,
    times,
)
from segops_server.testing.chdb import chdb_fresh, needs_chdb

TENANT, OTHER = 11, 12

# Traits are the payload of a user's latest identify event (ingestion/storage.py): histories
# with some, among the other events, so ties and strict sequences meet them too.
identifies = st.lists(st.tuples(st.sampled_from(USERS), st.just(IDENTIFY_EVENT), times, payloads), max_size=6)
histories = st.tuples(event_rows, identifies).flatmap(lambda pair: st.permutations(pair[0] + pair[1]))


def _store(transport: Transport, rows: list[Any]) -> list[dict[str, Any]]:
    """The rows for TENANT, and under other ids for OTHER (a missing tenant filter shows)."""
    transport.command(f"TRUNCATE TABLE {EVENTS_TABLE}")
    events = [
        {"id": i, "user_id": u, "event_type": t, "occurred_at": at, "payload": p}
        for i, (u, t, at, p) in enumerate(rows, start=1)
    ]
    block = [[e["id"], TENANT, e["event_type"], e["user_id"], e["occurred_at"], e["occurred_at"], None,
              json.dumps(e["payload"])] for e in events]  # fmt: skip
    block += [[e["id"] + 10_000, OTHER, e["event_type"], "other-" + e["user_id"], e["occurred_at"],
               e["occurred_at"], None, json.dumps(e["payload"])] for e in events]  # fmt: skip
    transport.insert(EVENTS_TABLE, block, EVENT_COLUMNS)
    return events


@needs_chdb
@settings(
    # Fewer examples than the databases' test by default: each runs a dozen chDB queries (about 0.3 s).
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(rows=histories, now=nows, first=definitions([]), second=definitions([1]), rule=definitions([1, 2]))
def test_it_agrees_with_the_reference_evaluator(
    rows: list[Any], now: datetime, first: dict[str, Any], second: dict[str, Any], rule: dict[str, Any]
) -> None:
    transport = chdb_fresh()
    events = _store(transport, rows)
    segments = {1: first, 2: second}
    traits: dict[str, dict[str, Any]] = {}
    for e in sorted(events, key=lambda e: (e["occurred_at"], e["id"])):
        if e["event_type"] == IDENTIFY_EVENT:
            traits[e["user_id"]] = e["payload"]

    def match(definition: dict[str, Any]) -> set[str]:
        text, params = clickhouse_definition_compile(
            definition, tenant_id=TENANT, now=now, lookup_definition=segments.get
        )
        found = [r[0] for r in transport.query(text, params)]
        assert len(found) == len(set(found)), "user ids must be distinct"
        expected = reference.evaluate(
            definition, events=events, properties=traits, now=now, lookup_definition=segments.get
        )
        assert set(found) == expected, (definition, events)
        return set(found)

    match(rule)
    for condition in leaves(rule):
        assert condition["type"] in SUPPORTED_TYPES
        members = match({"logic": "AND", "conditions": [condition]})
        event(f"{condition['type']} matches " + ("none" if not members else "some"))
