"""Segment exports: a member set written to a CSV or Parquet file by the task worker.

A request names the segment's current member set; the worker writes whichever set is current when
it starts, a page at a time, and records which generation that was. A set is whole when its rows
number its member_count; a compute that swaps in a newer set midway (deleting the one being read)
makes the worker start over on the new set, so a file is never half of one. Files live in the
"exports" storage and are deleted SEGOPS_EXPORT_RETENTION_HOURS after the request.

A running export holds a lease its worker renews (core/workers.py); one whose worker died is
written again from the start by another worker. The file is written in a scratch directory named
after the export under the data directory, so the leftovers of a killed worker are found and
removed (at worker start, by the scheduler, and by the export's next run).
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.utils import timezone
from rest_framework import serializers

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
from segops_server.segments.models import ExportFormat, ExportStatus, Segment, SegmentExport, SegmentMember

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}
_BATCH_ROWS = 50_000  # rows read, written and reported as progress at a time
_ACTIVE = (ExportStatus.PENDING, ExportStatus.RUNNING)
_ATTEMPTS = 3  # reads of a member set that a compute replaced midway, before giving up
_SCRATCH_PREFIX = "export-"
FAILED_MESSAGE = (
    "The export could not be written: request it again, or ask your operator to check the server log."
)


def exports_storage() -> Storage:
    return storages["exports"]


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
    from segops_server.segments.tasks import export_segment

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


class _SetReplaced(Exception):
    """A compute swapped in a newer member set (and deleted this one) while it was being read."""


class ExportFailed(Exception):
    """An export failure whose message is fit to show the tenant (others get FAILED_MESSAGE)."""


def _member_pages(export: SegmentExport, generation: int) -> Iterator[list[tuple[str, datetime]]]:
    """One member set by user id, a page at a time (keyset: each page is a short indexed read)."""
    members = SegmentMember.objects.for_tenant(export.tenant).filter(
        segment_id=export.segment_id, generation=generation
    )
    after: str | None = None
    while True:
        page = members.filter(user_id__gt=after) if after is not None else members
        rows = list(page.order_by("user_id").values_list("user_id", "computed_at")[:_BATCH_ROWS])
        if rows:
            yield rows
        if len(rows) < _BATCH_ROWS:
            return
        after = rows[-1][0]


_DATETIME = serializers.DateTimeField()  # the API's datetime form, as the members endpoint writes it


class _CsvWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text, lineterminator="\n")
        self._csv.writerow(["user_id", "computed_at"])

    def write(self, batch: list[tuple[str, datetime]]) -> None:
        stamps: dict[datetime, str] = {}  # a set shares one computed_at: format it once
        self._csv.writerows(
            (user_id, stamps.get(at) or stamps.setdefault(at, _DATETIME.to_representation(at)))
            for user_id, at in batch
        )

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class _ParquetWriter:
    def __init__(self, out: IO[bytes]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._schema = pa.schema([("user_id", pa.string()), ("computed_at", pa.timestamp("us", tz="UTC"))])
        self._writer = pq.ParquetWriter(out, self._schema, compression="zstd")

    def write(self, batch: list[tuple[str, datetime]]) -> None:
        columns = [[row[0] for row in batch], [row[1] for row in batch]]
        self._writer.write_table(self._pa.Table.from_arrays(columns, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def _progress(export: SegmentExport, **fields: Any) -> None:
    SegmentExport.objects.for_tenant(export.tenant).filter(pk=export.pk).update(**fields)


def _write(export: SegmentExport, path: Path) -> tuple[int, int]:
    """Write the current member set to `path`; (generation, rows). A set is complete when its
    rows number its member_count, which the compute wrote in the same transaction as the rows."""
    generation, total = (
        Segment.objects.for_tenant(export.tenant)
        .filter(pk=export.segment_id)
        .values_list("generation", "member_count")
        .get()
    )
    _progress(export, total_rows=total, row_count=0)
    written = 0
    with path.open("wb") as out:
        writer = _CsvWriter(out) if export.format == ExportFormat.CSV else _ParquetWriter(out)
        for page in _member_pages(export, generation):
            writer.write(page)
            written += len(page)
            _progress(export, row_count=written)
        writer.close()
    if written != total:
        raise _SetReplaced
    return generation, written


def scratch_root() -> Path:
    """Where exports are written before they go to the exports storage."""
    return Path(settings.DATA_DIR) / "tmp"


def _scratch_dir(export_id: Any) -> Path:
    return scratch_root() / f"{_SCRATCH_PREFIX}{export_id}"


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
    scratch = _scratch_dir(export.pk)
    try:
        _write_and_store(export, scratch)
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


def _write_and_store(export: SegmentExport, scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)  # what a killed run of this export left
    scratch.mkdir(parents=True)
    suffix = f".{export.format}"
    path = scratch / f"export{suffix}"
    for _attempt in range(_ATTEMPTS):
        try:
            generation, written = _write(export, path)
            break
        except _SetReplaced:
            continue
    else:
        raise ExportFailed("The member set kept changing while it was read: request the export again.")
    name = f"{export.tenant_id}/segment-{export.segment_id}-{export.pk}{suffix}"
    with path.open("rb") as saved:
        stored = exports_storage().save(name, File(saved))
    size = path.stat().st_size
    _progress(
        export,
        status=ExportStatus.DONE,
        generation=generation,
        row_count=written,
        size_bytes=size,
        file=stored,
        finished_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
    )


def exports_rescue(*, export_ids: list[Any] | None = None, now: datetime | None = None) -> int:
    """Queue again the exports nothing works on: running ones whose lease expired (the worker
    died) and pending ones whose task is not in the queue. One whose task is still queued or
    running is left to it."""
    from segops_server.segments.tasks import export_segment

    return leased_rescue(
        model=SegmentExport,
        active=Q(status__in=_ACTIVE),
        task=export_segment,
        requeue={"status": ExportStatus.PENDING},
        ids=export_ids,
        now=now,
    )


def exports_scratch_purge() -> int:
    """Remove the scratch directories no running export owns (left by a killed worker)."""
    root = scratch_root()
    if not root.is_dir():
        return 0
    live = {
        str(pk)
        for pk in SegmentExport.objects.unscoped_all_tenants()
        .filter(status=ExportStatus.RUNNING, lease_expires_at__gte=timezone.now())
        .values_list("pk", flat=True)
    }
    removed = 0
    for entry in root.iterdir():
        if not entry.name.startswith(_SCRATCH_PREFIX) or entry.name[len(_SCRATCH_PREFIX) :] in live:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


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
