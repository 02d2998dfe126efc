"""A segment's Export card: Export CSV / Parquet, the progress while the worker writes, Download."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from segops_server.audit.models import Action, AuditEvent
from segops_server.console.tests.conftest import ConsoleFor, htmx
from segops_server.console.tests.events import shop
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment, SegmentExport
from segops_server.testing.factories import Team

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}


@pytest.fixture(autouse=True)
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    exports = settings.STORAGES["exports"]
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {**exports, "OPTIONS": {**exports["OPTIONS"], "location": folder}},
    }
    return folder


@pytest.fixture
def segment(team: Team) -> Segment:
    shop(team.tenant)
    made = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    segment_compute_run(segment_id=made.pk)
    made.refresh_from_db()
    return made


def test_a_viewer_exports_watches_the_progress_and_downloads(
    team: Team, console: ConsoleFor, segment: Segment, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    viewer = console("viewer")
    detail = viewer.get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert "Export CSV" in detail
    assert "Export Parquet" in detail

    with django_capture_on_commit_callbacks(execute=False) as queued:
        card = htmx(
            viewer, "post", f"/t/acme/segments/{segment.pk}/export/", {"format": "csv"}
        ).content.decode()
    # Until the worker is done, the card asks for itself again every second.
    assert 'data-export-status="pending"' in card
    assert 'hx-trigger="every 1s"' in card
    assert f'hx-get="/t/acme/segments/{segment.pk}/export/status/"' in card
    for callback in queued:  # the worker writes the file
        callback()
    done = htmx(viewer, "get", f"/t/acme/segments/{segment.pk}/export/status/").content.decode()
    assert 'data-export-status="complete"' in done
    assert "every 1s" not in done
    assert "2 members" in done

    export = SegmentExport.objects.for_tenant(team.tenant).get()
    download = viewer.get(f"/t/acme/segments/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="segment-{segment.pk}-members.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r[0] for r in rows] == ["user_id", "alice", "bob"]
    audited = AuditEvent.objects.for_tenant(team.tenant).filter(action__startswith="segment.").order_by("pk")
    assert [(e.action, e.actor) for e in audited] == [
        (Action.SEGMENT_EXPORTED, team.viewer),
        (Action.SEGMENT_EXPORT_DOWNLOADED, team.viewer),
    ]


def test_without_javascript_the_export_redirects_back(
    team: Team, console: ConsoleFor, segment: Segment, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = console("viewer").post(f"/t/acme/segments/{segment.pk}/export/", {"format": "parquet"})

    assert response["Location"] == f"/t/acme/segments/{segment.pk}/"
    assert SegmentExport.objects.for_tenant(team.tenant).get().status == "done"
    page = console("viewer").get(response["Location"]).content.decode()
    assert "Download Parquet" in page


def test_a_segment_never_computed_offers_no_export(team: Team, console: ConsoleFor) -> None:
    draft = segment_create(tenant=team.tenant, actor=team.owner, name="Draft", definition=BUYERS)

    page = console("viewer").get(f"/t/acme/segments/{draft.pk}/").content.decode()
    assert "Export CSV" not in page
    assert "Compute the segment to export its members." in page
    card = htmx(console("viewer"), "post", f"/t/acme/segments/{draft.pk}/export/", {"format": "csv"})
    assert "has not been computed yet" in card.content.decode()
    assert not SegmentExport.objects.for_tenant(team.tenant).exists()


def test_an_unknown_format_is_refused(team: Team, console: ConsoleFor, segment: Segment) -> None:
    card = htmx(console("viewer"), "post", f"/t/acme/segments/{segment.pk}/export/", {"format": "xlsx"})

    assert "Choose CSV or Parquet." in card.content.decode()
    assert not SegmentExport.objects.for_tenant(team.tenant).exists()


def test_a_download_before_the_file_is_ready_goes_back_with_a_message(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    viewer = console("viewer")
    viewer.post(f"/t/acme/segments/{segment.pk}/export/", {"format": "csv"})  # the worker has not run
    export = SegmentExport.objects.for_tenant(team.tenant).get()

    response = viewer.get(f"/t/acme/segments/exports/{export.pk}/download/", follow=True)

    assert response.redirect_chain[-1][0] == f"/t/acme/segments/{segment.pk}/"
    assert "This export is not ready yet (status: pending)." in response.content.decode()


def test_another_tenants_export_is_not_found_under_ones_own_workspace(
    team: Team, console: ConsoleFor, segment: Segment, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        console("viewer").post(f"/t/acme/segments/{segment.pk}/export/", {"format": "csv"})
    export = SegmentExport.objects.for_tenant(team.tenant).get()

    response = console("outsider").get(f"/t/globex/segments/exports/{export.pk}/download/")

    assert response.status_code == 404
    assert b"alice" not in response.content
