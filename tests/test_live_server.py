"""`segops run` as an operator starts it: a real granian on a free port, driven over HTTP."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest
import requests

from segops_server.testing.live import LiveServer, is_postgresql, live_server_start, sqlite_url

pytestmark = [
    pytest.mark.live,
    # The server runs on its own SQLite file whichever database the suite uses, so the
    # PostgreSQL pass would repeat the SQLite pass exactly: it runs once, in the SQLite pass.
    pytest.mark.skipif(
        is_postgresql(os.environ.get("DATABASE_URL", "")), reason="runs when the suite runs on SQLite"
    ),
]

SPAWNED = re.compile(r"Spawning worker-(\d+) with PID: (\d+)")
STARTED = re.compile(r"Started worker-(\d+)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("live-data")
    live = live_server_start(
        data_dir=data_dir,
        # The embedded default is what this test is about, whichever database the suite uses.
        database_url=sqlite_url(data_dir, "segops.sqlite3"),
        workers=None,  # the server's own default
        console_script=True,
    )
    try:
        yield live
    finally:
        live.stop()


def test_it_prints_the_first_owners_credentials_and_they_work(server: LiveServer) -> None:
    output = server.output()
    assert "email:    owner@segops.local" in output
    password = re.search(r"password: (\S+)", output)
    assert password is not None
    response = requests.post(
        f"{server.url}/api/auth/token/",
        json={"email": "owner@segops.local", "password": password.group(1)},
        timeout=10,
    )
    assert response.status_code == 200
    me = requests.get(
        f"{server.url}/api/auth/me/",
        headers={"Authorization": f"Bearer {response.json()['access']}"},
        timeout=10,
    )
    assert [(t["slug"], t["role"]) for t in me.json()["tenants"]] == [("default", "owner")]


def test_it_runs_two_granian_workers(server: LiveServer) -> None:
    """granian's main process spawns two worker processes, and each loads the application."""
    deadline = time.monotonic() + 15
    while len(STARTED.findall(server.output())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    output = server.output()
    spawned = SPAWNED.findall(output)
    assert sorted(worker for worker, _pid in spawned) == ["1", "2"], output
    assert len({pid for _worker, pid in spawned}) == 2, output
    assert sorted(STARTED.findall(output)) == ["1", "2"], output
    assert "with 2 workers" in output


def test_it_signs_up_logs_in_and_answers_me_over_http(server: LiveServer) -> None:
    body = {
        "email": "Live@Initech.test",
        "password": "a-live-test-passphrase-77",
        "tenant_name": "Initech",
        "tenant_slug": "initech",
    }
    registered = requests.post(f"{server.url}/api/auth/register/", json=body, timeout=10)
    assert registered.status_code == 201, registered.text
    assert registered.json()["tenant"]["slug"] == "initech"

    login = requests.post(
        f"{server.url}/api/auth/token/",
        json={"email": "live@initech.test", "password": body["password"]},
        timeout=10,
    )
    assert login.status_code == 200
    access = login.json()["access"]

    me = requests.get(f"{server.url}/api/auth/me/", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "live@initech.test"
    assert [(t["slug"], t["role"]) for t in me.json()["tenants"]] == [("initech", "owner")]

    anonymous = requests.get(f"{server.url}/api/auth/me/", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_health_probes_and_unknown_routes_as_json(server: LiveServer) -> None:
    assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
    missing = requests.get(f"{server.url}/api/no-such-route/", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
