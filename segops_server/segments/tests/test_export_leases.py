"""Export leases and failures: an export whose worker died is written again, a failure shows a
short public message (the detail stays in the log), and no scratch file outlives its export."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from segops_server.segments.exports import files as export_files
from segops_server.segments.exports import services as exports
from segops_server.segments.models import ExportStatus, SegmentExport
from segops_server.segments.tests.test_exports import _export
from segops_server.testing.factories import Team

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exports_dir")]


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return Path(settings.DATA_DIR)


def _state(team: Team, segment_id: int, export_id: str) -> dict[str, Any]:
    response = team.client("viewer").get(f"/api/segments/{segment_id}/export/?export_id={export_id}")
    body: dict[str, Any] = response.json()
    return body


def _left_running(team: Team, export_id: str, *, seconds: int = -5) -> None:
    """The state a worker killed mid-export leaves behind (seconds < 0: the lease has expired)."""
    SegmentExport.objects.for_tenant(team.tenant).filter(pk=export_id).update(
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() + timedelta(seconds=seconds),
    )


def test_it_writes_again_an_export_whose_worker_died(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any, data_dir: Path
) -> None:
    client = team.client("member")
    first = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    _left_running(team, first["export_id"])
    leftover = data_dir / "tmp" / f"export-{first['export_id']}"
    leftover.mkdir(parents=True)
    (leftover / "export.csv").write_text("user_id,computed_at\nhalf")

    again = _export(team, computed, django_capture_on_commit_callbacks, format="csv").json()

    assert again["export_id"] == first["export_id"]
    state = _state(team, computed, first["export_id"])
    assert state["status"] == "complete"
    assert state["row_count"] == 2
    assert not leftover.exists()
    download = team.client("viewer").get(f"/api/segments/exports/{first['export_id']}/download/")
    assert download.status_code == 200


def test_it_coalesces_with_an_export_whose_worker_is_alive(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    client = team.client("member")
    first = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    _left_running(team, first["export_id"], seconds=30)
    again = _export(team, computed, django_capture_on_commit_callbacks, format="csv").json()
    assert again["export_id"] == first["export_id"]
    assert _state(team, computed, first["export_id"])["status"] == "running"


def test_the_rescue_queues_again_only_exports_whose_lease_expired(
    team: Team, computed: int, django_capture_on_commit_callbacks: Any
) -> None:
    client = team.client("member")
    dead = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    alive = client.post(f"/api/segments/{computed}/export/", {"format": "parquet"}, format="json").json()
    _left_running(team, dead["export_id"])
    _left_running(team, alive["export_id"], seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert exports.exports_rescue() == 1
    assert _state(team, computed, dead["export_id"])["status"] == "complete"
    assert _state(team, computed, alive["export_id"])["status"] == "running"


def test_a_failed_export_shows_no_server_path(
    team: Team,
    computed: int,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    data_dir: Path,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", "/srv/segops/data/exports/1/segment-1.csv")

    monkeypatch.setattr(export_files.exports_storage().__class__, "save", refuse)
    with caplog.at_level(logging.ERROR, logger="segops_server.segments.exports.services"):
        body = _export(team, computed, django_capture_on_commit_callbacks).json()

    state = _state(team, computed, body["export_id"])
    assert state["status"] == "failed"
    assert state["error"] == exports.FAILED_MESSAGE
    assert "/" not in state["error"]
    download = team.client("viewer").get(f"/api/segments/exports/{body['export_id']}/download/")
    assert download.status_code == 409
    assert "/srv/" not in download.json()["detail"]
    assert "/srv/segops/data/exports" in caplog.text  # the operator still sees it
    assert not (data_dir / "tmp" / f"export-{body['export_id']}").exists()


def test_it_removes_the_scratch_files_no_running_export_owns(
    team: Team, computed: int, data_dir: Path
) -> None:
    client = team.client("member")
    running = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    stale = client.post(f"/api/segments/{computed}/export/", {"format": "parquet"}, format="json").json()
    _left_running(team, running["export_id"], seconds=30)
    _left_running(team, stale["export_id"])
    root = data_dir / "tmp"
    for name in (f"export-{running['export_id']}", f"export-{stale['export_id']}", "export-gone"):
        (root / name).mkdir(parents=True)
        (root / name / "export.csv").write_text("x")
    (root / "unrelated").mkdir()

    assert export_files.exports_scratch_purge() == 2

    assert sorted(p.name for p in root.iterdir()) == [f"export-{running['export_id']}", "unrelated"]


def test_the_worker_purges_scratch_files_when_it_starts(
    settings: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segops_server import cli

    leftover = data_dir / "tmp" / "export-0b7c1f9e-dead-4bad-8000-000000000000"
    leftover.mkdir(parents=True)
    seen: dict[str, Any] = {}
    monkeypatch.setattr("segops_server.core.runner.worker_main", lambda **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["worker"]) == 0
    assert not leftover.exists()
    assert seen["parent"] is None


def test_the_migration_hides_the_details_of_earlier_failures(team: Team, computed: int) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("segops_server.segments.migrations.0003_task_leases")
    client = team.client("member")
    leaky = client.post(f"/api/segments/{computed}/export/", {"format": "csv"}, format="json").json()
    public = client.post(f"/api/segments/{computed}/export/", {"format": "parquet"}, format="json").json()
    rows = SegmentExport.objects.for_tenant(team.tenant)
    rows.filter(pk=leaky["export_id"]).update(
        status=ExportStatus.FAILED, error="PermissionError: [Errno 13] Permission denied: '/srv/segops/x.csv'"
    )
    rows.filter(pk=public["export_id"]).update(
        status=ExportStatus.FAILED, error="RuntimeError: the member set kept changing while it was read"
    )
    migration.hide_failure_details(apps, None)
    assert rows.get(pk=leaky["export_id"]).error == exports.FAILED_MESSAGE
    assert "kept changing" in rows.get(pk=public["export_id"]).error
