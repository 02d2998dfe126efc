"""Logout ends the session's access token at once on every worker: the production server, two
granian workers, real HTTP.

An access token is used until both worker processes have served it, then its session is logged
out; every following request with it, over connections already open and over fresh ones, must
be a 401, answered by both workers.
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
CLIENTS = 8
ME = "/api/auth/me/"
ACCESS_LINE = re.compile(
    r"worker=(?P<pid>\d+) \[[^\]]*\] \S+ - "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) '
)


# Both ways the server can check a family: reading its row each time, and the per-process
# memory of live families (SEGOPS_TOKEN_FAMILY_CACHE=1) that a revocation drops through an epoch.
@pytest.fixture(scope="module", params=["0", "1"], ids=["no-family-cache", "family-cache"])
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-logout")
    with live_server(
        directory, workers=WORKERS, env={"SEGOPS_ACCESS_LOG": "1", "SEGOPS_TOKEN_FAMILY_CACHE": request.param}
    ) as live:
        yield live


def _me_lines(server: LiveServer, since: int, count: int) -> list[tuple[str, str]]:
    """(worker pid, status) of each GET /api/auth/me/ logged after `since` bytes."""
    deadline = time.monotonic() + 10
    while True:
        found = [
            (m["pid"], m["status"]) for m in ACCESS_LINE.finditer(server.output()[since:]) if m["path"] == ME
        ]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _in_parallel(
    sessions: list[requests.Session], call: Callable[[requests.Session], int], per: int
) -> list[int]:
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        batches = pool.map(lambda session: [call(session) for _ in range(per)], sessions)
        return [status for batch in batches for status in batch]


def test_it_refuses_a_logged_out_access_token_on_every_worker(server: LiveServer) -> None:
    registered = requests.post(
        f"{server.url}/api/auth/register/",
        json={"email": "leaver@initech.test", "password": "a-live-logout-pass-31"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    pair = registered.json()
    kept = requests.post(
        f"{server.url}/api/auth/token/",
        json={"email": "leaver@initech.test", "password": "a-live-logout-pass-31"},
        timeout=10,
    ).json()
    bearer = {"Authorization": f"Bearer {pair['access']}"}

    def with_token(session: requests.Session) -> int:
        return session.get(f"{server.url}{ME}", headers=bearer, timeout=10).status_code

    pooled: list[requests.Session] = []
    served_by: set[str] = set()
    for _ in range(10):
        fresh = [requests.Session() for _ in range(CLIENTS)]
        pooled += fresh
        before = len(server.output())
        statuses = _in_parallel(fresh, with_token, per=4)
        assert statuses == [200] * len(statuses)
        served_by |= {pid for pid, _ in _me_lines(server, before, len(statuses))}
        if len(served_by) == WORKERS:
            break
    assert len(served_by) == WORKERS, f"only worker(s) {served_by} served the token:\n{server.output()}"

    logged_out_from = len(server.output())
    out = requests.post(f"{server.url}/api/auth/logout/", json={"refresh": pair["refresh"]}, timeout=10)
    assert out.status_code == 204

    after = _in_parallel(pooled[:CLIENTS], with_token, per=3)
    after += [requests.get(f"{server.url}{ME}", headers=bearer, timeout=10).status_code for _ in range(16)]
    assert after == [401] * 40
    refused_by: set[str] = set()
    for _ in range(10):
        lines = _me_lines(server, logged_out_from, len(after))
        assert {status for _, status in lines} == {"401"}
        refused_by = {pid for pid, _ in lines}
        if refused_by == served_by:
            break
        after += _in_parallel([requests.Session() for _ in range(CLIENTS)], with_token, per=2)
        assert set(after) == {401}
    assert refused_by == served_by, f"not every worker refused the token:\n{server.output()}"

    # The person's other session is untouched, and logging out twice is not an error.
    other = requests.get(
        f"{server.url}{ME}", headers={"Authorization": f"Bearer {kept['access']}"}, timeout=10
    )
    assert other.status_code == 200
    again = requests.post(f"{server.url}/api/auth/logout/", json={"refresh": pair["refresh"]}, timeout=10)
    assert again.status_code == 204
    for session in pooled:
        session.close()
