"""Segment exports: requests, the worker's lease on a running export, downloads and expiry.

A request names the segment's current member set; the task worker writes the file
(exports/files.py) and records which generation it wrote. Files live in the "exports"
storage and are deleted SEGOPS_EXPORT_RETENTION_HOURS after the request.

A running export holds a lease its worker renews (core/workers.py); one whose worker died is
written again from the start by another worker.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.utils import timezone

from segops_server.accounts.models import Tenant, User
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record
from segops_server.core.errors import Conflict, Gone
from segops_server.core.workers import (
    lease_expiry,
    lease_hold,
    lease_lapsed,
    lease_release,
    leased_rescue,
    worker_id,
)
from segops_server.keys.models import ApiKey
from segops_server.segments.exports.files import ExportFailed, export_file_write, exports_storage, scratch_dir
from segops_server.segments.models import ExportFormat, ExportStatus, Segment, SegmentExport

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}
_ACTIVE = (ExportStatus.PENDING, ExportStatus.RUNNING)
FAILED_MESSAGE = (
    "The export could not be written: request it again, or ask your operator to check the server log."
)


def _audit(
    action: str, export: SegmentExport, *, actor: User | None, api_key: ApiKey | None, request: Any
) -> None:
    audit_record(
        action=action,
        tenant=export.tenant,
        actor=actor,
        api_key=api_key,
        key_prefix=api_key.display_prefix if api_key else "",
        request=request,
        segment_id=export.segment_id,
        export_id=str(export.pk),
        format=export.format,
    )


def export_request(
    *,
    segment: Segment,
    format: str,
    actor: User | None,
    api_key: ApiKey | None = None,
    request: Any = None,
) -> tuple[SegmentExport, bool]:
    """Queue an export of the segment's current members; (export, False) when the same export of
    the same member set is already pending or running (requests coalesce). Audited: the list of
    user ids is about to leave the system."""
    from segops_server.segments.exports.tasks import export_segment

    if segment.generation == 0:
        raise Conflict("This segment has not been computed yet: compute it, then export its members.")
    with transaction.atomic():
        waiting = (
            SegmentExport.objects.for_tenant(segment.tenant)
            .filter(
                segment=segment, format=format, requested_generation=segment.generation, status__in=_ACTIVE
            )
            .order_by("-created_at")
            .first()
        )
        if waiting is not None:
            # Coalesce only with an export something works on; one whose worker is gone is
            # queued again first.
            exports_rescue(export_ids=[waiting.pk])
            return waiting, False
        export = SegmentExport(
            tenant=segment.tenant,
            segment=segment,
            format=format,
            requested_generation=segment.generation,
            requested_by=actor,
            lease_expires_at=lease_expiry(),  # a pending export's lease: the time its task has to show up
        )
        export.save()
        export_id = str(export.pk)
        transaction.on_commit(lambda: export_segment.enqueue(export_id))
        _audit(Action.SEGMENT_EXPORTED, export, actor=actor, api_key=api_key, request=request)
    return export, True


def export_run(*, export_id: str | UUID) -> None:
    """Write the file of a pending export (the task worker's side)."""
    export = (
        SegmentExport.objects.unscoped_all_tenants()  # the worker is handed an id, not a tenant
        .select_related("tenant", "segment")
        .filter(pk=export_id)
        .first()
    )
    if export is None:
        return
    owner = worker_id()
    # Pending, or running under a lease its worker stopped renewing (it died): this worker
    # starts it over. Otherwise another worker has it, or it was expired meanwhile.
    claimed = (
        SegmentExport.objects.for_tenant(export.tenant)
        .filter(
            Q(status=ExportStatus.PENDING)
            | (Q(status=ExportStatus.RUNNING) & (lease_lapsed(timezone.now()) | Q(lease_owner=owner))),
            pk=export.pk,
        )
        .update(
            status=ExportStatus.RUNNING,
            started_at=timezone.now(),
            lease_owner=owner,
            lease_expires_at=lease_expiry(),
        )
    )
    if not claimed:
        return
    lease_hold(SegmentExport, export.pk)
    scratch = scratch_dir(export.pk)
    try:
        export_file_write(export, scratch)
    except Exception as exc:
        # The tenant sees a short message; the detail (paths, driver errors) stays in the log.
        logger.exception("Export %s of segment %s failed", export.pk, export.segment_id)
        SegmentExport.objects.for_tenant(export.tenant).filter(pk=export.pk, lease_owner=owner).update(
            status=ExportStatus.FAILED,
            error=str(exc) if isinstance(exc, ExportFailed) else FAILED_MESSAGE,
            finished_at=timezone.now(),
            lease_owner="",
            lease_expires_at=None,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lease_release(SegmentExport, export.pk)


def exports_rescue(*, export_ids: list[Any] | None = None, now: datetime | None = None) -> int:
    """Queue again the exports nothing works on: running ones whose lease expired (the worker
    died) and pending ones whose task is not in the queue. One whose task is still queued or
    running is left to it."""
    from segops_server.segments.exports.tasks import export_segment

    return leased_rescue(
        model=SegmentExport,
        active=Q(status__in=_ACTIVE),
        task=export_segment,
        requeue={"status": ExportStatus.PENDING},
        ids=export_ids,
        now=now,
    )


def _discard(exports: Any) -> int:
    """Delete the files of these exports and mark them expired."""
    storage = exports_storage()
    count = 0
    for export_id, name in exports.values_list("pk", "file"):
        if name:
            storage.delete(name)
        count += (
            SegmentExport.objects.unscoped_all_tenants()
            .filter(pk=export_id)
            .update(status=ExportStatus.EXPIRED, file="", finished_at=timezone.now())
        )
    return count


def exports_expire(*, now: datetime | None = None) -> int:
    """Expire exports older than the retention period (the scheduler's round)."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.SEGOPS_EXPORT_RETENTION_HOURS)
    old = SegmentExport.objects.unscoped_all_tenants().filter(  # the scheduler spans every tenant
        ~Q(status=ExportStatus.EXPIRED), created_at__lt=cutoff
    )
    return _discard(old)


def exports_discard_of_segment(*, segment: Segment) -> None:
    """Delete a segment's export files (before the segment itself goes)."""
    _discard(SegmentExport.objects.for_tenant(segment.tenant).filter(segment=segment))


def export_download(
    *, export: SegmentExport, actor: User | None, api_key: ApiKey | None = None, request: Any = None
) -> IO[bytes]:
    """The file of a finished export, opened for reading (audited); 409 while not done or after a
    failure, 410 once expired or removed."""
    if export.status == ExportStatus.EXPIRED:
        raise Gone("This export has expired: request a new one.")
    if export.status == ExportStatus.FAILED:
        raise Conflict(f"This export failed: {export.error}")
    if export.status != ExportStatus.DONE:
        raise Conflict(f"This export is not ready yet (status: {export.status}).")
    try:
        file = exports_storage().open(export.file, "rb")
    except FileNotFoundError:  # removed from the exports storage by hand
        raise Gone("The file of this export is gone: request a new one.") from None
    _audit(Action.SEGMENT_EXPORT_DOWNLOADED, export, actor=actor, api_key=api_key, request=request)
    return file


def download_response(export: SegmentExport, file: IO[bytes]) -> FileResponse:
    """The file as an attachment, never kept by a cache on the way."""
    response = FileResponse(
        file,
        as_attachment=True,
        filename=f"segment-{export.segment_id}-members.{export.format}",
        content_type=CONTENT_TYPES[ExportFormat(export.format)],
    )
    response["Cache-Control"] = "no-store"
    return response


def export_latest(*, segment: Segment) -> SegmentExport | None:
    return exports_of_segment(segment=segment).first()


def exports_of_segment(*, segment: Segment) -> QuerySet[SegmentExport]:
    return SegmentExport.objects.for_tenant(segment.tenant).filter(segment=segment).order_by("-created_at")


def export_get(*, tenant: Tenant, export_id: UUID) -> SegmentExport | None:
    return SegmentExport.objects.for_tenant(tenant).filter(pk=export_id).select_related("segment").first()
