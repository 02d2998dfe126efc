"""A 202 means stored: SIGKILL the production server mid-traffic, and every acknowledged event
is in the database exactly once after a restart (unacknowledged ones at most once).

Four clients send batches of 50 events, each event numbered in its payload. Two of them send
message ids (the transaction path); two do not (on PostgreSQL, the one-statement path).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import Event
from segops_server.testing.live import (
    LiveServer,
    api_key_issue,
    is_postgresql,
    live_database,
    live_server_start,
    sign_up,
)

pytestmark = pytest.mark.live

CLIENTS = 4
BATCH_SIZE = 50
KILL_AFTER_SECONDS = 1.5  # ... and once some batches were acknowledged (a loaded machine is slow)
KILL_AT_THE_LATEST_SECONDS = 20.0
MIN_ACKNOWLEDGED = BATCH_SIZE * CLIENTS
RUN_AFTER_KILL_SECONDS = 1.5
USERS = 20
SLUG = "durable"


@dataclass
class Traffic:
    """What the clients sent and which of their requests were answered 202."""

    acknowledged: set[int] = field(default_factory=set)
    unanswered: set[int] = field(default_factory=set)
    other_answers: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, key: str, number: int, stop: threading.Event, traffic: Traffic, counter: Any) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"ApiKey {key}"
    with_message_ids = number % 2 == 0
    while not stop.is_set():
        seqs = [next(counter) for _ in range(BATCH_SIZE)]
        events = [
            {
                "user_id": f"user-{seq % USERS}",
                "event_type": "order_placed",
                "payload": {"seq": seq, "client": number},
                **({"message_id": f"msg-{seq}"} if with_message_ids else {}),
            }
            for seq in seqs
        ]
        try:
            response = session.post(f"{url}/api/ingestion/track/batch/", json={"events": events}, timeout=10)
        except requests.RequestException:
            with traffic.lock:
                traffic.unanswered.update(seqs)
            time.sleep(0.05)  # the server is gone; do not spin
            continue
        with traffic.lock:
            if response.status_code == 202 and response.json()["queued"] == BATCH_SIZE:
                traffic.acknowledged.update(seqs)
            else:
                traffic.other_answers.append((response.status_code, response.text[:200]))


def _drive_and_kill(server: LiveServer, key: str) -> Traffic:
    traffic = Traffic()
    counter = itertools.count()  # next() on itertools.count is atomic under the GIL
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client, args=(server.url, key, n, stop, traffic, counter))
        for n in range(CLIENTS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER_SECONDS)
    while (
        len(traffic.acknowledged) < MIN_ACKNOWLEDGED
        and time.monotonic() - started < KILL_AT_THE_LATEST_SECONDS
    ):
        time.sleep(0.05)
    server.kill()
    time.sleep(RUN_AFTER_KILL_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    return traffic


def _stored_seq_counts(database_url: str) -> Counter[int]:
    """Events of the tenant per payload sequence number, read from the database directly."""
    events, tenants = Event._meta.db_table, Tenant._meta.db_table
    if is_postgresql(database_url):
        sql = (
            f"SELECT (e.payload->>'seq')::bigint, count(*) FROM {events} e "
            f"JOIN {tenants} t ON t.id = e.tenant_id WHERE t.slug = %s GROUP BY 1"
        )
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(sql, (SLUG,)).fetchall()
    else:
        sql = (
            f"SELECT json_extract(e.payload, '$.seq'), count(*) FROM {events} e "
            f"JOIN {tenants} t ON t.id = e.tenant_id WHERE t.slug = ? GROUP BY 1"
        )
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(sql, (SLUG,)).fetchall()
    return Counter({int(seq): int(count) for seq, count in rows})


def test_it_keeps_every_acknowledged_event_exactly_once_after_a_kill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with live_database(tmp_path) as database_url:
        server = live_server_start(data_dir=data_dir, database_url=database_url)
        try:
            access = sign_up(server, SLUG)
            key = api_key_issue(server, access, SLUG)["key"]
            traffic = _drive_and_kill(server, key)
        finally:
            server.kill()

        assert traffic.other_answers == []
        assert len(traffic.acknowledged) >= MIN_ACKNOWLEDGED, "too little traffic before the kill"
        assert traffic.unanswered, "the kill did not interrupt the clients"

        restarted = live_server_start(data_dir=data_dir, database_url=database_url)
        try:
            stored = _stored_seq_counts(database_url)
            twice = {seq: n for seq, n in stored.items() if n > 1}
            assert twice == {}
            lost = traffic.acknowledged - set(stored)
            assert lost == set(), f"{len(lost)} acknowledged events were lost"
            assert set(stored) <= traffic.acknowledged | traffic.unanswered

            # The restarted server serves the same data: profiles agree with the stored events.
            users = requests.get(
                f"{restarted.url}/api/explorer/users/",
                params={"limit": 200},
                headers={"Authorization": f"ApiKey {key}"},
                timeout=10,
            )
            assert users.status_code == 200, users.text
            assert sum(u["event_count"] for u in users.json()["results"]) == sum(stored.values())
        finally:
            restarted.stop()
