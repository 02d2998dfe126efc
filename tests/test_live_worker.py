"""A dead task worker comes back and finishes what it was doing: the production server
(`segops run`), its worker killed with SIGKILL mid-compute and mid-export, real HTTP.

The worker is made slow where it matters (tests/hooks/sitecustomize.py: the compile step of a
compute, the first read of an export) so that it can be killed in the middle of its work.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from segops_server.testing.live import (
    LiveServer,
    api_key_issue,
    is_postgresql,
    live_database,
    live_server_start,
    sign_up,
)

pytestmark = pytest.mark.live

HOOKS = Path(__file__).parent / "hooks"
SLOW_SECONDS = 3
FAST_RESCUE = {
    "SEGOPS_WORKER_HEARTBEAT_SECONDS": "1",
    "SEGOPS_TASK_LEASE_SECONDS": "3",
    "SEGOPS_SCHEDULER_INTERVAL_SECONDS": "1",
    "SEGOPS_WORKER_STALE_SECONDS": "5",
    "SEGOPS_SQLITE_BUSY_TIMEOUT_SECONDS": "2",  # a held write lock is an outage within seconds
    "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOKS), os.environ.get("PYTHONPATH", "")])),
    "SEGOPS_TEST_SLOW": (
        f"segops_server.segments.compute.services:tenant_definition_compile:{SLOW_SECONDS},"
        f"segops_server.segments.exports.files:_member_pages:{SLOW_SECONDS}"
    ),
}
BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}


class Live:
    def __init__(self, server: LiveServer, database_url: str, data_dir: Path) -> None:
        self.server = server
        self.database_url = database_url
        self.data_dir = data_dir
        self.key = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method,
            f"{self.server.url}{path}",
            json=body,
            headers={"Authorization": f"ApiKey {self.key}"},
            timeout=30,
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Read the live server's database directly (what the API does not show: compute_state)."""
        if is_postgresql(self.database_url):
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                return list(conn.execute(query).fetchall())
        path = self.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as conn:
            return list(conn.execute(query).fetchall())

    def worker_pid(self) -> int | None:
        """The task worker among `segops run`'s children."""
        pid = self.server.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"worker" in command and b"segops_server.cli" in command:
                return int(child)
        return None


