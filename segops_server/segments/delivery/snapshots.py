"""Per-process snapshots of each tenant's segment membership, for the delivery API.

Who is in which segment changes only when a compute swaps a segment's generation, or when a
segment is created, renamed or deleted. So each server process keeps, per tenant, the current
members of all the tenant's segments (user -> segments, built with one query) and answers
"which segments is user X in?" from memory; users in no segment are simply absent. Every such
change bumps a shared epoch once it commits (core/epochs.py: one machine through a mapped file,
several through Redis), and a snapshot tagged with an older epoch is never used again: questions
go to the database while a background thread of the process builds the new snapshot.

A tenant with more than SEGOPS_MEMBERSHIP_SNAPSHOT_MAX_ROWS current member rows is not kept
(its questions go to the database, as with SEGOPS_MEMBERSHIP_SNAPSHOTS=0).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from segops_server.core.epochs import Epoch
from segops_server.segments.members import stay_covers_sql
from segops_server.segments.models import Segment, SegmentMember

_EPOCH = Epoch("membership")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    epoch: int | str
    segment_ids: frozenset[int]  # every segment of the tenant, computed or not
    by_user: dict[str, tuple[tuple[int, str, datetime | None], ...]] | None  # None: too big to keep

    def segments_of(self, user_id: str) -> list[dict[str, Any]]:
        assert self.by_user is not None
        return [{"id": i, "name": n, "computed_at": c} for i, n, c in self.by_user.get(user_id, ())]

    def is_member(self, user_id: str, segment_id: int) -> bool | None:
        """None when the tenant has no such segment."""
        if segment_id not in self.segment_ids:
            return None
        assert self.by_user is not None
        return any(i == segment_id for i, _, _ in self.by_user.get(user_id, ()))


_snapshots: dict[int, Snapshot] = {}
_builders: dict[int, threading.Thread] = {}
_guard = threading.Lock()
_ATTEMPTS = 3  # builds in a row while the epoch keeps changing under them
# Real-time segments change membership many times a second: a tenant's snapshot is then built at
# most every REBUILD_SECONDS per process, and never sooner than BUILD_SHARE times its last build's
# duration after it (a build reads every member of the tenant: a big tenant's builds take at most
# about 1/BUILD_SHARE of a core). Questions meanwhile go to the database (its index answers them).
REBUILD_SECONDS = 2.0
BUILD_SHARE = 10
_next_build_at: dict[int, float] = {}


def enabled() -> bool:
    return bool(settings.SEGOPS_MEMBERSHIP_SNAPSHOTS)


def changed() -> None:
    """Something that membership answers show changed: every process drops its snapshots once the
    current transaction commits (at once, outside a transaction). Bumped even where snapshots
    are off: a worker process configured apart from the servers must not leave them stale."""
    transaction.on_commit(_EPOCH.bump)


def snapshot_for(tenant_id: int) -> Snapshot | None:
    """The tenant's current snapshot, or None: then ask the database (snapshots off, the tenant
    too big, or its snapshot being built by a background thread, which this call starts)."""
    if not enabled() or connection.in_atomic_block:
        return None  # inside a transaction the database may hold changes not yet committed
    found = _snapshots.get(tenant_id)
    if found is None or found.epoch != _EPOCH.current():
        _build_soon(tenant_id)
        return None
    return found if found.by_user is not None else None


def _build_soon(tenant_id: int) -> None:
    with _guard:
        if tenant_id in _builders or time.monotonic() < _next_build_at.get(tenant_id, 0.0):
            return
        builder = _builders[tenant_id] = threading.Thread(
            target=_builder, args=(tenant_id,), name=f"membership-snapshot-{tenant_id}", daemon=True
        )
    builder.start()


def _builder(tenant_id: int) -> None:
    started = time.monotonic()
    try:
        for _ in range(_ATTEMPTS):
            epoch = _EPOCH.current()
            _snapshots[tenant_id] = _build(tenant_id, epoch)
            # A snapshot lives until the next change: keep its objects out of full cyclic
            # collections, which would otherwise walk them all (tens of ms per worker, under load).
            gc.freeze()
            if _EPOCH.current() == epoch:
                break
    except Exception:  # the database answers meanwhile; the next question tries again
        logger.exception("Membership snapshot of tenant %s failed", tenant_id)
    finally:
        connection.close()  # this thread's own connection
        with _guard:
            _builders.pop(tenant_id, None)
            finished = time.monotonic()
            _next_build_at[tenant_id] = finished + max(REBUILD_SECONDS, BUILD_SHARE * (finished - started))


def wait_for_builders(timeout: float = 30) -> None:
    """Until the snapshots being built are in place (tests; a shutdown)."""
    for builder in list(_builders.values()):
        builder.join(timeout)


_ROWS_SQL = (
    "SELECT m.user_id, s.id FROM {members} m "
    "JOIN {segments} s ON s.id = m.segment_id AND {covers} "
    "WHERE s.tenant_id = %s AND m.tenant_id = %s ORDER BY s.id LIMIT %s"
)


def _build(tenant_id: int, epoch: int | str) -> Snapshot:
    """Read with the epoch taken *before* the read: a change committed meanwhile leaves the
    snapshot already stale rather than wrongly current. Each member row is read as (user, segment)
    only: a segment's name and compute time are one shared entry, read once."""
    limit = settings.SEGOPS_MEMBERSHIP_SNAPSHOT_MAX_ROWS
    entries = {
        pk: (pk, name, computed_at)
        for pk, name, computed_at in Segment.objects.for_tenant(tenant_id).values_list(
            "pk", "name", "last_computed_at"
        )
    }
    with connection.cursor() as cursor:
        sql = _ROWS_SQL.format(
            members=SegmentMember._meta.db_table,
            segments=Segment._meta.db_table,
            covers=stay_covers_sql("m", "s.generation"),
        )
        cursor.execute(sql, [tenant_id, tenant_id, limit + 1])
        rows = cursor.fetchall()
    segment_ids = frozenset(entries)
    if len(rows) > limit:
        return Snapshot(epoch=epoch, segment_ids=segment_ids, by_user=None)
    by_user: dict[str, list[tuple[int, str, datetime | None]]] = {}
    for user_id, segment_id in rows:
        entry = entries.get(segment_id)
        if entry is not None:  # a segment created after the first read is the next epoch's
            by_user.setdefault(user_id, []).append(entry)
    return Snapshot(
        epoch=epoch, segment_ids=segment_ids, by_user={user: tuple(found) for user, found in by_user.items()}
    )


def clear() -> None:
    _snapshots.clear()
    _next_build_at.clear()
