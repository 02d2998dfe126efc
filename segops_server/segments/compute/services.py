"""Computes: queued once (coalesced), run by a worker under a lease, the members swapped in at once."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from segops_server.analytics.services import segment_size_record
from segops_server.core.errors import Invalid
from segops_server.core.outage import is_database_unavailable
from segops_server.core.rawsql import StatementTimeout
from segops_server.core.workers import (
    lease_expiry,
    lease_hold,
    lease_lapsed,
    lease_release,
    leased_rescue,
    worker_id,
)
from segops_server.ingestion.services import profiles_fold_pending
from segops_server.observability.metrics import compute_record
from segops_server.segments.compute.materialise import members_discard_unswapped, members_materialise
from segops_server.segments.delivery import snapshots
from segops_server.segments.live.timers import timers_after_compute
from segops_server.segments.models import ComputeState, Segment, SegmentVersion, Status
from segops_server.segments.rules.dsl import DefinitionError
from segops_server.segments.rules.lookup import definition_lookup
from segops_server.segments.rules.tenant_compile import tenant_definition_compile
from segops_server.webhooks.outbox import compute_outbox_write

logger = logging.getLogger(__name__)


def segment_compute_request(*, segment: Segment) -> bool:
    """Queue a compute; True if queued now, False if one is already queued or running (coalesced).

    A compute whose worker is gone is queued again here rather than coalesced with: an answer
    "already running" is only given while something runs it."""
    from segops_server.segments.compute.tasks import compute_segment

    if segment.definition is None:
        raise Invalid({"definition": ["Save a definition before computing."]})
    with transaction.atomic():
        claimed = (
            Segment.objects.for_tenant(segment.tenant)
            .filter(pk=segment.pk, compute_state=ComputeState.IDLE)
            # A queued compute's lease is the time its task has to show up in the queue.
            .update(
                compute_state=ComputeState.QUEUED,
                status=Status.COMPUTING,
                lease_owner="",
                lease_expires_at=lease_expiry(),
            )
        )
        if claimed:
            transaction.on_commit(lambda: compute_segment.enqueue(segment.pk))
    if not claimed:
        claimed = segments_rescue(segment_ids=[segment.pk])
    segment.refresh_from_db(fields=["compute_state", "status"])
    return bool(claimed)


def segments_rescue(*, segment_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Queue again the computes nothing works on: running ones whose lease expired (the worker
    died) and queued ones whose task is not in the queue (lost before it could run). A compute
    whose task is still queued or running is left to it (core/workers.py re-runs the tasks of
    dead workers)."""
    from segops_server.segments.compute.tasks import compute_segment

    return leased_rescue(
        model=Segment,
        active=Q(compute_state__in=[ComputeState.QUEUED, ComputeState.RUNNING]),
        task=compute_segment,
        requeue={"compute_state": ComputeState.QUEUED, "status": Status.COMPUTING},
        ids=segment_ids,
        now=now,
    )


def compute_failure_message(exc: BaseException, reference: str) -> str:
    """What a tenant sees of a failed compute: never the database's own text (table names, SQL,
    driver messages), which stays in the server log under `reference`."""
    if isinstance(exc, DefinitionError):
        return f"The compute failed: {exc}"  # our own words about the rule (a deleted reference)
    if isinstance(exc, StatementTimeout):
        return (
            "The compute failed: the rule took too long to evaluate "
            f"(the limit is {settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS} s)."
        )
    if isinstance(exc, OperationalError):
        cause = exc.__cause__
        if getattr(cause, "sqlstate", None) == "57014" or "interrupted" in str(exc).lower():
            # PostgreSQL's statement_timeout (query_canceled), SQLite's interrupted statement.
            return (
                "The compute failed: the rule took too long to evaluate "
                f"(the limit is {settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS} s)."
            )
    if is_database_unavailable(exc):
        return "The compute failed: the database was unavailable. Compute the segment again."
    return f"The compute failed; the server log has the details (reference {reference})."


