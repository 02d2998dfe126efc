"""A private PostgreSQL for fault tests: its own data directory and port, restarted at will,
never the machine's shared server (other tests and people use that one)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from segops_server.testing.live import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
OS_USER = "postgres"  # initdb refuses to run as root


def unavailable_reason() -> str | None:
    """Why a private instance cannot run here, or None when it can."""
    if not (BIN / "initdb").exists() or not (BIN / "pg_ctl").exists():
        return f"PostgreSQL 15 server binaries are not in {BIN}"
    if os.geteuid() != 0:
        return "starting a private PostgreSQL as the postgres OS user needs root (runuser)"
    if shutil.which("runuser") is None:
        return "runuser is missing"
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return f"there is no {OS_USER} OS user"
    return None


@dataclass
class PrivatePostgres:
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 60) -> None:
        _as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), *args], timeout=timeout)

    def restart(self) -> None:
        """A fast restart: open connections are cut, the server is back when this returns."""
        self.pg_ctl("restart", "-m", "fast", "-w", "-l", str(self.directory / "server.log"))

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_postgres(command: list[str], *, timeout: float) -> None:
    subprocess.run(  # noqa: S603  (fixed binaries and our own paths)
        ["runuser", "-u", OS_USER, "--", *command],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=timeout,
    )


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """initdb into a temporary directory, start on a free loopback port; stopped and removed after."""
    directory = Path(tempfile.mkdtemp(prefix="segops-pg-"))
    shutil.chown(directory, user=OS_USER, group=OS_USER)
    instance = PrivatePostgres(directory=directory, port=free_port())
    try:
        _as_postgres(
            [str(BIN / "initdb"), "-D", str(instance.data), "-A", "trust", "-U", "postgres", "--no-sync"],
            timeout=120,
        )
        options = f"-p {instance.port} -c listen_addresses=127.0.0.1 -k {directory}"
        instance.pg_ctl("start", "-w", "-o", options, "-l", str(directory / "server.log"))
        yield instance
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            instance.pg_ctl("stop", "-m", "immediate", timeout=30)  # fails if never started
        shutil.rmtree(directory, ignore_errors=True)
