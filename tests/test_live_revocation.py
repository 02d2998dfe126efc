"""Revocation is immediate on every worker: the production server, two granian workers, real HTTP.

A key is used until both worker processes have served it (so any per-process cache would be
warm), then revoked; every following request, over fresh and over already-open connections,
must be a 401, and both workers must be among those answering 401.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from segops_server.testing.live import LiveServer, live_server

pytestmark = pytest.mark.live

WORKERS = 2
CLIENTS = 8  # parallel connections, each with its own requests.Session
# `segops run`'s access log names the worker process that answered, before granian's own line:
# 2026-11-27 10:34:55,822 worker=12614 [2026-11-27 10:34:55 +0000] 127.0.0.1 - "GET /p/ HTTP/1.1" 200 0.385
ACCESS_LINE = re.compile(
    r"worker=(?P<pid>\d+) \[[^\]]*\] \S+ - "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) '
)
SPAWNED = re.compile(r"Spawning worker-\d+ with PID: (?P<pid>\d+)")


def _whoami_lines(server: LiveServer, since: int = 0) -> list[tuple[str, str]]:
    """(worker pid, status) of each /api/auth/whoami/ request logged after `since` bytes."""
    found = []
    for match in ACCESS_LINE.finditer(server.output()[since:]):
        if match["path"] == "/api/auth/whoami/":
            found.append((match["pid"], match["status"]))
    return found


def _wait_for_whoami_lines(server: LiveServer, count: int, since: int) -> list[tuple[str, str]]:
    """granian logs just after answering; give the last lines a moment to land."""
    deadline = time.monotonic() + 10
    while len(lines := _whoami_lines(server, since)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return lines


# Both ways the server can verify keys: reading the row each time, and the per-process cache
# (SEGOPS_KEY_CACHE=1) that a key change invalidates through a shared epoch.
@pytest.fixture(scope="module", params=["0", "1"], ids=["no-key-cache", "key-cache"])
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-revocation")
    with live_server(
        directory, workers=WORKERS, env={"SEGOPS_ACCESS_LOG": "1", "SEGOPS_KEY_CACHE": request.param}
    ) as live:
        yield live


def _person_and_key(server: LiveServer) -> tuple[dict[str, str], str, int]:
    registered = requests.post(
        f"{server.url}/api/auth/register/",
        json={
            "email": "revoker@initech.test",
            "password": "a-live-revocation-pass-31",
            "tenant_name": "Initech",
            "tenant_slug": "initech",
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access']}"}
    created = requests.post(
        f"{server.url}/api/auth/api-keys/", json={"name": "Live"}, headers=bearer, timeout=10
    )
    assert created.status_code == 201, created.text
    return bearer, created.json()["key"], created.json()["id"]


def _in_parallel(
    sessions: list[requests.Session], call: Callable[[requests.Session], int], per: int
) -> list[int]:
    """`per` calls on each session, the sessions running side by side (one thread each)."""
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        batches = pool.map(lambda session: [call(session) for _ in range(per)], sessions)
        return [status for batch in batches for status in batch]


def _worker_pids(server: LiveServer) -> set[str]:
    return {match["pid"] for match in SPAWNED.finditer(server.output())}


def test_it_runs_two_workers(server: LiveServer) -> None:
    deadline = time.monotonic() + 15
    while len(_worker_pids(server)) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_worker_pids(server)) == WORKERS, server.output()


def test_it_refuses_a_revoked_key_at_once_on_every_worker(server: LiveServer) -> None:
    bearer, key, key_id = _person_and_key(server)
    whoami = f"{server.url}/api/auth/whoami/"
    auth = {"Authorization": f"ApiKey {key}"}

    def with_key(session: requests.Session) -> int:
        return session.get(whoami, headers=auth, timeout=10).status_code

    # Use the key over several keep-alive connections until both workers have served it.
    pooled: list[requests.Session] = []
    served_by: set[str] = set()
    for _ in range(10):
        fresh = [requests.Session() for _ in range(CLIENTS)]
        pooled += fresh
        before = len(server.output())
        statuses = _in_parallel(fresh, with_key, per=6)
        assert statuses == [200] * len(statuses)
        served_by |= {pid for pid, _ in _wait_for_whoami_lines(server, len(statuses), since=before)}
        if len(served_by) == WORKERS:
            break
    assert len(served_by) == WORKERS, f"only worker(s) {served_by} served the key:\n{server.output()}"
    assert served_by == _worker_pids(server), server.output()  # the access log names real workers

    revoked_from = len(server.output())
    deleted = requests.delete(f"{server.url}/api/auth/api-keys/{key_id}/", headers=bearer, timeout=10)
    assert deleted.status_code == 204

    # At once: the connections already open (each bound to a worker), and brand-new ones.
    after = _in_parallel(pooled[:CLIENTS], with_key, per=3)
    after += [requests.get(whoami, headers=auth, timeout=10).status_code for _ in range(26)]
    assert len(after) == 50
    assert after == [401] * 50
    refused_by: set[str] = set()
    for _ in range(10):
        lines = _wait_for_whoami_lines(server, len(after), since=revoked_from)
        assert {status for _, status in lines} == {"401"}
        refused_by = {pid for pid, _ in lines}
        if refused_by == served_by:
            break
        after += _in_parallel([requests.Session() for _ in range(CLIENTS)], with_key, per=2)
        assert set(after) == {401}
    assert refused_by == served_by, f"not every worker refused the key:\n{server.output()}"

    last = requests.get(whoami, headers={"X-API-Key": key}, timeout=10)
    assert last.status_code == 401
    assert last.headers["WWW-Authenticate"] == 'ApiKey realm="api"'
    assert last.json() == {"detail": "API key has been revoked."}
    for session in pooled:
        session.close()
