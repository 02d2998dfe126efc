"""Ingestion throughput: the production server on PostgreSQL (or, with --sqlite, the embedded
SQLite default started as the README starts it), driven over HTTP by concurrent clients.

    uv run --frozen python bench/ingest.py [--seconds 15] [--clients 4] [--sqlite]
        [--env SEGOPS_GROUP_COMMIT_MS=0] [--against DIR [--rounds 3]]

Prints events/s and p50/p99 request latency for batches of 500 and for single events, each
beside two ceilings measured in the same run with the same clients: the same server's /healthz,
and a bare granian WSGI application (bench/_bare_app.py, the same workers and threads) that
answers without any work; checks that every event answered 202 is stored. On PostgreSQL the
batches are also set against a plain COPY of the same rows into the same table (500 rows a
transaction, the same number of client processes), the database's own ceiling for them. Single events are sent by wrk (Debian package
`wrk`) when it is installed, since Python clients would take much of the shared 2 cores; else by
Python clients like the batches.

`--against DIR` compares this tree with another working tree of SegOps (an older commit, its
`.venv` set up by scripts/_uv.sh), both servers on PostgreSQL with the same settings: each round
sends batches to both servers at the same time, then single events to both at the same time, so
both meet the same machine, and prints this tree's figures as a ratio of the other's. Runs of one
server after the other scattered by 15-20 % on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import shutil
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import Server, bare_granian, fresh_database, percentile, production_server, run_wrk_get, wrk

# Single events: on PostgreSQL against the same server's /healthz, on the embedded SQLite absolute.
PG_HEALTHZ_RATIO = 0.6
COPY_RATIO = 0.9  # batches of 500 against a plain COPY of the same rows
COPY_SQL = (
    "COPY ingestion_event (tenant_id, user_id, event_type, occurred_at, received_at, payload) FROM STDIN"
)
PG_P99_MS = 15
SQLITE_SINGLE_GOAL = 2_000
SQLITE_P99_MS = 20


def _bodies(kind: str, client: int, count: int) -> list[bytes]:
    bodies = []
    for n in range(count):
        if kind == "batch":
            events = [
                {
                    "user_id": f"u-{client}-{(n * 500 + i) % 20000}",
                    "event_type": "order_placed" if i % 3 else "page_viewed",
                    "occurred_at": "2026-11-20T10:00:00Z",
                    "payload": {"total": (i % 97) + 0.5, "sku": f"sku-{i % 50}", "path": "/checkout"},
                }
                for i in range(500)
            ]
            bodies.append(json.dumps({"events": events}).encode())
        else:
            event = {
                "user_id": f"u-{client}-{n % 20000}",
                "event_type": "page_viewed",
                "payload": {"path": "/pricing", "ref": "ad"},
            }
            bodies.append(json.dumps(event).encode())
    return bodies


def _client(args: tuple[str, int, str, int, float]) -> tuple[int, int, list[float]]:
    kind, port, key, client, seconds = args
    bodies = _bodies(kind, client, 20 if kind == "batch" else 200)
    path = "/api/ingestion/track/batch/" if kind == "batch" else "/api/ingestion/track/"
    headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ok = failed = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        body = bodies[n % len(bodies)]
        n += 1
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            failed += 1
            continue
        latencies.append(time.perf_counter() - start)
        if response.status == 202:
            ok += 1
        else:
            failed += 1
    conn.close()
    return ok, failed, latencies


def _copy_client(args: tuple[str, int, int, float]) -> int:
    """A plain COPY of the batch phase's rows (500 a transaction, as a request commits them) into
    the events table, over one connection: the database's own ceiling for the batch path."""
    url, tenant_id, client, seconds = args
    now = datetime.now(UTC)
    batches = [
        [
            (tenant_id, e["user_id"], e["event_type"], e["occurred_at"], now, json.dumps(e["payload"]))
            for e in json.loads(body)["events"]
        ]
        for body in _bodies("batch", client, 20)
    ]
    copied = n = 0
    deadline = time.perf_counter() + seconds
    with psycopg.connect(url) as conn:
        while time.perf_counter() < deadline:
            with conn.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
                for row in batches[n % len(batches)]:
                    copy.write_row(row)
            conn.commit()
            copied += 500
            n += 1
    return copied


def run_copy(url: str, clients: int, seconds: float) -> dict[str, float]:
    with psycopg.connect(url) as conn:
        tenant_id = conn.execute("SELECT id FROM accounts_tenant WHERE slug = 'bench'").fetchone()[0]  # type: ignore[index]
    with multiprocessing.Pool(clients) as pool:
        start = time.perf_counter()
        copied = pool.map(_copy_client, [(url, tenant_id, c, seconds) for c in range(clients)])
        elapsed = time.perf_counter() - start
    return {"events_per_s": sum(copied) / elapsed}


