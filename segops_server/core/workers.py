"""Task workers' bookkeeping: heartbeat rows, the leases a worker holds on running work, the
rescue of tasks whose worker is gone, and the reads /readyz and the metrics use.

Work outside a request is a durable row with a lease (procrastinate's heartbeats, Oban's rescue
of orphaned jobs): the worker running a compute or an export renews that row's lease from its
heartbeat thread; a lease that is not renewed in time belonged to a worker that died, and the
work is queued again. Every task is idempotent, so a second run after a false alarm is harmless.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from segops_server.core.models import WorkerHeartbeat
from segops_server.core.rawsql import value_from_db
from segops_server.core.scoping import tenant_manager

logger = logging.getLogger("segops.worker")

HEARTBEAT_RETENTION = timedelta(days=1)  # rows of workers gone longer than this are purged

_worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def worker_id() -> str:
    """This process's worker id: the owner named on the leases it takes."""
    return _worker_id


def worker_id_set(value: str) -> None:
    global _worker_id
    _worker_id = value


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    age_seconds: float  # since the last heartbeat
    alive: bool  # checked in within SEGOPS_WORKER_STALE_SECONDS


def worker_heartbeats(*, now: datetime | None = None) -> list[WorkerInfo]:
    """Every worker seen within the last day, the most recent first."""
    now = now or timezone.now()
    stale = settings.SEGOPS_WORKER_STALE_SECONDS
    rows = WorkerHeartbeat.objects.filter(last_seen_at__gte=now - HEARTBEAT_RETENTION).order_by(
        "-last_seen_at"
    )
    infos = []
    for row in rows:
        age = max(0.0, (now - row.last_seen_at).total_seconds())
        infos.append(
            WorkerInfo(
                worker_id=row.worker_id,
                hostname=row.hostname,
                pid=row.pid,
                started_at=row.started_at,
                last_seen_at=row.last_seen_at,
                age_seconds=age,
                alive=age <= stale,
            )
        )
    return infos


@dataclass(frozen=True)
class WorkersSeen:
    """What /readyz tells of the workers, as `worker_heartbeats` would tell it."""

    alive: int  # checked in within SEGOPS_WORKER_STALE_SECONDS
    last_seen_seconds_ago: float | None  # the most recent heartbeat of the last day, if any


def workers_seen(*, now: datetime | None = None) -> WorkersSeen:
    """`worker_heartbeats`' count of `alive` and its first `age_seconds`, from one column of the
    same rows: /readyz answers a load balancer every few seconds, so the query is written out
    rather than built by the ORM (and it is /readyz's only one: it shows the database answers)."""
    now = now or timezone.now()
    field = WorkerHeartbeat._meta.get_field("last_seen_at")
    column, table = (
        connection.ops.quote_name(field.column),
        connection.ops.quote_name(WorkerHeartbeat._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE {column} >= %s ORDER BY {column} DESC",  # noqa: S608
            [field.get_db_prep_value(now - HEARTBEAT_RETENTION, connection)],
        )
        rows = cursor.fetchall()
    ages = [
        max(0.0, (now - value_from_db(WorkerHeartbeat, "last_seen_at", seen)).total_seconds())
        for (seen,) in rows
    ]
    stale = settings.SEGOPS_WORKER_STALE_SECONDS
    return WorkersSeen(
        alive=sum(age <= stale for age in ages), last_seen_seconds_ago=ages[0] if ages else None
    )


def heartbeat_record(*, worker: str, started_at: datetime, now: datetime | None = None) -> None:
    """This worker is alive: one row per worker, its last_seen_at moved forward."""
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker).update(last_seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker_id=worker,
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=started_at,
            last_seen_at=now,
        )


def heartbeat_remove(*, worker: str) -> None:
    """A worker that stops cleanly says so, rather than looking dead for a while."""
    WorkerHeartbeat.objects.filter(worker_id=worker).delete()


def heartbeats_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - HEARTBEAT_RETENTION
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen_at__lt=cutoff).delete()
    return deleted


# Leases held by this process, renewed by its heartbeat thread: model -> primary keys.
_held: dict[type[models.Model], set[Any]] = {}
_held_lock = threading.Lock()


