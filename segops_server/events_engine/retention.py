"""A deleted tenant's events leave ClickHouse too.

Deleting a tenant deletes its events from the database (the durable log) in the same transaction
as the tenant. Their copies in ClickHouse are deleted by the worker's scheduler round: every
tenant id ClickHouse holds that the database no longer knows is purged there. Checked each round
rather than at the deletion itself, so a ClickHouse that is away at that moment (or a server
process that does not open ClickHouse) cannot leave them behind: the next round deletes them.
A batch being shipped when the tenant was deleted is caught the same way by the round after it.
"""

from __future__ import annotations

import logging

from segops_server.accounts.models import Tenant
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.transport import Transport

logger = logging.getLogger("segops.events_engine")


def events_purge_deleted_tenants(transport: Transport) -> list[int]:
    """Delete from ClickHouse the events of every tenant the database no longer has; their ids."""
    held = {int(row[0]) for row in transport.query(f"SELECT DISTINCT tenant_id FROM {EVENTS_TABLE}")}  # noqa: S608
    if not held:
        return []
    known = set(Tenant.objects.filter(pk__in=held).values_list("pk", flat=True))
    gone = sorted(held - known)
    for tenant_id in gone:
        transport.command(
            f"DELETE FROM {EVENTS_TABLE} WHERE tenant_id = {{tenant:UInt64}}",  # noqa: S608
            {"tenant": tenant_id},
        )
        logger.info("Deleted tenant %s: its events were deleted from ClickHouse", tenant_id)
    return gone


def events_retention_round() -> list[int]:
    """The scheduler's round: on the ClickHouse events engine, purge deleted tenants' events."""
    from segops_server.events_engine.engine import clickhouse_enabled, clickhouse_transport

    if not clickhouse_enabled():
        return []
    return events_purge_deleted_tenants(clickhouse_transport())
