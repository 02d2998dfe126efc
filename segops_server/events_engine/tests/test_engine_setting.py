"""SEGOPS_EVENTS_ENGINE: the database by default; clickhouse only with a URL it can use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import override_settings

from segops_server.events_engine.engine import clickhouse_enabled, clickhouse_transport
from segops_server.testing.chdb import chdb_url, needs_chdb


def _settings_load(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEGOPS_EVENTS_ENGINE")}
    environ.pop("SEGOPS_CLICKHOUSE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", "import segops_server.settings as s; print(s.SEGOPS_EVENTS_ENGINE)"],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_reads_events_from_the_database_by_default() -> None:
    loaded = _settings_load()
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "database"
    assert not clickhouse_enabled()


@pytest.mark.parametrize(
    ("engine", "url", "message"),
    [
        ("clickhouse", "", "SEGOPS_CLICKHOUSE_URL"),
        ("clickhouse", "ftp://x", "SEGOPS_CLICKHOUSE_URL"),
        ("duckdb", "", "SEGOPS_EVENTS_ENGINE"),
    ],
)
def test_it_refuses_to_start_without_a_usable_engine(engine: str, url: str, message: str) -> None:
    loaded = _settings_load(SEGOPS_EVENTS_ENGINE=engine, SEGOPS_CLICKHOUSE_URL=url)
    assert loaded.returncode != 0
    assert message in loaded.stderr


def test_it_starts_on_clickhouse_with_a_chdb_url() -> None:
    loaded = _settings_load(SEGOPS_EVENTS_ENGINE="clickhouse", SEGOPS_CLICKHOUSE_URL="chdb:///tmp/x")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "clickhouse"


@needs_chdb
def test_it_opens_clickhouse_once_per_process() -> None:
    with override_settings(SEGOPS_EVENTS_ENGINE="clickhouse", SEGOPS_CLICKHOUSE_URL=chdb_url()):
        assert clickhouse_enabled()
        assert clickhouse_transport() is clickhouse_transport()
        assert clickhouse_transport().query("SELECT 1") == [(1,)]
