"""Series computed at scrape time from the database: the task queue and the workers' heartbeats.

They are read by the process that answers /metrics, once per scrape, so they are right however
many processes run and cost nothing between scrapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger("segops.metrics")

# (worker name, time of its last heartbeat) for every worker that has checked in.
Heartbeats = Callable[[], Iterable[tuple[str, datetime]]]


class TaskQueueCollector(Collector):
    """django-tasks-db's queue: tasks ready to run, the age of the oldest one, tasks running."""

    def collect(self) -> Iterator[Metric]:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        depth = GaugeMetricFamily(
            "segops_task_queue_depth", "Tasks ready to run and not yet started, by queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "segops_task_queue_oldest_age_seconds",
            "How long the oldest task ready to run has waited (0 when none), by queue.",
            labels=["queue"],
        )
        running = GaugeMetricFamily(
            "segops_tasks_running", "Tasks being run now, by queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("segops_metrics_database_up", "Whether this scrape could read the database.")
        queues = dict.fromkeys(settings.TASKS["default"].get("QUEUES", ["default"]), (0, None))
        busy: dict[str, int] = dict.fromkeys(queues, 0)
        try:
            now = timezone.now()
            for row in (
                DBTaskResult.objects.ready()
                .values("queue_name")
                .annotate(n=Count("id"), oldest=Min("enqueued_at"))
            ):
                queues[row["queue_name"]] = (row["n"], row["oldest"])
            for row in (
                DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
                .values("queue_name")
                .annotate(n=Count("id"))
            ):
                busy[row["queue_name"]] = row["n"]
        except DatabaseError as exc:
            # The scrape still answers (with what the processes counted), and says why this is missing.
            logger.warning("metrics: the task queue could not be read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        for queue, (count, oldest) in sorted(queues.items()):
            depth.add_metric([queue], count)
            age.add_metric([queue], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        for queue, count in sorted(busy.items()):
            running.add_metric([queue], count)
        up.add_metric([], 1)
        yield from (depth, age, running, up)


class WorkerHeartbeatCollector(Collector):
    """Seconds since each task worker last checked in, from `heartbeats()`."""

    def __init__(self, heartbeats: Heartbeats) -> None:
        self.heartbeats = heartbeats

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "segops_worker_heartbeat_age_seconds",
            "Seconds since each task worker last checked in.",
            labels=["worker"],
        )
        try:
            beats = list(self.heartbeats())
        except DatabaseError as exc:
            logger.warning("metrics: worker heartbeats could not be read (%s)", type(exc).__name__)
            return
        now = timezone.now()
        for worker, beat in sorted(beats):
            age.add_metric([worker], max(0.0, (now - beat).total_seconds()))
        yield age
        yield GaugeMetricFamily("segops_workers", "Task workers that have checked in.", value=len(beats))


class EventsShipCollector(Collector):
    """On the ClickHouse events engine: events stored and not yet copied there, and the age of
    the oldest of them (nothing on the database engine)."""

    def collect(self) -> Iterator[Metric]:
        from segops_server.events_engine.engine import clickhouse_enabled
        from segops_server.events_engine.shipping import events_ship_lag

        if not clickhouse_enabled():
            return
        try:
            pending, age = events_ship_lag()
        except DatabaseError as exc:
            logger.warning("metrics: the events shipping lag could not be read (%s)", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "segops_events_ship_pending", "Events stored and not yet copied to ClickHouse.", value=pending
        )
        yield GaugeMetricFamily(
            "segops_events_ship_lag_seconds",
            "Seconds since the oldest event not yet copied to ClickHouse was received (0 when none).",
            value=age or 0.0,
        )


def worker_heartbeats_source() -> Heartbeats:
    """The heartbeat reader: each task worker's id and its last check-in (`core.workers`)."""
    from segops_server.core.workers import worker_heartbeats

    return lambda: [(info.worker_id, info.last_seen_at) for info in worker_heartbeats()]


def scrape_collectors() -> list[Collector]:
    """Everything read at scrape time, on top of what the processes counted."""
    collectors: list[Collector] = [TaskQueueCollector(), EventsShipCollector()]
    return [*collectors, WorkerHeartbeatCollector(worker_heartbeats_source())]