def _wait(what: str, ready: Callable[[], Any], live: Live, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {seconds}s:\n{live.server.output()[-4000:]}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    directory = tmp_path_factory.mktemp("live-worker")
    with live_database(directory) as database_url:
        data_dir = directory / "data"
        server = live_server_start(data_dir=data_dir, database_url=database_url, workers=1, env=FAST_RESCUE)
        try:
            state = Live(server, database_url, data_dir)
            state.key = api_key_issue(server, sign_up(server, "workco"), "workco")["key"]
            for user in ("ann", "ann", "ben", "ben", "cy"):
                state.call("POST", "/api/ingestion/track/", {"user_id": user, "event_type": "order_placed"})
            yield state
        finally:
            server.stop()


def _kill_worker(live: Live) -> int:
    pid = _wait("a running worker", live.worker_pid, live)
    os.kill(pid, signal.SIGKILL)
    return int(pid)


def _restarted(live: Live, old: int) -> int:
    return int(_wait("a new worker", lambda: (pid := live.worker_pid()) and pid != old and pid, live))


def _database_fault(live: Live) -> None:
    """SQLite: another process holds the write lock for 8 s (past the busy timeout). PostgreSQL:
    every connection of the server is cut, as a restart does."""
    if is_postgresql(live.database_url):
        name = live.database_url.rsplit("/", 1)[-1]
        for _ in range(3):
            live.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            time.sleep(1)
        return
    path = live.database_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(8)
    finally:
        holder.execute("COMMIT")
        holder.close()


def test_the_worker_rides_out_a_database_fault_with_one_line_per_outage(live: Live) -> None:
    worker = _wait("a running worker", live.worker_pid, live)
    since = len(live.server.output())
    _database_fault(live)
    # The web server's own cut connections are not this test's subject: let its threads drop them.
    for _ in range(6):
        requests.get(f"{live.server.url}/readyz", timeout=30)
    segment = live.call("POST", "/api/segments/", {"name": "After", "definition": BUYERS})["id"]
    live.call("POST", f"/api/segments/{segment}/compute/")
    _wait("the compute", lambda: live.call("GET", f"/api/segments/{segment}/")["status"] == "computed", live)
    assert live.worker_pid() == worker  # the same process: it waited instead of exiting
    log = live.server.output()[since:]
    assert "killed by" not in log
    assert "exited with" not in log
    assert "Traceback" not in log
    if not is_postgresql(live.database_url):
        # One outage (the lock outlived the busy timeout), one line each way, however many tries.
        # Not counted on PostgreSQL: a shared test server may cut connections more than once.
        assert log.count("Task worker: database unavailable") == 1
        assert log.count("Task worker: database available again") == 1
        assert log.count("Worker heartbeat: database unavailable") == 1


def test_a_worker_killed_with_sigkill_is_restarted_and_reported(live: Live) -> None:
    old = _kill_worker(live)
    new = _restarted(live, old)
    assert new != old
    assert f"The task worker (pid {old}) killed by SIGKILL; restarting it" in live.server.output()
    ready = _wait(
        "a fresh heartbeat",
        lambda: (r := requests.get(f"{live.server.url}/readyz", timeout=10)).status_code == 200 and r,
        live,
    )
    assert ready.json()["worker"]["status"] == "ok"


def test_a_compute_whose_worker_was_killed_midway_finishes_on_the_next_worker(live: Live) -> None:
    segment = live.call("POST", "/api/segments/", {"name": "Buyers", "definition": BUYERS})["id"]
    assert live.call("POST", f"/api/segments/{segment}/compute/") == {"status": "queued", "coalesced": False}
    query = f"SELECT compute_state FROM segments_segment WHERE id = {int(segment)}"
    _wait("the compute running", lambda: live.sql(query) == [("running",)], live)
    old = _kill_worker(live)  # in the middle of the compute (its compile step sleeps)

    _restarted(live, old)
    _wait(
        "the compute finished",
        lambda: live.call("GET", f"/api/segments/{segment}/")["status"] == "computed",
        live,
    )
    assert live.call("GET", f"/api/segments/{segment}/")["member_count"] == 2
    # And it can be computed again at once: nothing is left marked as running.
    assert live.call("POST", f"/api/segments/{segment}/compute/")["coalesced"] is False


def test_an_export_whose_worker_was_killed_midway_finishes_on_the_next_worker(live: Live) -> None:
    segment = live.call("POST", "/api/segments/", {"name": "Exported", "definition": BUYERS})["id"]
    live.call("POST", f"/api/segments/{segment}/compute/")
    _wait(
        "the compute finished",
        lambda: live.call("GET", f"/api/segments/{segment}/")["status"] == "computed",
        live,
    )
    export = live.call("POST", f"/api/segments/{segment}/export/", {"format": "csv"})["export_id"]
    status = f"/api/segments/{segment}/export/?export_id={export}"
    _wait("the export running", lambda: live.call("GET", status)["status"] == "running", live)
    scratch = live.data_dir / "tmp" / f"export-{export}"
    _wait("the export's scratch directory", scratch.exists, live)
    old = _kill_worker(live)  # in the middle of the export (its first read sleeps)

    _restarted(live, old)
    done = _wait(
        "the export complete", lambda: (s := live.call("GET", status))["status"] == "complete" and s, live
    )
    assert done["row_count"] == 2
    response = requests.get(
        f"{live.server.url}/api/segments/exports/{export}/download/",
        headers={"Authorization": f"ApiKey {live.key}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert [line.split(",")[0] for line in response.text.splitlines()[1:]] == ["ann", "ben"]
    assert not scratch.exists()  # nothing of the killed run is left behind


def test_the_worker_and_web_server_leave_when_segops_run_is_killed(tmp_path: Path) -> None:
    with live_database(tmp_path) as database_url:
        server = live_server_start(
            data_dir=tmp_path / "data", database_url=database_url, workers=1, env=FAST_RESCUE
        )
        try:
            state = Live(server, database_url, tmp_path / "data")
            worker = _wait("a running worker", state.worker_pid, state)
            pid = server.process.pid
            children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            assert worker in children
            os.kill(pid, signal.SIGKILL)  # the supervisor only, not its process group
            server.process.wait(timeout=10)

            def gone() -> bool:
                return not any(Path(f"/proc/{child}").exists() and _alive(child) for child in children)

            _wait("the worker and granian gone", gone, state, seconds=10)
        finally:
            server.kill()


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
