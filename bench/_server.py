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
from pathlib import Path
from typing import Any

import psycopg

from segops_server.testing.live import LiveServer, free_port, live_server_start

PG_ADMIN_URL = os.environ.get("SEGOPS_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")


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
    live: LiveServer
    database_url: str

    @property
    def port(self) -> int:
        return self.live.port

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
def production_server(
    database_url: str | None,
    *,
    workers: int | None = None,
    threads: int | None = None,
    env: dict[str, str] | None = None,
    checkout: Path | None = None,
) -> Iterator[Server]:
    """`segops run` on `database_url`; None: the embedded SQLite default, started as the README
    starts it (the `segops` script, no DATABASE_URL), its file in the server's data directory.
    `checkout`: another working tree's server (see live_server_start)."""
    data_dir = Path(tempfile.mkdtemp(prefix="segops-bench-"))
    live = live_server_start(
        data_dir=data_dir,
        database_url=database_url,
        console_script=database_url is None,
        checkout=checkout,
        workers=workers,
        env={
            **({"SEGOPS_THREADS": str(threads)} if threads is not None else {}),  # else the server's default
            "SEGOPS_BOOTSTRAP_PASSWORD": "bench-owner-pass-1",
            **(env or {}),
        },
    )
    try:
        yield Server(live=live, database_url=database_url or f"sqlite:///{data_dir / 'segops.sqlite3'}")
    finally:
        live.stop()


BARE_APP = Path(__file__).with_name("_bare_app.py")


@contextlib.contextmanager
def bare_granian(*, workers: int, threads: int) -> Iterator[int]:
    """granian serving a WSGI application that answers `{}` and does nothing else, with the same
    workers and threads as the server: the ceiling of the HTTP server itself. Yields its port."""
    port = free_port()
    granian = Path(sys.executable).with_name("granian")
    command = [
        str(granian), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws", "--no-access-log",
        "--working-dir", str(BARE_APP.parent), f"{BARE_APP.stem}:application",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the bare granian application did not start")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def wrk(url: str, lua: str, *, clients: int, seconds: float) -> dict[str, float]:
    """Load `url` with wrk (Debian package `wrk`; C, two threads, little client CPU) driven by a
    Lua script; returns requests, non_2xx, rps, p50_ms and p99_ms."""
    script = Path(tempfile.mkdtemp()) / "load.lua"
    script.write_text(lua)
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(clients),
        "-d",
        f"{int(seconds)}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"requests": 0.0, "non_2xx": 0.0}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in out.splitlines():
        parts = line.split()
        if "requests in" in line:
            result["requests"] = float(parts[0])
        elif "Non-2xx" in line:
            result["non_2xx"] = float(parts[-1])
        elif line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            number = parts[1].rstrip("mus")
            result[f"p{parts[0][:-1]}_ms"] = float(number) * units[parts[1][len(number) :]]
    return result


def run_wrk_get(url: str, clients: int, seconds: float) -> dict[str, float]:
    """GET `url` from wrk: the ceilings the figures are set against (/healthz, a bare granian app)."""
    load = wrk(url, 'wrk.method = "GET"\n', clients=clients, seconds=seconds)
    return {"requests_per_s": load.get("rps", 0.0), "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"]}


def django_child(database_url: str, code: str, *args: str) -> Any:
    """Run `code` in a child Python process with Django set up on `database_url` (its arguments in
    sys.argv[1:]); the JSON it prints last. For what the product computes, measured apart from
    this process (which may hold a chDB directory, or other settings)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEGOPS_ENV": "local",
        "SEGOPS_DATA_DIR": tempfile.mkdtemp(),
    }
    setup = (
        "import json, sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','segops_server.settings');"
        "django.setup();"
    )
    out = subprocess.run(
        [sys.executable, "-c", setup + code, *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
