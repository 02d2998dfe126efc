"""Segment exports: request, progress, download (CSV and Parquet), expiry, rights and isolation."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.utils import timezone

from segops_server.audit.models import Action, AuditEvent
from segops_server.keys.services import api_key_create
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_update
from segops_server.segments.exports import files as export_files
from segops_server.segments.exports import services as exports
from segops_server.segments.models import Segment, SegmentExport
from segops_server.segments.tests.test_segments_api import BUYERS, _create, _history, _send
from segops_server.testing.factories import Team, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exports_dir")]


def _export(team: Team, segment_id: int, capture: Any, who: str = "member", **body: Any) -> Any:
    with capture(execute=True):
        return team.client(who).post(f"/api/segments/{segment_id}/export/", body, format="json")


def _download(team: Team, url: str, who: str = "viewer") -> Any:
    return team.client(who).get(url.removeprefix("http://testserver"))


def test_it_exports_members_as_csv(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    response = _export(team, computed, django_capture_on_commit_callbacks, format="csv")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["coalesced"] is False
    state = (
        team.client("viewer").get(f"/api/segments/{computed}/export/?export_id={body['export_id']}").json()
    )
    assert state["status"] == "complete"
    assert state["row_count"] == state["total_rows"] == 2
    assert state["generation"] == 1
    assert state["download_url"] == f"http://testserver/api/segments/exports/{body['export_id']}/download/"

    download = _download(team, state["download_url"])

    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == f'attachment; filename="segment-{computed}-members.csv"'
    assert download["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["user_id", "computed_at"]
    assert [r[0] for r in rows[1:]] == ["alice", "bob"]
    members = team.client("viewer").get(f"/api/segments/{computed}/members/").json()["results"]
    assert [r[1] for r in rows[1:]] == [m["computed_at"] for m in members]  # the API's form


def test_it_exports_members_as_parquet(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks, format="parquet").json()

    download = _download(team, f"/api/segments/exports/{body['export_id']}/download/")

    assert download["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(b"".join(download.streaming_content)))
    assert table.column_names == ["user_id", "computed_at"]
    assert table.column("user_id").to_pylist() == ["alice", "bob"]
    assert str(table.schema.field("computed_at").type) == "timestamp[us, tz=UTC]"
    computed_at = SegmentExport.objects.for_tenant(team.tenant).get().segment.last_computed_at
    assert table.column("computed_at").to_pylist() == [computed_at, computed_at]


def test_it_writes_large_sets_page_by_page_in_user_id_order(
    team: Team, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _send(team, *[(f"user-{n:02d}", "order_placed", 1) for n in range(25)])
    _send(team, *[(f"user-{n:02d}", "order_placed", 2) for n in range(25)])
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    monkeypatch.setattr(export_files, "_BATCH_ROWS", 4)  # 7 pages, the last one short

    for form in ("csv", "parquet"):
        body = _export(team, segment_id, django_capture_on_commit_callbacks, format=form).json()
        raw = b"".join(
            _download(team, f"/api/segments/exports/{body['export_id']}/download/").streaming_content
        )
        if form == "csv":
            ids = [row[0] for row in csv.reader(io.StringIO(raw.decode()))][1:]
        else:
            ids = pq.read_table(io.BytesIO(raw)).column("user_id").to_pylist()
        assert ids == [f"user-{n:02d}" for n in range(25)]


def _export_with_a_compute_midway(
    team: Team, computed: int, capture: Any, monkeypatch: pytest.MonkeyPatch, compute: Any
) -> dict[str, Any]:
    """Export the segment while `compute()` swaps in a new set as the first page is read."""
    pages = export_files._member_pages
    swaps = []

    def swap_first(export: SegmentExport, generation: int, computed_at: Any) -> Any:
        if not swaps:
            swaps.append(generation)
            compute()
        return pages(export, generation, computed_at)

    monkeypatch.setattr(export_files, "_member_pages", swap_first)
    body = _export(team, computed, capture).json()
    assert swaps == [1]
    state: dict[str, Any] = (
        team.client("viewer").get(f"/api/segments/{computed}/export/?export_id={body['export_id']}").json()
    )
    assert state["status"] == "complete"
    raw = b"".join(_download(team, state["download_url"]).streaming_content).decode()
    state["user_ids"] = [row[0] for row in csv.reader(io.StringIO(raw))][1:]
    return state


def test_a_set_swapped_in_midway_that_only_adds_members_leaves_the_one_read_whole(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def carol_joins() -> None:
        _send(team, ("carol", "order_placed", 1), ("carol", "order_placed", 2))
        segment_compute_run(segment_id=computed)

    state = _export_with_a_compute_midway(
        team, computed, django_capture_on_commit_callbacks, monkeypatch, carol_joins
    )
    # Generation 1's stays are all still there: the file is that set, whole.
    assert (state["generation"], state["user_ids"]) == (1, ["alice", "bob"])


def test_it_starts_over_on_the_new_set_when_a_compute_midway_removes_members(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bob_leaves() -> None:  # three orders now needed: alice has them, bob does not
        _send(team, ("alice", "order_placed", 3))
        segment = Segment.objects.for_tenant(team.tenant).get(pk=computed)
        three = {**BUYERS, "conditions": [{**BUYERS["conditions"][0], "value": 3}]}
        segment_update(segment=segment, actor=team.owner, definition=three)
        segment_compute_run(segment_id=computed)

    state = _export_with_a_compute_midway(
        team, computed, django_capture_on_commit_callbacks, monkeypatch, bob_leaves
    )
    # Bob's ended stay was deleted under the reader: the set read came short, so it started over.
    assert (state["generation"], state["user_ids"]) == (2, ["alice"])


def test_it_fails_clearly_when_the_set_keeps_changing(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # never the whole set
    monkeypatch.setattr(export_files, "_member_pages", lambda export, generation, computed_at: iter([]))

    body = _export(team, computed, django_capture_on_commit_callbacks).json()

    state = (
        team.client("viewer").get(f"/api/segments/{computed}/export/?export_id={body['export_id']}").json()
    )
    assert state["status"] == "failed"
    assert "kept changing" in state["error"]
    download = _download(team, f"/api/segments/exports/{body['export_id']}/download/")
    assert download.status_code == 409
    assert "failed" in download.json()["detail"]


def test_it_coalesces_requests_for_the_same_file(team: Team, computed: int) -> None:
    client = team.client("member")  # the worker has not run (no on-commit callbacks here)
    first = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    again = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    other = client.post(f"/api/segments/{computed}/export/", {"format": "parquet"}, format="json").json()

    assert again["export_id"] == first["export_id"]
    assert again["coalesced"] is True
    assert other["export_id"] != first["export_id"]
    listed = team.client("viewer").get(f"/api/segments/{computed}/export/").json()
    assert listed["count"] == 2
    assert [e["format"] for e in listed["results"]] == ["parquet", "csv"]  # newest first


def test_it_answers_409_before_the_file_is_ready(team: Team, computed: int) -> None:
    body = team.client("member").post(f"/api/segments/{computed}/export/", {}, format="json").json()

    assert body["format"] == "csv"  # the default
    response = _download(team, f"/api/segments/exports/{body['export_id']}/download/")
    assert response.status_code == 409
    assert response.json() == {"detail": "This export is not ready yet (status: pending)."}


def test_it_refuses_to_export_a_segment_never_computed(team: Team) -> None:
    segment_id = _create(team).json()["id"]

    response = team.client("member").post(f"/api/segments/{segment_id}/export/", {}, format="json")

    assert response.status_code == 409
    assert "compute it" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"format": "xlsx"}, "format"), ({"format": ["csv"]}, "format"), ([], "non_field_errors")],
)
def test_it_refuses_a_bad_request_naming_the_field(team: Team, computed: int, body: Any, field: str) -> None:
    response = team.client("member").post(f"/api/segments/{computed}/export/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_it_answers_400_to_a_malformed_export_id_and_404_to_an_unknown_one(team: Team, computed: int) -> None:
    viewer = team.client("viewer")

    bad = viewer.get(f"/api/segments/{computed}/export/?export_id=12")
    assert bad.status_code == 400
    assert "export_id" in bad.json()
    missing = viewer.get(f"/api/segments/{computed}/export/?export_id=7f1c0a52-3a1e-4a49-9d2c-7d9c2e1f0b11")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Export not found."}
    download = viewer.get("/api/segments/exports/7f1c0a52-3a1e-4a49-9d2c-7d9c2e1f0b11/download/")
    assert download.status_code == 404
    assert viewer.get("/api/segments/exports/not-a-uuid/download/").status_code == 404


def test_it_expires_old_files(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, exports_dir: Path
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks).json()
    assert len(list(exports_dir.rglob("*.csv"))) == 1

    assert exports.exports_expire() == 0  # not yet
    later = timezone.now() + timedelta(hours=settings.SEGOPS_EXPORT_RETENTION_HOURS, minutes=1)
    assert exports.exports_expire(now=later) == 1

    assert list(exports_dir.rglob("*.csv")) == []
    response = _download(team, f"/api/segments/exports/{body['export_id']}/download/")
    assert response.status_code == 410
    assert response.json() == {"detail": "This export has expired: request a new one."}
    state = (
        team.client("viewer").get(f"/api/segments/{computed}/export/?export_id={body['export_id']}").json()
    )
    assert state["status"] == "expired"
    assert state["download_url"] is None


def test_the_workers_scheduler_expires_old_exports(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, exports_dir: Path
) -> None:
    from segops_server.cli import scheduler_round

    body = _export(team, computed, django_capture_on_commit_callbacks).json()
    SegmentExport.objects.for_tenant(team.tenant).filter(pk=body["export_id"]).update(
        created_at=timezone.now() - timedelta(hours=settings.SEGOPS_EXPORT_RETENTION_HOURS, minutes=1)
    )

    scheduler_round()

    assert SegmentExport.objects.for_tenant(team.tenant).get().status == "expired"
    assert list(exports_dir.rglob("*.csv")) == []


def test_it_answers_410_when_the_file_was_removed_by_hand(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, exports_dir: Path
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks).json()
    (path,) = exports_dir.rglob("*.csv")
    path.unlink()

    response = _download(team, f"/api/segments/exports/{body['export_id']}/download/")

    assert response.status_code == 410
    assert response.json() == {"detail": "The file of this export is gone: request a new one."}


def test_it_keeps_files_private_to_the_server_account(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, exports_dir: Path
) -> None:
    _export(team, computed, django_capture_on_commit_callbacks)

    (path,) = exports_dir.rglob("*.csv")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700


def test_it_deletes_the_files_with_the_segment(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, exports_dir: Path
) -> None:
    _export(team, computed, django_capture_on_commit_callbacks)

    assert team.client("member").delete(f"/api/segments/{computed}/").status_code == 204

    assert list(exports_dir.rglob("*.csv")) == []
    assert not SegmentExport.objects.for_tenant(team.tenant).exists()


def test_it_audits_requests_and_downloads(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks, who="viewer").json()
    _download(team, f"/api/segments/exports/{body['export_id']}/download/", who="admin")

    events = AuditEvent.objects.for_tenant(team.tenant).filter(action__startswith="segment.").order_by("pk")
    assert [(e.action, e.actor) for e in events] == [
        (Action.SEGMENT_EXPORTED, team.viewer),
        (Action.SEGMENT_EXPORT_DOWNLOADED, team.admin),
    ]
    assert events[0].detail == {"segment_id": computed, "export_id": body["export_id"], "format": "csv"}


def _key_client(team: Team, scope: str) -> Any:
    client = client_for()
    issued = api_key_create(tenant=team.tenant, created_by=team.owner, name=scope, scopes=[scope])
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {issued.key}")
    return client


def test_it_takes_secret_keys_with_segments_read(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    reader = _key_client(team, "segments:read")
    writer_only = _key_client(team, "events:write")

    with django_capture_on_commit_callbacks(execute=True):
        body = reader.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    assert reader.get(f"/api/segments/exports/{body['export_id']}/download/").status_code == 200
    event = AuditEvent.objects.for_tenant(team.tenant).get(action=Action.SEGMENT_EXPORTED)
    assert event.actor is None
    assert event.key_prefix.startswith("sk_")

    assert writer_only.post(f"/api/segments/{computed}/export/", {}, format="json").status_code == 403
    assert writer_only.get(f"/api/segments/{computed}/export/").status_code == 403
    assert writer_only.get(f"/api/segments/exports/{body['export_id']}/download/").status_code == 403


def test_it_hides_exports_from_an_outsider(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks).json()
    outsider = team.client("outsider")

    assert outsider.post(f"/api/segments/{computed}/export/", {}, format="json").status_code == 404
    assert outsider.get(f"/api/segments/{computed}/export/").status_code == 404
    assert outsider.get(f"/api/segments/{computed}/export/?export_id={body['export_id']}").status_code == 404
    response = outsider.get(f"/api/segments/exports/{body['export_id']}/download/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Export not found."}
    assert SegmentExport.objects.for_tenant(team.tenant).count() == 1


def test_it_does_not_show_one_segments_export_under_another(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    body = _export(team, computed, django_capture_on_commit_callbacks).json()
    other = _create(team).json()["id"]

    response = team.client("viewer").get(f"/api/segments/{other}/export/?export_id={body['export_id']}")

    assert response.status_code == 404


def test_it_writes_an_empty_set_as_a_file_with_only_its_header(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    _history(team)
    nobody = {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": "refund", "operator": "gte", "value": 1}],
    }
    segment_id = _create(team, definition=nobody).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")

    csv_body = _export(team, segment_id, django_capture_on_commit_callbacks).json()
    parquet_body = _export(team, segment_id, django_capture_on_commit_callbacks, format="parquet").json()

    raw = b"".join(
        _download(team, f"/api/segments/exports/{csv_body['export_id']}/download/").streaming_content
    )
    assert raw == b"user_id,computed_at\n"
    table = pq.read_table(
        io.BytesIO(
            b"".join(
                _download(
                    team, f"/api/segments/exports/{parquet_body['export_id']}/download/"
                ).streaming_content
            )
        )
    )
    assert table.num_rows == 0
    assert table.column_names == ["user_id", "computed_at"]
