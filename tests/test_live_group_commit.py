"""Group commit on the production server: single events sent at once share commits, and a SIGKILL
in the middle of it loses no event answered 202 (each is stored exactly once after a restart).

Eight clients send single events, each numbered in its payload; half of them with message ids
(the transaction path), half without (on PostgreSQL, the one-statement path). The server runs
four threads per process, so groups of several requests form.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from segops_server.testing.live import (
    LiveServer,
    api_key_issue,
    live_database,
    live_server_start,
    sign_up,
)
from tests.test_ingest_durability import SLUG, Traffic, _stored_seq_counts

pytestmark = pytest.mark.live

CLIENTS = 8
MIN_ACKNOWLEDGED = 400
KILL_AT_THE_LATEST_SECONDS = 30.0
RUN_AFTER_KILL_SECONDS = 1.0
ENV = {"SEGOPS_THREADS": "4", "SEGOPS_GROUP_COMMIT_MS": "2"}


def _client(url: str, key: str, number: int, stop: threading.Event, traffic: Traffic, counter: Any) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"ApiKey {key}"
    with_message_ids = number % 2 == 0
    while not stop.is_set():
        seq = next(counter)
        event = {
            "user_id": f"user-{seq % 20}",
            "event_type": "order_placed",
            "payload": {"seq": seq, "client": number},
            **({"message_id": f"msg-{seq}"} if with_message_ids else {}),
        }
        try:
            response = session.post(f"{url}/api/ingestion/track/", json=event, timeout=10)
        except requests.RequestException:
            with traffic.lock:
                traffic.unanswered.add(seq)
            time.sleep(0.05)
            continue
        with traffic.lock:
            if response.status_code == 202:
                traffic.acknowledged.add(seq)
            else:
                traffic.other_answers.append((response.status_code, response.text[:200]))


def _grouping(server: LiveServer) -> tuple[float, float]:
    """(commits, requests they stored) so far, added up over the server's processes."""
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    values = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}
    return values["segops_ingest_group_commits_total"], values["segops_ingest_grouped_requests_total"]


def test_group_committed_single_events_survive_a_kill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with live_database(tmp_path) as database_url:
        server = live_server_start(data_dir=data_dir, database_url=database_url, env=ENV)
        try:
            key = api_key_issue(server, sign_up(server, SLUG), SLUG)["key"]
            traffic = Traffic()
            counter = itertools.count()
            stop = threading.Event()
            threads = [
                threading.Thread(target=_client, args=(server.url, key, n, stop, traffic, counter))
                for n in range(CLIENTS)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while (
                len(traffic.acknowledged) < MIN_ACKNOWLEDGED
                and time.monotonic() - started < KILL_AT_THE_LATEST_SECONDS
            ):
                time.sleep(0.05)
            commits, grouped = _grouping(server)
            server.kill()
            time.sleep(RUN_AFTER_KILL_SECONDS)
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        finally:
            server.kill()

        assert traffic.other_answers == []
        assert len(traffic.acknowledged) >= MIN_ACKNOWLEDGED, "too little traffic before the kill"
        assert traffic.unanswered, "the kill did not interrupt the clients"
        assert grouped > commits > 0, f"{grouped} requests in {commits} commits: no group formed"

        restarted = live_server_start(data_dir=data_dir, database_url=database_url)
        try:
            stored: Counter[int] = _stored_seq_counts(database_url)
            assert {seq: n for seq, n in stored.items() if n > 1} == {}
            lost = traffic.acknowledged - set(stored)
            assert lost == set(), f"{len(lost)} acknowledged events were lost"
            assert set(stored) <= traffic.acknowledged | traffic.unanswered
        finally:
            restarted.stop()
