"""Writes for segments: definitions and versions, computes, and the atomic member swap."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from segops_server.accounts.models import Tenant, User
from segops_server.core.rawsql import statement_timeout
from segops_server.ingestion.services import profiles_refresh
from segops_server.observability.metrics import compute_record
from segops_server.segments import snapshots
from segops_server.segments.compiler import definition_compile
from segops_server.segments.dsl import DefinitionError, definition_validate
from segops_server.segments.exports import exports_discard_of_segment
from segops_server.segments.models import ComputeState, Segment, SegmentMember, SegmentVersion, Status

logger = logging.getLogger(__name__)


def definition_lookup(tenant: Tenant) -> Callable[[int], dict[str, Any] | None]:
    """Other segments' definitions, from this tenant only (segment_membership conditions)."""

    def lookup(segment_id: int) -> dict[str, Any] | None:
        definition = (
            Segment.objects.for_tenant(tenant)
            .filter(pk=segment_id)
            .values_list("definition", flat=True)
            .first()
        )
        return definition if isinstance(definition, dict) else None

    return lookup


def definition_clean(*, tenant: Tenant, definition: Any, segment_id: int | None = None) -> dict[str, Any]:
    try:
        return definition_validate(
            definition, lookup_definition=definition_lookup(tenant), segment_id=segment_id
        )
    except DefinitionError as exc:
        raise ValidationError({"definition": [str(exc)]}) from None


def _save_version(*, segment: Segment, definition: dict[str, Any], actor: User | None) -> SegmentVersion:
    last = (
        SegmentVersion.objects.for_tenant(segment.tenant).filter(segment=segment).order_by("-number").first()
    )
    version = SegmentVersion(
        tenant=segment.tenant,
        segment=segment,
        number=(last.number + 1) if last else 1,
        definition=definition,
        created_by=actor,
    )
    version.save()
    return version


@transaction.atomic
def segment_create(
    *,
    tenant: Tenant,
    actor: User | None,
    name: str,
    description: str = "",
    segment_type: str = "rule",
    definition: Any = None,
    refresh_interval_minutes: int | None = None,
) -> Segment:
    segment = Segment(
        tenant=tenant,
        name=name,
        description=description,
        segment_type=segment_type,
        refresh_interval_minutes=refresh_interval_minutes,
        created_by=actor,
    )
    segment.save()
    if definition is not None:
        segment.definition = definition_clean(tenant=tenant, definition=definition, segment_id=segment.pk)
        segment.save(update_fields=["definition"])
        _save_version(segment=segment, definition=segment.definition, actor=actor)
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, actor: User | None, **changes: Any) -> Segment:
    """Every saved definition becomes a new version; other fields change in place."""
    definition = changes.pop("definition", None)
    for field, value in changes.items():
        setattr(segment, field, value)
    if definition is not None:
        cleaned = definition_clean(tenant=segment.tenant, definition=definition, segment_id=segment.pk)
        if cleaned != segment.definition:
            segment.definition = cleaned
            _save_version(segment=segment, definition=cleaned, actor=actor)
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    exports_discard_of_segment(segment=segment)
    SegmentMember.objects.for_tenant(segment.tenant).filter(segment=segment)._raw_delete(
        SegmentMember.objects.db
    )
    segment.delete()


def segment_compute_request(*, segment: Segment) -> bool:
    """Queue a compute; True if queued now, False if one is already queued or running (coalesced)."""
    from segops_server.segments.tasks import compute_segment

    if segment.definition is None:
        raise ValidationError({"definition": ["Save a definition before computing."]})
    with transaction.atomic():
        claimed = (
            Segment.objects.for_tenant(segment.tenant)
            .filter(pk=segment.pk, compute_state=ComputeState.IDLE)
            .update(compute_state=ComputeState.QUEUED, status=Status.COMPUTING)
        )
        if claimed:
            transaction.on_commit(lambda: compute_segment.enqueue(segment.pk))
    segment.refresh_from_db(fields=["compute_state", "status"])
    return bool(claimed)


def _members_sql(compiled_sql: str) -> str:
    table = SegmentMember._meta.db_table
    return (
        f"INSERT INTO {table} (tenant_id, segment_id, generation, user_id, computed_at) "  # noqa: S608
        f"SELECT %s, %s, %s, q.user_id, %s FROM ({compiled_sql}) q"
    )


def segment_compute_run(*, segment_id: int, now: datetime | None = None) -> None:
    """Materialise the members of the segment's current definition as a new generation, then swap."""
    segment = Segment.objects.unscoped_all_tenants().select_related("tenant").filter(pk=segment_id).first()
    if segment is None or segment.definition is None:
        return
    tenant = segment.tenant
    started = time.perf_counter()
    Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
        compute_state=ComputeState.RUNNING, status=Status.COMPUTING
    )
    now = now or timezone.now()
    try:
        profiles_refresh()
        version = (
            SegmentVersion.objects.for_tenant(tenant).filter(segment=segment).order_by("-number").first()
        )
        sql, params = definition_compile(
            segment.definition,
            tenant_id=tenant.pk,
            vendor=connection.vendor,
            now=now,
            lookup_definition=definition_lookup(tenant),
        )
        generation = segment.generation + 1
        with transaction.atomic():
            with connection.cursor() as cursor:
                statement_timeout(cursor, settings.SEGOPS_COMPUTE_TIMEOUT_SECONDS)
                cursor.execute(
                    _members_sql(sql),
                    [
                        tenant.pk,
                        segment.pk,
                        generation,
                        connection.ops.adapt_datetimefield_value(now),
                        *params,
                    ],
                )
                count = cursor.rowcount
            Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
                generation=generation,
                member_count=count,
                last_computed_at=now,
                status=Status.COMPUTED,
                error="",
                computed_version=version,
                compute_state=ComputeState.IDLE,
            )
            snapshots.changed()  # the new generation is what every process answers from now on
        SegmentMember.objects.for_tenant(tenant).filter(
            segment=segment, generation__lt=generation
        )._raw_delete(SegmentMember.objects.db)
        compute_record(outcome="computed", seconds=time.perf_counter() - started)
    except Exception as exc:
        logger.exception("Segment %s compute failed", segment.pk)
        Segment.objects.for_tenant(tenant).filter(pk=segment.pk).update(
            status=Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], compute_state=ComputeState.IDLE
        )
        compute_record(outcome="failed", seconds=time.perf_counter() - started)


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
