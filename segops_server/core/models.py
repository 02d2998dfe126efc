"""Request bookkeeping shared by every app: stored answers for Idempotency-Key retries, plan
quota counters."""

from __future__ import annotations

from django.db import models


class IdempotentResponse(models.Model):
    """The answer to a write sent with an Idempotency-Key, replayed when the client retries it."""

    tenant_id = models.BigIntegerField()
    principal = models.CharField(max_length=64)  # "user:<id>" or "key:<id>": keys are per caller
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "principal", "key"], name="idempotent_response_unique"
            )
        ]

    def __str__(self) -> str:
        return self.key


class QuotaCounter(models.Model):
    """How much of one plan window (a tenant's calls this minute, events this month) is taken."""

    key = models.CharField(max_length=200, primary_key=True)  # e.g. "events:12:202611"
    used = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)  # a day after the window ends: then purged

    def __str__(self) -> str:
        return f"{self.key}={self.used}"


class WorkerHeartbeat(models.Model):
    """One task worker process and the last time it checked in (`segops worker` beats every
    SEGOPS_WORKER_HEARTBEAT_SECONDS); /readyz and the metrics read these rows."""

    worker_id = models.CharField(max_length=64, unique=True)  # the id the worker claims tasks with
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}:{self.pid})"
