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

`--against DIR` also starts the server of another working tree of SegOps (say, an older commit:
`git worktree add ../base <commit> && (cd ../base && bash scripts/_uv.sh)`) on its own database,
and sends every request to both servers in turn, so a change in the machine's speed during the
run falls on both alike; it prints both sets of figures and this tree's as a ratio of the other's.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Target:
    """One server under measurement, with its credentials."""

    label: str
    port: int
    key: str
    access: str


def measure(targets: list[Target], requests: int, warmup: int) -> dict[tuple[str, str], list[float]]:
    """Latencies (seconds) of each kind of request to each target, keyed (target label, kind),
    sent in rotating order, one connection a target."""
    kinds = {
        "anonymous": (WHOAMI, {}, b'"authenticated":false'),
        "api_key": (WHOAMI, "ApiKey", b'"authenticated":true'),
        "bearer": (WHOAMI, "Bearer", b'"authenticated":true'),
        "healthz": ("/healthz", {}, b'"ok"'),
        "readyz": ("/readyz", {}, b'"ok"'),
    }
    conns = {t.label: http.client.HTTPConnection("127.0.0.1", t.port, timeout=30) for t in targets}
    plan = [(target, name) for name in kinds for target in targets]
    samples: dict[tuple[str, str], list[float]] = {(t.label, name): [] for t, name in plan}
    for n in range(warmup + requests):
        shift = n % len(plan)
        for target, name in plan[shift:] + plan[:shift]:
            path, scheme, expect = kinds[name]
            headers = _authorization(scheme, target) if isinstance(scheme, str) else scheme
            elapsed = _timed_get(conns[target.label], path, headers, expect)
            if n >= warmup:
                samples[(target.label, name)].append(elapsed)
    for conn in conns.values():
        conn.close()
    return samples


def _authorization(scheme: str, target: Target) -> dict[str, str]:
    return {"Authorization": f"{scheme} {target.key if scheme == 'ApiKey' else target.access}"}


@contextlib.contextmanager
def _target(label: str, database: str, key_cache: bool, checkout: Path | None) -> Iterator[Target]:
    with (
        fresh_database(database) as url,
        production_server(
            url, workers=2, env={"SEGOPS_KEY_CACHE": "1" if key_cache else "0"}, checkout=checkout
        ) as server,
    ):
        key = server.secret_key()
        access = server.request(
            "POST", "/api/auth/token/", {"email": "bench@example.com", "password": "bench-pass-9182"}
        )["access"]
        yield Target(label=label, port=server.port, key=key, access=access)


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
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="also measure the server of this other working tree"
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        targets = [stack.enter_context(_target("this", "segops_bench_auth", args.key_cache, None))]
        if args.against is not None:
            other = _target("other", "segops_bench_auth_other", args.key_cache, args.against.resolve())
            targets.append(stack.enter_context(other))
        samples = measure(targets, args.requests, args.warmup)

    cache = "on" if args.key_cache else "off"
    print(
        f"GET {WHOAMI}: production server (2 workers) on PostgreSQL, key cache {cache}, {args.requests} requests of each kind"
    )
    passed = True
    for target in targets:
        if len(targets) > 1:
            print(f"{'this tree' if target.label == 'this' else args.against}:")
        med, p99 = _figures(samples, target.label)
        _report(med, p99)
        passed = passed and med["api_key"] - med["anonymous"] <= GOAL_MEDIAN_MS
    if len(targets) > 1:
        _compare(samples)
    print(f"goal: ApiKey auth adds <= {GOAL_MEDIAN_MS} ms at the median: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def _figures(
    samples: dict[tuple[str, str], list[float]], label: str
) -> tuple[dict[str, float], dict[str, float]]:
    mine = {name: values for (owner, name), values in samples.items() if owner == label}
    med = {name: statistics.median(values) * 1000 for name, values in mine.items()}
    p99 = {name: percentile(values, 99) * 1000 for name, values in mine.items()}
    return med, p99


def _report(med: dict[str, float], p99: dict[str, float]) -> None:
    print(_line("no credentials", med["anonymous"], p99["anonymous"]))
    print(_line("Authorization: ApiKey sk_live_...", med["api_key"], p99["api_key"]))
    print(_line("added by ApiKey auth", med["api_key"] - med["anonymous"], p99["api_key"] - p99["anonymous"]))
    print(_line("Authorization: Bearer <access JWT>", med["bearer"], p99["bearer"]))
    print(_line("added by Bearer auth", med["bearer"] - med["anonymous"], p99["bearer"] - p99["anonymous"]))
    print("for scale: one database round trip")
    print(_line("GET /healthz (no database)", med["healthz"], p99["healthz"]))
    print(_line("GET /readyz (SELECT 1)", med["readyz"], p99["readyz"]))
    print(_line("added by one SELECT 1", med["readyz"] - med["healthz"], p99["readyz"] - p99["healthz"]))


def _compare(samples: dict[tuple[str, str], list[float]]) -> None:
    """This tree's medians as a ratio of the other tree's, measured in the same run."""
    mine, _ = _figures(samples, "this")
    theirs, _ = _figures(samples, "other")
    mine["added"] = mine["api_key"] - mine["anonymous"]
    theirs["added"] = theirs["api_key"] - theirs["anonymous"]
    print("this tree / the other (medians):")
    for name in ("anonymous", "api_key", "added", "bearer", "healthz", "readyz"):
        print(f"  {name:10} {mine[name]:7.3f} / {theirs[name]:7.3f} ms = {mine[name] / theirs[name]:5.3f}")


if __name__ == "__main__":
    sys.exit(main())
