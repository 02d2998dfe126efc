"""`segops run` as an operator starts it: a real gunicorn on a free port, driven over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.live

START_TIMEOUT_SECONDS = 60


@dataclass
class LiveServer:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("segops")
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-c", "import sys; from segops_server.cli import main; sys.exit(main(['run']))"]


def _environment(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGOPS_", "DATABASE_URL"))}
    env.update(
        SEGOPS_ENV="local",
        SEGOPS_DATA_DIR=str(data_dir),
        SEGOPS_PORT=str(port),
        # The embedded default is what this test is about, whichever database the suite uses.
        DATABASE_URL=f"sqlite:///{data_dir / 'segops.sqlite3'}",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def _wait_until_ready(process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"segops run exited with {process.returncode}:\n{server.output()}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or no worker has booted to answer
        time.sleep(0.2)
    pytest.fail(f"segops run was not ready within {START_TIMEOUT_SECONDS}s:\n{server.output()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("live-data")
    port = _free_port()
    live = LiveServer(url=f"http://127.0.0.1:{port}", log=data_dir / "server.log")
    with live.log.open("wb") as log:
        process = subprocess.Popen(
            _command(),
            env=_environment(data_dir, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_until_ready(process, live)
        yield live
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


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


def test_it_runs_two_gunicorn_workers(server: LiveServer) -> None:
    deadline = time.monotonic() + 15
    while server.output().count("Booting worker") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    output = server.output()
    assert output.count("Booting worker") == 2, output
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