def run_wrk_single(port: int, key: str, clients: int, seconds: float) -> dict[str, float]:
    """Single events from wrk (C, two threads): far less client CPU than Python on a shared machine."""
    script = (
        'wrk.method = "POST"\n'
        f'wrk.headers["Authorization"] = "ApiKey {key}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format(nil, nil, nil, \'{"user_id": "w-\' .. (n % 20000) .. \'", '
        '"event_type": "page_viewed", "payload": {"path": "/pricing"}}\')\n'
        "end\n"
    )
    load = wrk(f"http://127.0.0.1:{port}/api/ingestion/track/", script, clients=clients, seconds=seconds)
    ok = load["requests"] - load["non_2xx"]
    return {
        "p50_ms": load.get("p50_ms", float("nan")),
        "p99_ms": load.get("p99_ms", float("nan")),
        "requests_ok": ok,
        "requests_failed": load["non_2xx"],
        "events_per_s": ok / seconds,
        "requests_per_s": ok / seconds,
        "events_sent": ok,
    }


def run_phase(kind: str, port: int, key: str, clients: int, seconds: float) -> dict[str, float]:
    with multiprocessing.Pool(clients) as pool:
        start = time.perf_counter()
        results = pool.map(_client, [(kind, port, key, c, seconds) for c in range(clients)])
        elapsed = time.perf_counter() - start
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    latencies = [lat for r in results for lat in r[2]]
    per_request = 500 if kind == "batch" else 1
    return {
        "requests_ok": ok,
        "requests_failed": failed,
        "events_per_s": ok * per_request / elapsed,
        "requests_per_s": ok / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "events_sent": ok * per_request,
    }


def _stored_events(server: Server) -> int:
    url = server.database_url
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return int(conn.execute("SELECT count(*) FROM ingestion_event").fetchone()[0])
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM ingestion_event").fetchone()[0])  # type: ignore[index]


def _plan_set(server: Server, plan: str) -> None:
    url, sql = server.database_url, "UPDATE accounts_tenant SET plan = {} WHERE slug = 'bench'"
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
            conn.execute(sql.format("?"), [plan])
        return
    with psycopg.connect(url) as conn:
        conn.execute(sql.format("%s"), [plan])  # type: ignore[arg-type]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--single-clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="SEGOPS_WORKERS (default: the server's)")
    parser.add_argument("--threads", type=int, default=None, help="SEGOPS_THREADS (default: the server's)")
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="the embedded SQLite default, started as the README starts it (`segops run`, no DATABASE_URL)",
    )
    parser.add_argument("--no-batch", action="store_true", help="leave out the batches of 500")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="compare with the server of this other working tree"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the comparison (--against)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server, e.g. SEGOPS_GROUP_COMMIT_MS=0 (repeatable)",
    )
    parser.add_argument(
        "--no-key-cache",
        action="store_true",
        help="run the server with SEGOPS_KEY_CACHE=0 (key row read per request)",
    )
    parser.add_argument(
        "--plan",
        choices=["free", "starter", "business", "enterprise"],
        help="the tenant's plan (default: the installation's, unlimited); a limited plan counts every "
        "event against its monthly quota, so this measures what the counters cost",
    )
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    env = {"SEGOPS_KEY_CACHE": "0" if args.no_key_cache else "1"}
    env.update(item.split("=", 1) for item in args.env)  # type: ignore[arg-type]
    # The server's own defaults (segops_server/cli.py), for the bare application alike.
    workers, threads = args.workers or 2, args.threads or 4
    if args.against is not None:
        return compare(args, env)
    database = contextlib.nullcontext(None) if args.sqlite else fresh_database("segops_bench_ingest")
    with (
        database as url,
        production_server(url, workers=args.workers, threads=args.threads, env=env) as server,
    ):
        key = server.secret_key()
        if args.plan:  # before the key's first use, so no process holds the old plan
            _plan_set(server, args.plan)
        run_phase("single", server.port, key, 2, 2)  # warm-up
        before = _stored_events(server)
        healthz = run_wrk_get(f"http://127.0.0.1:{server.port}/healthz", args.single_clients, args.seconds)
        batch = None if args.no_batch else run_phase("batch", server.port, key, args.clients, args.seconds)
        if shutil.which("wrk"):
            single = run_wrk_single(server.port, key, args.single_clients, args.seconds)
        else:
            single = run_phase("single", server.port, key, args.single_clients, args.seconds)
        after = _stored_events(server)
        # The same rows as the batches, COPYed straight into the same table (PostgreSQL).
        copy = None if args.no_batch or url is None else run_copy(url, args.clients, args.seconds)
    with bare_granian(workers=workers, threads=threads) as port:
        bare = run_wrk_get(f"http://127.0.0.1:{port}/", args.single_clients, args.seconds)

    settings = " ".join(f"{k}={v}" for k, v in env.items())
    print(
        f"server: {workers} workers x {threads} threads, plan {args.plan or 'default'}, "
        f"{'SQLite (the embedded default)' if args.sqlite else 'PostgreSQL'}, {args.seconds:.0f}s a phase, {settings}"
    )
    for name, ceiling in (("/healthz", healthz), ("bare granian", bare)):
        print(
            f"{name:13} {args.single_clients} clients: {ceiling['requests_per_s']:>9,.0f} req/s"
            f"  p50 {ceiling['p50_ms']:6.2f} ms  p99 {ceiling['p99_ms']:6.2f} ms"
        )
    phases = [("single event", single, args.single_clients)]
    if batch is not None:
        phases.insert(0, ("batch of 500", batch, args.clients))
    for name, phase, clients in phases:
        print(
            f"{name:13} {clients} clients: {phase['events_per_s']:>9,.0f} events/s"
            f"  {phase['requests_per_s']:>7,.0f} req/s"
            f" = {phase['requests_per_s'] / healthz['requests_per_s']:.2f} x /healthz"
            f" = {phase['requests_per_s'] / bare['requests_per_s']:.3f} x bare granian"
            f"  p50 {phase['p50_ms']:6.1f} ms  p99 {phase['p99_ms']:6.1f} ms  failed {phase['requests_failed']:.0f}"
        )
    if batch is not None and copy is not None:
        ratio = batch["events_per_s"] / copy["events_per_s"]
        print(
            f"plain COPY    {args.clients} clients: {copy['events_per_s']:>9,.0f} events/s"
            f"  (the same rows, 500 a transaction): batches = {ratio:.2f} x plain COPY"
            f" ({'meets' if ratio >= COPY_RATIO else 'BELOW'} the goal >= {COPY_RATIO})"
        )
    print(_verdict(single, healthz, sqlite=args.sqlite, clients=args.single_clients))
    stored = after - before
    sent = (batch["events_sent"] if batch else 0) + single["events_sent"]
    print(
        f"stored {stored:,} of {sent:,.0f} events answered 202"
        + ("" if stored >= sent else "  MISSING EVENTS")
    )
    return 0 if stored >= sent else 1


