"""A deleted tenant's events leave ClickHouse: the scheduler's round purges them, others stay."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from segops_server.accounts.services import tenant_delete
from segops_server.cli import scheduler_round
from segops_server.events_engine.retention import events_purge_deleted_tenants
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.shipping import events_ship_pending
from segops_server.events_engine.transport import Transport
from segops_server.segments.tests.test_segments_api import _history
from segops_server.testing.chdb import chdb_engine, needs_chdb
from segops_server.testing.factories import Team

pytestmark = [needs_chdb, pytest.mark.django_db]


@pytest.fixture
def clickhouse(team: Team) -> Iterator[Transport]:
    with chdb_engine() as transport:
        yield transport


def _counts(transport: Transport) -> dict[int, int]:
    rows = transport.query(f"SELECT tenant_id, count() FROM {EVENTS_TABLE} GROUP BY tenant_id")
    return {int(tenant): int(count) for tenant, count in rows}


def test_the_scheduler_round_deletes_a_deleted_tenants_events_only(team: Team, clickhouse: Transport) -> None:
    doomed = team.other_tenant
    _history(team)
    _history(dataclasses.replace(team, tenant=doomed))
    events_ship_pending(clickhouse)
    assert _counts(clickhouse) == {team.tenant.pk: 6, doomed.pk: 6}
    doomed_id = doomed.pk
    tenant_delete(tenant=doomed)
    scheduler_round()
    assert _counts(clickhouse) == {team.tenant.pk: 6}
    assert events_purge_deleted_tenants(clickhouse) == []  # nothing left to do
    assert doomed_id not in _counts(clickhouse)


def test_nothing_is_deleted_while_every_tenant_exists(team: Team, clickhouse: Transport) -> None:
    _history(team)
    events_ship_pending(clickhouse)
    assert events_purge_deleted_tenants(clickhouse) == []
    assert _counts(clickhouse) == {team.tenant.pk: 6}
