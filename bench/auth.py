"""What ApiKey authentication adds to a request: the production server on PostgreSQL, over HTTP.

    uv run --frozen python bench/auth.py [--requests 3000] [--warmup 300]

Sends N sequential keep-alive requests each of GET /api/auth/whoami/ without credentials, with
`Authorization: ApiKey <key>` and with `Authorization: Bearer <access JWT>`, interleaved (rotating which goes first) so drift in the
machine's speed falls on both equally. Prints median and p99 latency of each and the
difference: the time added by verifying the key (checksum, digest, one indexed SELECT), and by
verifying a person's access token (signature, claims, one SELECT of the person that also checks
the token's family is not revoked).

For scale it also times /healthz (no database) against /readyz (one `SELECT 1`): the price of
a single database round trip on this machine, which no uncached verification can go below.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import fresh_database, percentile, production_server

GOAL_MEDIAN_MS = 0.3
WHOAMI = "/api/auth/whoami/"


def _timed_get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str], expect: bytes) -> float:
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200 or expect not in body:
        raise RuntimeError(f"GET {path}: unexpected answer {response.status}: {body[:200]!r}")
    return elapsed


def measure(port: int, key: str, access: str, requests: int, warmup: int) -> dict[str, list[float]]:
    """Latencies (seconds) of each kind of request, sent in rotating order on one connection."""
    kinds = {
        "anonymous": (WHOAMI, {}, b'"authenticated":false'),
        "api_key": (WHOAMI, {"Authorization": f"ApiKey {key}"}, b'"authenticated":true'),
        "bearer": (WHOAMI, {"Authorization": f"Bearer {access}"}, b'"authenticated":true'),
        "healthz": ("/healthz", {}, b'"ok"'),
        "readyz": ("/readyz", {}, b'"ok"'),
    }
    names = list(kinds)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for n in range(warmup + requests):
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed = _timed_get(conn, *kinds[name])
            if n >= warmup:
                samples[name].append(elapsed)
    conn.close()
    return samples


def _line(label: str, median_ms: float, p99_ms: float) -> str:
    return f"  {label:34} median {median_ms:7.3f} ms   p99 {p99_ms:7.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests of each kind (default 3000)")
    parser.add_argument(
        "--key-cache", action="store_true", help="run the server with SEGOPS_KEY_CACHE=1 (one machine only)"
    )
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests of each kind")
    args = parser.parse_args()

    with (
        fresh_database("segops_bench_auth") as url,
        production_server(url, workers=2, env={"SEGOPS_KEY_CACHE": "1" if args.key_cache else "0"}) as server,
    ):
        key = server.secret_key()
        access = server.request(
            "POST", "/api/auth/token/", {"email": "bench@example.com", "password": "bench-pass-9182"}
        )["access"]
        samples = measure(server.port, key, access, args.requests, args.warmup)

    med = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    p99 = {name: percentile(values, 99) * 1000 for name, values in samples.items()}
    added_median = med["api_key"] - med["anonymous"]
    cache = "on" if args.key_cache else "off"
    print(
        f"GET {WHOAMI}: production server (2 workers) on PostgreSQL, key cache {cache}, {args.requests} requests of each kind"
    )
    print(_line("no credentials", med["anonymous"], p99["anonymous"]))
    print(_line("Authorization: ApiKey sk_live_...", med["api_key"], p99["api_key"]))
    print(_line("added by ApiKey auth", added_median, p99["api_key"] - p99["anonymous"]))
    print(_line("Authorization: Bearer <access JWT>", med["bearer"], p99["bearer"]))
    print(_line("added by Bearer auth", med["bearer"] - med["anonymous"], p99["bearer"] - p99["anonymous"]))
    print("for scale: one database round trip")
    print(_line("GET /healthz (no database)", med["healthz"], p99["healthz"]))
    print(_line("GET /readyz (SELECT 1)", med["readyz"], p99["readyz"]))
    print(_line("added by one SELECT 1", med["readyz"] - med["healthz"], p99["readyz"] - p99["healthz"]))
    passed = added_median <= GOAL_MEDIAN_MS
    print(f"goal: ApiKey auth adds <= {GOAL_MEDIAN_MS} ms at the median: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
