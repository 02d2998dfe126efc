"""PostgreSQL restarted under a live server while clients send events and a compute runs.

The server runs against a private PostgreSQL (its own data directory and port, never the shared
one), which is restarted (`pg_ctl restart -m fast`). During the outage every request is answered
at once with 503 and Retry-After (no hang, no 500); the server recovers by itself within
seconds; every event answered 202 is stored exactly once; the compute finishes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from segops_server.testing.faults import Traffic, stored_seq_counts, wait_for
from segops_server.testing.live import LiveServer, api_key_issue, is_postgresql, live_server_start, sign_up
from segops_server.testing.private_postgres import PrivatePostgres, private_postgres, unavailable_reason

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not is_postgresql(os.environ.get("DATABASE_URL", "")), reason="runs when the suite runs on PostgreSQL"
    ),
]

SLUG = "restarted"
RECOVERY_SECONDS = 5
BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}


@dataclass
class Outcome:
    server: LiveServer
    database_url: str
    access: str
    segment_id: int
    traffic: Traffic
    restart_began: float
    restart_ended: float
    server_log: str


def _bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


def _segment_status(server: LiveServer, access: str, segment_id: int) -> str:
    response = requests.get(f"{server.url}/api/segments/{segment_id}/", headers=_bearer(access), timeout=10)
    if response.status_code != 200:
        return f"http {response.status_code}"
    return str(response.json()["status"])


@pytest.fixture(scope="module")
def instance() -> Iterator[PrivatePostgres]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL restart test: {reason}")
        pytest.skip(reason)
    with private_postgres() as started:
        yield started


@pytest.fixture(scope="module")
def outcome(instance: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    database_url = instance.create_database("segops")
    directory = tmp_path_factory.mktemp("pg-restart")
    server = live_server_start(data_dir=directory / "data", database_url=database_url)
    try:
        access = sign_up(server, SLUG)
        key = api_key_issue(server, access, SLUG)["key"]
        created = requests.post(
            f"{server.url}/api/segments/",
            json={"name": "Buyers", "definition": BUYERS},
            headers=_bearer(access),
            timeout=10,
        )
        assert created.status_code == 201, created.text
        segment_id = int(created.json()["id"])
        with Traffic(server.url, key, clients=4, probes=[]) as traffic:
            time.sleep(1.5)  # events stored before the restart
            compute = requests.post(
                f"{server.url}/api/segments/{segment_id}/compute/", headers=_bearer(access), timeout=10
            )
            assert compute.status_code == 202, compute.text
            restart_began = time.monotonic()
            instance.restart()
            restart_ended = time.monotonic()
            time.sleep(RECOVERY_SECONDS + 2)
        yield Outcome(
            server=server,
            database_url=database_url,
            access=access,
            segment_id=segment_id,
            traffic=traffic,
            restart_began=restart_began,
            restart_ended=restart_ended,
            server_log=server.output(),
        )
    finally:
        server.stop()


def test_it_answers_503_with_retry_after_during_the_outage_never_500(outcome: Outcome) -> None:
    answers = outcome.traffic.answers
    assert answers.other == [], answers.other[:5]
    assert answers.unanswered == set(), "requests hung or the connection was dropped"
    assert answers.unavailable, "no request met the outage"
    assert {retry_after for _, retry_after, _ in answers.unavailable} == {"2"}
    assert all("retry shortly" in body for _, _, body in answers.unavailable)
    assert "Internal Server Error" not in outcome.server_log
    # One line per outage and server process, not a traceback per request.
    lines = [line for line in outcome.server_log.splitlines() if "Database unavailable" in line]
    assert 1 <= len(lines) <= 4, lines
    assert len(answers.unavailable) > len(lines)


def test_it_recovers_by_itself_within_seconds(outcome: Outcome) -> None:
    timeline = outcome.traffic.answers.timeline
    recovered = outcome.restart_ended + RECOVERY_SECONDS
    after = [status for at, status in timeline if at >= recovered]
    assert len(after) > 10, "too little traffic after the restart"
    assert set(after) == {202}


def test_it_stores_every_acknowledged_event_exactly_once(outcome: Outcome) -> None:
    answers = outcome.traffic.answers
    assert len(answers.acknowledged) > 20
    stored = stored_seq_counts(outcome.database_url, SLUG)
    assert {seq: n for seq, n in stored.items() if n > 1} == {}
    assert answers.acknowledged - set(stored) == set(), "acknowledged events were lost"


def test_the_worker_finishes_the_compute(outcome: Outcome) -> None:
    server, access, segment_id = outcome.server, outcome.access, outcome.segment_id

    def computed() -> bool:
        status = _segment_status(server, access, segment_id)
        if status == "failed":  # the compute met the outage: a segment can always be recomputed
            url = f"{server.url}/api/segments/{segment_id}/compute/"
            requests.post(url, headers=_bearer(access), timeout=10)
        return status == "computed"

    assert wait_for(computed, timeout=30, every=0.5)
