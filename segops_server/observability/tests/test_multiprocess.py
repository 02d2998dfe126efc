"""prometheus-client's multiprocess mode: `segops run` empties the directory and every process
counts into it; /metrics adds the processes up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from segops_server import cli
from segops_server.observability.multiproc import MULTIPROC_ENV, metrics_dir_prepare

COUNT_ONE = (
    "from segops_server.observability.metrics import request_record; "
    "request_record(route='/api/probe/', method='GET', status=200, seconds=0.01)"
)


def test_it_empties_the_directory_of_counts_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "notes.txt").write_text("not ours")
    metrics_dir_prepare(directory, clean=True)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
    assert os.environ[MULTIPROC_ENV] == str(directory)


def test_it_keeps_the_counts_when_a_worker_joins(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"kept")
    metrics_dir_prepare(tmp_path, clean=False)
    assert (tmp_path / "counter_123.db").exists()


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_scrape_adds_up_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    env = {"PATH": "/usr/bin:/bin", MULTIPROC_ENV: str(tmp_path)}
    for _ in range(3):
        subprocess.run([sys.executable, "-c", COUNT_ONE], env=env, check=True, timeout=60)
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    text = Client().get("/metrics").content.decode()
    labels = {"route": "/api/probe/", "method": "GET", "status": "200"}
    assert _sample(text, "segops_http_requests_total", **labels) == 3
    assert _sample(text, "segops_task_queue_depth", queue="default") == 0  # read at scrape time too


def _run(settings: Any) -> list[str]:
    """The server command `segops run` would supervise (nothing migrated, started or supervised)."""
    with (
        mock.patch("django.core.management.call_command"),
        mock.patch("segops_server.cli.Supervisor") as supervisor,
    ):
        supervisor.return_value.run.return_value = 0
        cli.main(["run"])
    return list(supervisor.call_args.kwargs["server_argv"])


def test_segops_run_points_every_process_at_an_emptied_directory(
    db: None, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SEGOPS_METRICS_DIR = tmp_path / "metrics"
    settings.DATA_DIR = tmp_path
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99.db").write_bytes(b"a previous run's")
    _run(settings)
    # granian's workers and the task worker inherit the variable from `segops run`.
    assert os.environ[MULTIPROC_ENV] == str(tmp_path / "metrics")
    assert list((tmp_path / "metrics").iterdir()) == []


def test_segops_run_gives_granian_json_logs_when_asked(db: None, settings: Any, tmp_path: Path) -> None:
    settings.SEGOPS_METRICS_DIR = tmp_path / "metrics"
    settings.DATA_DIR = tmp_path
    settings.SEGOPS_LOG_FORMAT = "json"
    argv = _run(settings)
    config = json.loads(Path(argv[argv.index("--log-config") + 1]).read_text())
    assert config == cli.granian_log_config("json")