def lease_expiry(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.SEGOPS_TASK_LEASE_SECONDS)


def lease_hold(model: type[models.Model], pk: Any) -> None:
    with _held_lock:
        _held.setdefault(model, set()).add(pk)


def lease_release(model: type[models.Model], pk: Any) -> None:
    with _held_lock:
        _held.get(model, set()).discard(pk)


def leases_renew(*, now: datetime | None = None) -> int:
    """Push back the expiry of every lease this process holds (the heartbeat thread)."""
    with _held_lock:
        held = {model: set(pks) for model, pks in _held.items() if pks}
    renewed = 0
    for model, pks in held.items():
        # Worker bookkeeping spans tenants: the worker is handed ids, never a tenant.
        rows = tenant_manager(model).unscoped_all_tenants()
        renewed += rows.filter(pk__in=pks, lease_owner=worker_id()).update(lease_expires_at=lease_expiry(now))
    return renewed


def lease_lapsed(now: datetime) -> Q:
    """Rows whose lease ran out (or that never had one): no live worker holds them."""
    return Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)


def leased_rescue(
    *,
    model: type[models.Model],
    active: Q,
    task: Task[Any, Any],
    requeue: dict[str, Any],
    ids: list[Any] | None = None,
    now: datetime | None = None,
) -> int:
    """Queue again the leased work (a compute, an export) nothing works on: rows in `active`
    whose lease expired (the worker died) and whose task is not waiting in the queue (lost, or
    its worker's task row was not rescued yet). Each row is moved back with `requeue` and its task
    enqueued once the move commits; a row whose task is still queued or running is left to it."""
    now = now or timezone.now()
    # Worker bookkeeping spans tenants: the rescue is handed ids, never a tenant.
    rows = tenant_manager(model).unscoped_all_tenants()
    stalled = rows.filter(active, lease_lapsed(now))
    if ids is not None:
        stalled = stalled.filter(pk__in=ids)
    candidates = list(stalled.values_list("pk", flat=True))
    if not candidates:
        return 0
    waiting = {str(arg) for arg in tasks_waiting(task)}
    rescued = 0
    for pk in candidates:
        if str(pk) in waiting:
            continue
        with transaction.atomic():
            requeued = int(
                rows.filter(active, lease_lapsed(timezone.now()), pk=pk).update(
                    **requeue, lease_owner="", lease_expires_at=lease_expiry()
                )
            )
            if requeued:
                logger.warning("%s %s lost its worker; queued again", model.__name__, pk)
                # Task arguments are JSON: an export's UUID travels as its string.
                arg = pk if isinstance(pk, int) else str(pk)
                transaction.on_commit(partial(task.enqueue, arg))
        rescued += requeued
    return rescued


def _alive_workers(now: datetime) -> set[str]:
    cutoff = now - timedelta(seconds=settings.SEGOPS_TASK_LEASE_SECONDS)
    return set(WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True))


def tasks_rescue(*, now: datetime | None = None) -> int:
    """Queue again the tasks claimed by a worker that has stopped beating (killed, or its host
    gone): the task row says RUNNING, but nothing runs it. Idempotent tasks make a rerun safe."""
    now = now or timezone.now()
    alive = _alive_workers(now)
    cutoff = now - timedelta(seconds=settings.SEGOPS_TASK_LEASE_SECONDS)
    stalled = [
        pk
        for pk, workers in DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).values_list("pk", "worker_ids")
        if not workers or workers[-1] not in alive
    ]
    if not stalled:
        return 0
    return DBTaskResult.objects.filter(pk__in=stalled, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, started_at=None
    )


def tasks_waiting(task: Task[Any, Any]) -> set[Any]:
    """The first argument of every queued or running call of `task` (with the database backend;
    none with another one, which runs tasks at once)."""
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(task.get_backend(), DatabaseBackend):
        return set()
    rows: Iterable[Any] = DBTaskResult.objects.filter(
        task_path=task.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).values_list("args_kwargs", flat=True)
    return {row["args"][0] for row in rows if isinstance(row, dict) and row.get("args")}
