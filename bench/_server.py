"""Shared by the benchmarks: a fresh PostgreSQL database and the production server on it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

PG_ADMIN_URL = os.environ.get("SEGOPS_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def fresh_database(name: str) -> Iterator[str]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    port: int
    database_url: str
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        text = response.read()
        conn.close()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status}: {text[:300]!r}")
        return json.loads(text) if text else None

    def secret_key(self) -> str:
        """Registers a person with a tenant and returns a new sk_live_ key."""
        reg = self.request(
            "POST",
            "/api/auth/register/",
            {
                "email": "bench@example.com",
                "password": "bench-pass-9182",
                "tenant_slug": "bench",
                "tenant_name": "B",
            },
        )
        created = self.request(
            "POST", "/api/auth/api-keys/", {"name": "bench"}, {"Authorization": f"Bearer {reg['access']}"}
        )
        return str(created["key"])


@contextlib.contextmanager
def production_server(database_url: str, *, workers: int = 2, threads: int = 4) -> Iterator[Server]:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="segops-bench-")
    env = {
        **os.environ,
        "SEGOPS_ENV": "local",
        "SEGOPS_DATA_DIR": data_dir,
        "DATABASE_URL": database_url,
        "SEGOPS_PORT": str(port),
        "SEGOPS_WORKERS": str(workers),
        "SEGOPS_THREADS": str(threads),
        "SEGOPS_BOOTSTRAP_PASSWORD": "bench-owner-pass-1",
    }
    log = open(os.path.join(data_dir, "server.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", "from segops_server.cli import main; main(['run'])"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(port=port, database_url=database_url, process=process)
    try:
        deadline = time.time() + 90
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise RuntimeError(f"server did not start; see {log.name}")
            time.sleep(0.3)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
