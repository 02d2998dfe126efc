"""Writing an export's file: its member set, a page at a time, to CSV or Parquet in a scratch directory.

The worker writes whichever member set is current when it starts and records which generation
that was. A set is whole when its rows number its member_count: a compute that swaps in a newer
set midway leaves the stays of the one being read until it deletes those that ended (members who
left); then the set read comes short and the writer starts over on the new set, so a file is
never half of one. The file is written in a scratch directory named after the export under the
data directory, so the leftovers of a killed worker are found and removed (at worker start, by the
scheduler, and by the export's next run), then saved to the "exports" storage.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils import timezone
from rest_framework import serializers

from segops_server.segments.members import stay_covers
from segops_server.segments.models import ExportFormat, ExportStatus, Segment, SegmentExport, SegmentMember

_BATCH_ROWS = 50_000  # rows read, written and reported as progress at a time
_ATTEMPTS = 3  # reads of a member set that a compute replaced midway, before giving up
_SCRATCH_PREFIX = "export-"


def exports_storage() -> Storage:
    return storages["exports"]


class _SetReplaced(Exception):
    """A compute swapped in a newer member set (and deleted this one) while it was being read."""


class ExportFailed(Exception):
    """An export failure whose message is fit to show the tenant (others get exports.FAILED_MESSAGE)."""


def _member_pages(
    export: SegmentExport, generation: int, computed_at: datetime
) -> Iterator[list[tuple[str, datetime]]]:
    """One member set by user id, a page at a time (keyset: each page is a short indexed read)."""
    members = SegmentMember.objects.for_tenant(export.tenant).filter(
        stay_covers(generation), segment_id=export.segment_id
    )
    after: str | None = None
    while True:
        page = members.filter(user_id__gt=after) if after is not None else members
        user_ids = list(page.order_by("user_id").values_list("user_id", flat=True)[:_BATCH_ROWS])
        rows = [(user_id, computed_at) for user_id in user_ids]
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
    generation, total, computed_at = (
        Segment.objects.for_tenant(export.tenant)
        .filter(pk=export.segment_id)
        .values_list("generation", "member_count", "last_computed_at")
        .get()
    )
    assert computed_at is not None, "a computed set has the time of its compute"
    _progress(export, total_rows=total, row_count=0)
    written = 0
    with path.open("wb") as out:
        writer = _CsvWriter(out) if export.format == ExportFormat.CSV else _ParquetWriter(out)
        for page in _member_pages(export, generation, computed_at):
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


def scratch_dir(export_id: Any) -> Path:
    """Where one export is written (removed once it is stored, or found and purged)."""
    return scratch_root() / f"{_SCRATCH_PREFIX}{export_id}"


def export_file_write(export: SegmentExport, scratch: Path) -> None:
    """Write the export's file in `scratch`, save it to the exports storage and mark the export done."""
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
