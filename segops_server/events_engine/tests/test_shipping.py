"""Shipping events to ClickHouse: in id order, in batches, exactly once, its lag visible."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings

from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.shipping import (
    events_batch_ship,
    events_ship_lag,
    events_ship_pending,
    events_ship_round,
)
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event, EventShipCursor
from segops_server.segments.tests.test_segments_api import _history
from segops_server.testing.chdb import chdb_engine, needs_chdb
from segops_server.testing.factories import Team

pytestmark = [needs_chdb, pytest.mark.django_db]


@pytest.fixture
def clickhouse(team: Team) -> Iterator[Transport]:
    _history(team)  # six events
    with chdb_engine() as transport:
        yield transport


def _shipped(transport: Transport) -> list[Any]:
    return [row[0] for row in transport.query(f"SELECT id FROM {EVENTS_TABLE} ORDER BY id")]


def _ids() -> list[int]:
    return list(Event.objects.unscoped_all_tenants().order_by("pk").values_list("pk", flat=True))


def test_it_ships_in_id_order_in_batches_and_records_the_cursor(clickhouse: Transport) -> None:
    assert events_ship_lag()[0] == 6
    assert events_ship_pending(clickhouse, batch=4, max_batches=1) == 4
    assert _shipped(clickhouse) == _ids()[:4]
    assert EventShipCursor.objects.get().last_event_id == _ids()[3]
    assert events_ship_pending(clickhouse, batch=4) == 2
    assert _shipped(clickhouse) == _ids()
    assert events_ship_pending(clickhouse) == 0
    assert events_ship_lag() == (0, None)


def test_it_ships_a_batch_once_even_when_its_progress_was_lost(clickhouse: Transport) -> None:
    events_ship_pending(clickhouse, batch=3)
    # A shipper that inserted, then died before its commit: the cursor is back where it was.
    EventShipCursor.objects.filter(pk=1).update(last_event_id=0)
    assert events_ship_pending(clickhouse, batch=3) == 6
    assert _shipped(clickhouse) == _ids()  # each id once


def test_it_waits_for_events_to_settle(clickhouse: Transport) -> None:
    assert events_batch_ship(clickhouse, after_id=0, settle=timedelta(minutes=5)) == 0
    with override_settings(SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS=300):
        assert events_ship_round() == 0
    assert events_ship_round() == 6


def test_it_ships_nothing_on_the_database_engine(team: Team) -> None:
    _history(team)
    assert events_ship_round() == 0
    assert not EventShipCursor.objects.exists()


def test_it_shows_the_lag_in_metrics_and_readyz(clickhouse: Transport) -> None:
    metrics = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "segops_events_ship_pending 6.0" in metrics
    assert "segops_events_ship_lag_seconds" in metrics
    ready = Client().get("/readyz").json()
    assert ready["events_engine"]["engine"] == "clickhouse"
    assert ready["events_engine"]["pending_events"] == 6
    events_ship_round()
    assert Client().get("/readyz").json()["events_engine"]["pending_events"] == 0
    metrics = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert "segops_events_ship_pending 0.0" in metrics