def segment_compute_run(*, segment_id: int, now: datetime | None = None) -> None:
    """Materialise the members of the segment's current definition as a new generation, then swap."""
    segment = Segment.objects.unscoped_all_tenants().select_related("tenant").filter(pk=segment_id).first()
    if segment is None or segment.definition is None:
        return
    tenant = segment.tenant
    started = time.perf_counter()
    owner = worker_id()
    # Claim the compute: anything but a compute another worker holds a live lease on. A second
    # run of a finished compute recomputes the same set, so a duplicate task is harmless.
    claimed = (
        Segment.objects.for_tenant(tenant)
        .filter(
            # This worker's own lease too: it runs one task at a time, so that run was cut short.
            ~Q(compute_state=ComputeState.RUNNING) | lease_lapsed(timezone.now()) | Q(lease_owner=owner),
            pk=segment.pk,
        )
        .update(
            compute_state=ComputeState.RUNNING,
            status=Status.COMPUTING,
            lease_owner=owner,
            lease_expires_at=lease_expiry(),
        )
    )
    if not claimed:
        logger.info("Segment %s compute is running on another worker", segment.pk)
        return
    lease_hold(Segment, segment.pk)  # renewed by this worker's heartbeat until released below
    now = now or timezone.now()
    generation = segment.generation + 1
    try:
        profiles_fold_pending(tenant_id=tenant.pk)  # the worker: all of this tenant's, in batches
        version = (
            SegmentVersion.objects.for_tenant(tenant).filter(segment=segment).order_by("-number").first()
        )
        sql, params = tenant_definition_compile(
            segment.definition,
            tenant=tenant,
            now=now,
            timeout_seconds=settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS,
        )

        def swap(count: int) -> None:
            Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
                generation=generation,
                member_count=count,
                last_computed_at=now,
                status=Status.COMPUTED,
                error="",
                computed_version=version,
                compute_state=ComputeState.IDLE,
                lease_owner="",
                lease_expires_at=None,
            )
            # The webhooks' deliveries and the activations' syncs of this compute: in the swap's
            # transaction, so they exist exactly when the new generation does.
            compute_outbox_write(
                tenant=tenant, segment=segment, generation=generation, member_count=count, now=now
            )
            snapshots.changed()  # the new generation is what every process answers from now on
            segment_size_record(segment_id=segment.pk, tenant_id=tenant.pk, day=now.date(), count=count)

        members_materialise(
            tenant_id=tenant.pk,
            segment_id=segment.pk,
            generation=generation,
            now=now,
            sql=sql,
            params=params,
            swap=swap,
        )
        _timers_after_compute(segment, now)
        compute_record(outcome="computed", seconds=time.perf_counter() - started)
    except Exception as exc:
        reference = secrets.token_hex(6)
        logger.exception("Segment %s compute failed (reference %s)", segment.pk, reference)
        try:
            members_discard_unswapped(segment_id=segment.pk, generation=generation)
        except Exception:  # the database may still be away; the next compute clears them too
            logger.warning("Segment %s: the failed generation's rows stay until the next compute", segment.pk)
        Segment.objects.for_tenant(tenant).filter(pk=segment.pk, lease_owner=owner).update(
            status=Status.FAILED,
            error=compute_failure_message(exc, reference),
            compute_state=ComputeState.IDLE,
            lease_owner="",
            lease_expires_at=None,
        )
        compute_record(outcome="failed", seconds=time.perf_counter() - started)
    finally:
        lease_release(Segment, segment.pk)


def _timers_after_compute(segment: Segment, now: datetime) -> None:
    """Time windows of a real-time segment: its users' next moments (a failure here leaves the
    swapped set as it is; the next compute sets them again)."""
    try:
        segment.refresh_from_db()
        timers_after_compute(segment=segment, lookup=definition_lookup(segment.tenant), now=now)
    except Exception:
        logger.exception("Segment %s: its users' time windows were not scheduled", segment.pk)


def segments_refresh_due(*, now: datetime | None = None) -> int:
    """Queue computes for segments whose refresh interval has passed since their last compute."""
    now = now or timezone.now()
    queued = 0
    due = (
        Segment.objects.unscoped_all_tenants()  # the scheduler spans every tenant
        .select_related("tenant")
        .filter(
            refresh_interval_minutes__isnull=False, definition__isnull=False, compute_state=ComputeState.IDLE
        )
        .filter(Q(last_computed_at__isnull=True) | Q(last_computed_at__lte=now - timedelta(minutes=1)))
    )
    for segment in due:
        assert segment.refresh_interval_minutes is not None
        last = segment.last_computed_at
        if last is None or last + timedelta(minutes=segment.refresh_interval_minutes) <= now:
            queued += segment_compute_request(segment=segment)
    return queued
