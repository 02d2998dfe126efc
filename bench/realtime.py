"""Real-time membership under ingestion load: the production server on PostgreSQL.

    uv run --frozen python bench/realtime.py [--seconds 20] [--events 1000000]

10 real-time segments of mixed types over --events existing events are computed; then, while 8
clients send single events and 2 send batches of 500, a probe sends one event at a time for a
new user that enters a segment, and measures from its 202 to (1) the delivery API answering
`member: true` and (2) the webhook arriving at a local receiver (an HTTP server on 127.0.0.1).
Reports p50/p95/p99 of both and the ingestion figures (as bench/ingest.py) with real time on.
Goals: p95 <= 1 s to the delivery API, p95 <= 2 s to the webhook; batches >= 25,000 events/s,
single events >= 1,500 requests/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

from segops_server.webhooks.signing import secret_generate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_database, percentile, production_server
from ingest import run_phase
from segments import generate

BATCH_GOAL = 25_000  # events/s, 2 clients sending batches of 500
SINGLE_GOAL = 1_500  # requests/s, 8 clients sending single events

PROBE = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "probe_done", "operator": "gte", "value": 1}],
}


def _count(event_type: str, value: int, window: int | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": "event_count",
        "event_type": event_type,
        "operator": "gte",
        "value": value,
    }
    if window is not None:
        condition["window_days"] = window
    return condition


def segment_rules(first_id: int | None) -> list[dict[str, Any]]:
    """Nine segments beside the probe's: counts, windows, recency, sums, latest payloads, traits,
    sequences and a reference."""
    rules = [
        _count("order_placed", 3, 30),
        {"type": "recency", "event_type": "page_viewed", "operator": "lt", "window_days": 3},
        {
            "type": "monetary",
            "event_type": "order_placed",
            "property": "total",
            "metric": "sum",
            "operator": "gte",
            "value": 500,
        },
        {
            "type": "event_property",
            "event_type": "order_placed",
            "property": "total",
            "operator": "gt",
            "value": 150,
        },
        {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"},
        {"type": "event_sequence", "events": ["cart_added", "order_placed"], "window_days": 7},
        _count("page_viewed", 5, 1),
        {"type": "recency", "event_type": "order_placed", "operator": "gt", "window_days": 20},
    ]
    if first_id is not None:
        rules.append({"type": "segment_membership", "segment_id": first_id, "operator": "in"})
    return [{"logic": "AND", "conditions": [rule]} for rule in rules]


class Receiver:
    """A local webhook receiver: when each entered user first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.perf_counter()
                for user in json.loads(body or b"{}").get("entered", []) or []:
                    receiver.arrived.setdefault(user, now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class Client:
    """One keep-alive connection, opened again when the server closed it."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        for _ in range(3):
            try:
                data = None if body is None else json.dumps(body)
                self.conn.request(method, path, body=data, headers=self.headers)
                response = self.conn.getresponse()
                text = response.read()
                return response.status, json.loads(text) if text else None
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return 0, None


def probe(
    port: int, key: str, segment_id: int, seconds: float, found: list[tuple[str, float, float]]
) -> None:
    """One new user at a time: the 202, then the delivery API polled until it answers member."""
    client = Client(port, key)
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        user = f"probe-{n}"
        n += 1
        status, _ = client.call(
            "POST", "/api/ingestion/track/", {"user_id": user, "event_type": "probe_done"}
        )
        accepted = time.perf_counter()
        if status != 202:
            continue
        while time.perf_counter() - accepted < 30:
            _, body = client.call("GET", f"/api/segments/membership/?user_id={user}&segment_id={segment_id}")
            if body and body.get("member"):
                found.append((user, accepted, time.perf_counter()))
                break
            time.sleep(0.01)
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--live-threads", type=int, default=None, help="SEGOPS_LIVE_THREADS (server default)")
    args = parser.parse_args()

    receiver = Receiver()
    with (
        fresh_database("segops_bench_realtime") as url,
        production_server(
            url,
            env={
                "SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS": "1",
                **({"SEGOPS_LIVE_THREADS": str(args.live_threads)} if args.live_threads else {}),
            },
        ) as server,
    ):
        key = server.secret_key()
        auth = {"Authorization": f"ApiKey {key}"}
        with psycopg.connect(url) as conn:
            tenant = conn.execute("SELECT id FROM accounts_tenant WHERE slug = 'bench'").fetchone()[0]  # type: ignore[index]
        generate(url, tenant, args.events, args.users)
        probe_id = server.request("POST", "/api/segments/", {"name": "Probe", "definition": PROBE}, auth)[
            "id"
        ]
        ids = [probe_id]
        for n, rule in enumerate(segment_rules(None)[:8]):
            ids.append(
                server.request("POST", "/api/segments/", {"name": f"S{n}", "definition": rule}, auth)["id"]
            )
        ids.append(
            server.request(
                "POST", "/api/segments/", {"name": "Ref", "definition": segment_rules(ids[1])[-1]}, auth
            )["id"]
        )
        started = time.perf_counter()
        for segment_id in ids:
            server.request("POST", f"/api/segments/{segment_id}/compute/", None, auth)
        while any(
            server.request("GET", f"/api/segments/{i}/", None, auth)["status"] != "computed" for i in ids
        ):
            time.sleep(0.5)
        print(
            f"{len(ids)} real-time segments computed over {args.events:,} events in {time.perf_counter() - started:.1f} s"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO webhooks_webhook (tenant_id, url, secret, description, is_active, events, segment_ids, "
                "disabled_reason, created_at, updated_at) VALUES (%s, %s, %s, '', TRUE, "
                "'[\"segment.membership_changed\"]', %s, '', now(), now())",
                # A secret as the API generates it: a `whsec_` one must be base64 after its prefix,
                # or the sender refuses to sign, and so to send, anything to the receiver.
                [tenant, receiver.url, secret_generate(), json.dumps([probe_id])],
            )
        found: list[tuple[str, float, float]] = []
        prober = threading.Thread(target=probe, args=(server.port, key, probe_id, args.seconds, found))
        prober.start()
        batches: list[dict[str, float]] = []
        batcher = threading.Thread(
            target=lambda: batches.append(run_phase("batch", server.port, key, 2, args.seconds))
        )
        batcher.start()
        single = run_phase("single", server.port, key, 8, args.seconds)
        batcher.join()
        batch = batches[0]
        prober.join()
        time.sleep(3)  # the last webhooks
        problems = [
            line for line in server.live.output().splitlines() if "rror" in line or "segops.live" in line
        ]
        print("\n".join(problems[-15:]))
        with psycopg.connect(url) as conn:
            backlog = conn.execute(
                "SELECT count(*) FROM segments_livepending WHERE due_at <= now()"
            ).fetchone()[0]  # type: ignore[index]
            deliveries = conn.execute(
                "SELECT status, left(last_error, 80), count(*) FROM webhooks_delivery "
                "WHERE webhook_id IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"
            ).fetchall()

    api = [(done - sent) * 1000 for _, sent, done in found]
    hooks = [(receiver.arrived[user] - sent) * 1000 for user, sent, _ in found if user in receiver.arrived]
    print(
        f"probes: {len(found)} users entered; webhooks arrived for {len(hooks)}; due backlog at the end {backlog}"
    )
    print("webhook deliveries (status, last error, count):", deliveries)
    for name, values, goal in (("202 -> delivery API", api, 1000), ("202 -> webhook", hooks, 2000)):
        p95 = percentile(values, 95)
        print(
            f"{name:20} p50 {percentile(values, 50):7.0f} ms  p95 {p95:7.0f} ms  p99 {percentile(values, 99):7.0f} ms"
            f"  ({'meets' if p95 <= goal else 'BELOW'} goal p95 <= {goal} ms)"
        )
    for name, phase, goal, rate in (
        ("batch of 500 x2", batch, BATCH_GOAL, batch["events_per_s"]),
        ("single event x8", single, SINGLE_GOAL, single["requests_per_s"]),
    ):
        print(
            f"{name:16} {phase['events_per_s']:>9,.0f} events/s {phase['requests_per_s']:>7,.0f} req/s"
            f"  p50 {phase['p50_ms']:6.1f} ms  p99 {phase['p99_ms']:6.1f} ms  failed {phase['requests_failed']:.0f}"
            f"  ({'meets' if rate >= goal else 'BELOW'} goal {goal:,})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
