"""A webhook delivery in flight when its worker is killed with SIGKILL still arrives: the
production server (`segops run`), a real receiver holding the first request open, the worker
killed mid-delivery, the same message sent again by the next worker and recorded as succeeded."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from segops_admin.webhook import verify_webhook

from segops_server.testing.live import (
    LiveServer,
    api_key_issue,
    is_postgresql,
    live_database,
    live_server_start,
    sign_up,
)
from segops_server.testing.receiver import Answer, Receiver
from segops_server.webhooks.signing import secret_generate

pytestmark = pytest.mark.live

FAST_RESCUE = {
    "SEGOPS_WORKER_HEARTBEAT_SECONDS": "1",
    "SEGOPS_TASK_LEASE_SECONDS": "3",
    "SEGOPS_SCHEDULER_INTERVAL_SECONDS": "1",
    "SEGOPS_WORKER_STALE_SECONDS": "5",
    "SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS": "1",  # the receiver is on 127.0.0.1
}
BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}


class Live:
    def __init__(self, server: LiveServer, database_url: str) -> None:
        self.server = server
        self.database_url = database_url
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
        if is_postgresql(self.database_url):
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.execute(query)
                return list(cursor.fetchall()) if cursor.description else []
        path = self.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as conn:
            return list(conn.execute(query).fetchall())

    def worker_pid(self) -> int | None:
        pid = self.server.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
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


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with live_database(tmp_path) as database_url:
        server = live_server_start(
            data_dir=tmp_path / "data", database_url=database_url, workers=1, env=FAST_RESCUE
        )
        try:
            state = Live(server, database_url)
            state.key = api_key_issue(server, sign_up(server, "hookco"), "hookco")["key"]
            for user in ("ann", "ben"):
                state.call("POST", "/api/ingestion/track/", {"user_id": user, "event_type": "order_placed"})
            yield state
        finally:
            server.stop()


def _webhook_add(live: Live, url: str, secret: str) -> None:
    """Straight into the database: what the webhooks API stores."""
    ((tenant,),) = live.sql("SELECT id FROM accounts_tenant WHERE slug = 'hookco'")
    live.sql(
        "INSERT INTO webhooks_webhook (tenant_id, url, secret, description, is_active, events, "
        "segment_ids, disabled_reason, created_at, updated_at) VALUES "
        f"({int(tenant)}, '{url}', '{secret}', '', TRUE, "
        "'[\"segment.membership_changed\", \"segment.recomputed\"]', NULL, '', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )


def test_a_delivery_whose_worker_was_killed_midway_arrives_from_the_next_worker(live: Live) -> None:
    hold = threading.Event()
    secret = secret_generate()
    with Receiver().running() as receiver:
        receiver.answer(Answer(hold=hold))  # the first request stays open: the delivery is in flight
        _webhook_add(live, receiver.url(), secret)
        segment = live.call("POST", "/api/segments/", {"name": "Buyers", "definition": BUYERS})["id"]
        live.call("POST", f"/api/segments/{segment}/compute/")
        assert receiver.wait_for(1, 60), live.server.output()[-4000:]
        old = _wait("a running worker", live.worker_pid, live)
        os.kill(old, signal.SIGKILL)
        hold.set()
        _wait("a new worker", lambda: (pid := live.worker_pid()) and pid != old and pid, live)

        assert receiver.wait_for(3, 60), live.server.output()[-4000:]
        first, again, recomputed = receiver.requests[:3]
        message_id = first.header("webhook-id")
        assert again.header("webhook-id") == message_id
        assert again.json()["id"] == first.json()["id"] == message_id
        assert again.json()["entered"] == ["ann", "ben"]
        assert verify_webhook(again.body, again.header("X-SegOps-Signature"), secret)
        assert recomputed.json()["event"] == "segment.recomputed"
    rows = _wait(
        "the delivery recorded",
        lambda: (
            r := live.sql(
                f"SELECT status, attempt_count FROM webhooks_delivery WHERE message_id = '{message_id}'"
            )
        )
        and r[0][0] == "succeeded"
        and r,
        live,
    )
    assert rows == [("succeeded", 1)]  # the killed worker's attempt never finished, so never counted
    log = live.server.output()
    assert secret not in log
