"""Ingestion throughput: the production server on PostgreSQL, driven over HTTP by concurrent clients.

    uv run --frozen python bench/ingest.py [--seconds 15] [--clients 4]

Prints events/s and p50/p99 request latency for batches of 500 and for single events, and
checks that every event answered 202 is stored. Single events are sent by wrk (Debian package
`wrk`) when it is installed, since Python clients would take much of the shared 2 cores; else by
Python clients like the batches.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import shutil
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_database, percentile, production_server, wrk

BATCH_GOAL = 25_000
SINGLE_GOAL = 1_500


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--single-clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="SEGOPS_WORKERS (default: the server's)")
    parser.add_argument("--threads", type=int, default=None, help="SEGOPS_THREADS (default: the server's)")
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
    args = parser.parse_args()

    with (
        fresh_database("segops_bench_ingest") as url,
        production_server(
            url,
            workers=args.workers,
            threads=args.threads,
            env={"SEGOPS_KEY_CACHE": "0" if args.no_key_cache else "1"},
        ) as server,
    ):
        key = server.secret_key()
        if args.plan:  # before the key's first use, so no process holds the old plan
            with psycopg.connect(url) as conn:
                conn.execute("UPDATE accounts_tenant SET plan = %s WHERE slug = 'bench'", [args.plan])
        run_phase("single", server.port, key, 2, 2)  # warm-up
        with psycopg.connect(url) as conn:
            before = conn.execute("SELECT count(*) FROM ingestion_event").fetchone()[0]  # type: ignore[index]
        batch = run_phase("batch", server.port, key, args.clients, args.seconds)
        if shutil.which("wrk"):
            single = run_wrk_single(server.port, key, args.single_clients, args.seconds)
        else:
            single = run_phase("single", server.port, key, args.single_clients, args.seconds)
        with psycopg.connect(url) as conn:
            after = conn.execute("SELECT count(*) FROM ingestion_event").fetchone()[0]  # type: ignore[index]

    threads = args.threads or "default"
    print(
        f"server: {args.workers or 'default'} workers x {threads} threads, key cache {'off' if args.no_key_cache else 'on'}, "
        f"plan {args.plan or 'default'}, "
        f"PostgreSQL, {args.seconds:.0f}s a phase"
    )
    for name, phase, goal, clients in (
        ("batch of 500", batch, BATCH_GOAL, args.clients),
        ("single event", single, SINGLE_GOAL, args.single_clients),
    ):
        rate = phase["events_per_s"] if name.startswith("batch") else phase["requests_per_s"]
        unit = "events/s" if name.startswith("batch") else "requests/s"
        verdict = "meets" if rate >= goal else "BELOW"
        print(
            f"{name:13} {clients} clients: {phase['events_per_s']:>9,.0f} events/s"
            f"  {phase['requests_per_s']:>7,.0f} req/s"
            f"  p50 {phase['p50_ms']:6.1f} ms  p99 {phase['p99_ms']:6.1f} ms"
            f"  failed {phase['requests_failed']:.0f}  ({verdict} goal {goal:,} {unit})"
        )
    stored = after - before
    sent = batch["events_sent"] + single["events_sent"]
    print(
        f"stored {stored:,} of {sent:,.0f} events answered 202"
        + ("" if stored >= sent else "  MISSING EVENTS")
    )
    return 0 if stored >= sent else 1


if __name__ == "__main__":
    sys.exit(main())