def compare(args: argparse.Namespace, env: dict[str, str]) -> int:
    """This tree's server and the other tree's, loaded at the same time, round after round."""
    if args.sqlite:
        raise SystemExit("--against compares PostgreSQL servers")
    other = args.against.resolve()
    with contextlib.ExitStack() as stack:
        servers = {}
        for label, checkout in (("this", None), ("other", other)):
            url = stack.enter_context(fresh_database(f"segops_bench_ingest_{label}"))
            server = stack.enter_context(
                production_server(url, workers=args.workers, threads=args.threads, env=env, checkout=checkout)
            )
            servers[label] = (server, server.secret_key())
        for server, key in servers.values():
            run_phase("single", server.port, key, 2, 2)  # warm-up
        before = {label: _stored_events(server) for label, (server, _) in servers.items()}
        sent = dict.fromkeys(servers, 0.0)
        print(f"this tree against {other}, both at once; {args.seconds:.0f}s a phase")
        for n in range(args.rounds):
            phases = [] if args.no_batch else [("batch of 500", "batch", args.clients)]
            for name, kind, clients in [*phases, ("single event", "single", args.single_clients)]:
                figures = _at_once(servers, kind, clients, args.seconds)
                for label in servers:
                    sent[label] += figures[label]["events_sent"]
                mine, theirs = figures["this"], figures["other"]
                print(
                    f"round {n + 1} {name:13} {clients} clients: this {mine['events_per_s']:>9,.0f} events/s"
                    f" p99 {mine['p99_ms']:6.1f} ms | other {theirs['events_per_s']:>9,.0f} events/s"
                    f" p99 {theirs['p99_ms']:6.1f} ms | this / other {mine['events_per_s'] / theirs['events_per_s']:.3f}",
                    flush=True,
                )
        missing = 0
        for label, (server, _) in servers.items():
            stored = _stored_events(server) - before[label]
            print(f"{label}: stored {stored:,} of {sent[label]:,.0f} events answered 202")
            missing += stored < sent[label]
    return 1 if missing else 0


def _at_once(
    servers: dict[str, tuple[Server, str]], kind: str, clients: int, seconds: float
) -> dict[str, dict[str, float]]:
    """One phase on every server at the same time."""
    figures: dict[str, dict[str, float]] = {}

    def load(label: str, port: int, key: str) -> None:
        if kind == "single" and shutil.which("wrk"):
            figures[label] = run_wrk_single(port, key, clients, seconds)
        else:
            figures[label] = run_phase(kind, port, key, clients, seconds)

    threads = [
        threading.Thread(target=load, args=(label, server.port, key))
        for label, (server, key) in servers.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return figures


def _verdict(single: dict[str, float], healthz: dict[str, float], *, sqlite: bool, clients: int) -> str:
    """The single-event goals: on PostgreSQL against the same server's /healthz, on SQLite absolute."""
    rate, p99 = single["requests_per_s"], single["p99_ms"]
    if sqlite:
        met = rate >= SQLITE_SINGLE_GOAL and p99 <= SQLITE_P99_MS
        goal = f">= {SQLITE_SINGLE_GOAL:,} req/s, p99 <= {SQLITE_P99_MS} ms"
    else:
        met = rate >= PG_HEALTHZ_RATIO * healthz["requests_per_s"] and p99 <= PG_P99_MS
        goal = f">= {PG_HEALTHZ_RATIO} x /healthz, p99 <= {PG_P99_MS} ms"
    return f"single events at {clients} clients: {'meets' if met else 'BELOW'} the goal ({goal})"


if __name__ == "__main__":
    sys.exit(main())
