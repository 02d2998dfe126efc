"""Retention of the change feed: older changes deleted by the scheduler's round."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from segops_server.segments.models import SegmentChange

BATCH = 5_000  # rows per delete: a short write transaction each (SQLite has one write lock)


def changes_purge(*, now: datetime | None = None) -> int:
    """Delete the changes older than SEGOPS_CHANGE_RETENTION_DAYS, every tenant's, in batches of
    BATCH rows; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SEGOPS_CHANGE_RETENTION_DAYS)
    table = SegmentChange._meta.db_table
    # The scheduler spans every tenant; the index on `at` finds each batch.
    delete = f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE at < %s LIMIT {BATCH})"  # noqa: S608
    purged = 0
    with connection.cursor() as cursor:
        while True:
            with transaction.atomic():
                cursor.execute(delete, [connection.ops.adapt_datetimefield_value(cutoff)])
                deleted = int(cursor.rowcount)
            purged += deleted
            if deleted < BATCH:
                return purged
