"""Live tests: the production server (`segops run`, granian) on a free port with its own database."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

START_TIMEOUT_SECONDS = 90
COMMAND = [sys.executable, "-c", "from segops_server.cli import main; main(['run'])"]


def console_script_command(python: str = sys.executable) -> list[str]:
    """`segops run` as an operator types it: the installed console script, else the same entry point."""
    script = Path(python).with_name("segops")
    if script.exists():
        return [str(script), "run"]
    return [python, "-c", "import sys; from segops_server.cli import main; sys.exit(main(['run']))"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_postgresql(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def sqlite_url(directory: Path, name: str = "live.sqlite3") -> str:
    return f"sqlite:///{directory / name}"


@contextmanager
def live_database(directory: Path) -> Iterator[str]:
    """A fresh database for one live server: on the test run's PostgreSQL when the suite runs
    there (created, then dropped), else a SQLite file in `directory`."""
    suite_url = os.environ.get("DATABASE_URL", "")
    if not is_postgresql(suite_url):
        yield sqlite_url(directory)
        return
    name = f"segops_live_{secrets.token_hex(4)}"
    admin_url = _with_database(suite_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(suite_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class LiveServer:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (granian's main process and workers): a crash, not a shutdown."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def live_server_start(
    *,
    data_dir: Path,
    database_url: str | None,
    workers: int | None = 2,
    env: dict[str, str] | None = None,
    console_script: bool = False,
    checkout: Path | None = None,
) -> LiveServer:
    """Start `segops run` and wait until /readyz answers; RuntimeError (with the log) if it does not.

    `database_url=None` leaves DATABASE_URL unset: the embedded SQLite default in `data_dir`, as
    the README starts it. `workers=None` leaves SEGOPS_WORKERS unset (the server's own default);
    `env` adds variables (e.g. SEGOPS_THREADS, SEGOPS_ACCESS_LOG); `console_script` runs the
    installed `segops` script rather than the interpreter. Inherited GRANIAN_* variables are
    dropped: granian reads one for each option `segops run` does not pass, so they would change
    the server under test. `checkout` serves another working tree of SegOps (its own `.venv`, set
    up by scripts/_uv.sh) instead of this one: benchmarks compare two versions side by side."""
    data_dir.mkdir(parents=True, exist_ok=True)
    python = str(checkout / ".venv" / "bin" / "python") if checkout is not None else sys.executable
    port = free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SEGOPS_", "DATABASE_URL", "GRANIAN_"))
    }
    environment.update(
        SEGOPS_ENV="local",
        SEGOPS_DATA_DIR=str(data_dir),
        SEGOPS_PORT=str(port),
        PATH=os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")]),
    )
    if database_url is not None:
        environment["DATABASE_URL"] = database_url
    if workers is not None:
        environment["SEGOPS_WORKERS"] = str(workers)
    environment.update(env or {})
    log = data_dir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own interpreter and entry point)
            console_script_command(python) if console_script else [python, *COMMAND[1:]],
            cwd=checkout,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so the test can kill it whole
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", log=log, process=process)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"segops run exited with {process.returncode}:\n{server.output()}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or no worker has booted
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"segops run was not ready within {START_TIMEOUT_SECONDS}s:\n{server.output()}")


@contextmanager
def live_server(directory: Path, **options: Any) -> Iterator[LiveServer]:
    """A started server on a fresh database (`live_database`), its data under `directory/data`;
    stopped, and its database dropped, on exit. `options` as for `live_server_start`."""
    with live_database(directory) as database_url:
        server = live_server_start(data_dir=directory / "data", database_url=database_url, **options)
        try:
            yield server
        finally:
            server.stop()


def sign_up(server: LiveServer, slug: str) -> str:
    """Register a new owner and tenant over HTTP; returns the owner's access token."""
    body = {
        "email": f"owner@{slug}.test",
        "password": f"live-{secrets.token_hex(8)}",
        "tenant_name": slug.title(),
        "tenant_slug": slug,
    }
    response = requests.post(f"{server.url}/api/auth/register/", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["access"])


def api_key_issue(server: LiveServer, access: str, slug: str, **fields: Any) -> dict[str, Any]:
    """Create an API key over HTTP (as a person); returns the 201 body with the key shown once."""
    response = requests.post(
        f"{server.url}/api/auth/api-keys/",
        json={"name": "Live test", "tenant_slug": slug, **fields},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body
