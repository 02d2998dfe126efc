"""The backfill loop: it stops at the newest event present when it started, waits for events to
settle, takes turns with a worker shipping at the same time, and compares counts up to one id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F

from segops_server.accounts.models import Tenant
from segops_server.events_engine import backfill
from segops_server.events_engine.backfill import backfill_plan, events_backfill, events_counts_compare
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.shipping import events_ship_next, events_ship_pending
from segops_server.events_engine.tests.test_backfill_command import shipped_ids, store_events, stored_ids
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event, EventShipCursor
from segops_server.testing.chdb import chdb_engine, needs_chdb
from segops_server.testing.factories import Team, make_tenant

pytestmark = [needs_chdb, pytest.mark.django_db]


@pytest.fixture
def tenants(team: Team) -> list[Tenant]:
    found = [team.tenant, make_tenant("beta")]
    store_events(found, rounds=5)  # 10 events
    return found


@pytest.fixture
def clickhouse(tenants: list[Tenant]) -> Iterator[Transport]:
    with chdb_engine(settle_seconds=None) as transport:
        yield transport


NOW = timedelta(0)


def test_it_plans_from_the_cursor_to_the_newest_event(clickhouse: Transport) -> None:
    ids = stored_ids()
    assert backfill_plan() == backfill.BackfillPlan(after_id=0, upto_id=ids[-1], total=10)
    events_ship_pending(clickhouse, batch=3, settle=NOW, max_batches=1)
    assert backfill_plan() == backfill.BackfillPlan(after_id=ids[2], upto_id=ids[-1], total=7)


def test_it_stops_at_the_newest_event_present_when_it_started(
    clickhouse: Transport, tenants: list[Tenant]
) -> None:
    plan = backfill_plan()
    seen: list[int] = []

    def arrivals(copied: int) -> None:  # events keep arriving while it copies
        seen.append(copied)
        store_events(tenants[:1], rounds=10)

    last = events_backfill(clickhouse, plan, batch=4, settle=NOW, progress=arrivals)
    assert seen == [4, 8, 10]
    assert last >= plan.upto_id
    assert Event.objects.unscoped_all_tenants().filter(pk__gt=last).exists()  # left to the worker


def test_it_waits_for_the_events_left_to_settle(clickhouse: Transport) -> None:
    waits: list[float] = []

    def time_passes(seconds: float) -> None:
        waits.append(seconds)
        Event.objects.unscoped_all_tenants().update(received_at=F("received_at") - timedelta(minutes=10))

    last = events_backfill(clickhouse, backfill_plan(), settle=timedelta(minutes=5), sleep=time_passes)
    assert waits == [backfill.POLL_SECONDS]
    assert last == stored_ids()[-1]
    assert shipped_ids(clickhouse) == stored_ids()


def test_it_does_not_wait_for_events_deleted_with_their_tenant(
    clickhouse: Transport, tenants: list[Tenant]
) -> None:
    plan = backfill_plan()
    newest = Tenant.objects.get(pk=Event.objects.unscoped_all_tenants().get(pk=plan.upto_id).tenant_id)
    newest.delete()

    def never(seconds: float) -> None:
        raise AssertionError("waited for events that are gone")

    last = events_backfill(clickhouse, plan, settle=NOW, sleep=never)
    assert shipped_ids(clickhouse) == stored_ids()
    assert last == stored_ids()[-1]


def test_it_takes_turns_with_a_worker_shipping_at_the_same_time(
    clickhouse: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def with_a_worker(transport: Transport, **kwargs: Any) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the worker got the lock first this time: its batch, then ours after it
            events_ship_next(transport, batch=3, settle=NOW)
        return events_ship_next(transport, **kwargs)

    monkeypatch.setattr(backfill, "events_ship_next", with_a_worker)
    progress: list[int] = []
    last = events_backfill(clickhouse, backfill_plan(), batch=2, settle=NOW, progress=progress.append)
    assert progress == [2, 7, 9, 10]  # the worker's three counted with our second batch
    assert shipped_ids(clickhouse) == stored_ids()
    assert all(row.ok for row in events_counts_compare(clickhouse, upto_id=last))


def test_it_compares_counts_up_to_one_id_on_both_sides(clickhouse: Transport, tenants: list[Tenant]) -> None:
    events_ship_pending(clickhouse, settle=NOW)
    cut = stored_ids()[5]
    rows = events_counts_compare(clickhouse, upto_id=cut)
    assert [(r.slug, r.database, r.clickhouse, r.ok) for r in rows] == [
        ("acme", 3, 3, True),
        ("beta", 3, 3, True),
    ]


def test_it_lists_the_events_of_a_deleted_tenant_left_in_clickhouse(
    clickhouse: Transport, tenants: list[Tenant]
) -> None:
    events_ship_pending(clickhouse, settle=NOW)
    beta_id = tenants[1].pk
    tenants[1].delete()
    rows = events_counts_compare(clickhouse, upto_id=EventShipCursor.objects.get().last_event_id)
    gone = next(r for r in rows if r.tenant_id == beta_id)
    assert (gone.slug, gone.database, gone.clickhouse) == (f"(deleted tenant {beta_id})", 0, 5)
    assert not gone.ok
    count = clickhouse.query(f"SELECT count() FROM {EVENTS_TABLE}")[0][0]
    assert count == 10  # reported, not removed
