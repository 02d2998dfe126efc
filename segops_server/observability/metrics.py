"""The Prometheus series every process counts: requests, events, quota refusals, computes.

Several processes serve one installation (granian's workers and the task worker), so counts
live in prometheus-client's multiprocess mode: each process writes its values to memory-mapped
files in PROMETHEUS_MULTIPROC_DIR, which `segops run` points at SEGOPS_METRICS_DIR and empties
when it starts (see multiproc.py), and /metrics adds them up at scrape time. Without
that variable (tests, another WSGI server) each process counts for itself.

Labels come from small fixed sets (route patterns, never raw paths; a handful of methods and
statuses), so no client can make the series grow without bound. Series computed from the
database at scrape time (task queue, workers) are in collectors.py.
"""

from __future__ import annotations

import threading

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "segops_http_requests",
    "HTTP requests answered, by route pattern (never the raw path), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "segops_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
EVENTS_INGESTED = Counter("segops_events_ingested", "Events stored.")
GROUP_COMMITS = Counter(
    "segops_ingest_group_commits",
    "Transactions that stored single events (ingestion/groupcommit.py): several requests' events share one.",
)
GROUPED_REQUESTS = Counter(
    "segops_ingest_grouped_requests",
    "Single-event requests stored by those transactions; divided by the commits, the mean group size.",
)
EVENTS_SKIPPED = Counter(
    "segops_events_skipped",
    "Events acknowledged but not stored: invalid or refused by a schema (in a batch), or duplicate"
    " (a known message_id).",
    ["reason"],
)
QUOTA_REFUSALS = Counter(
    "segops_quota_refusals",
    "Requests refused with 429 by a plan quota (calls_per_minute, events_per_month).",
    ["quota"],
)
COMPUTES = Counter("segops_segment_computes", "Segment computes finished, by outcome.", ["outcome"])
COMPUTE_SECONDS = Histogram(
    "segops_segment_compute_duration_seconds",
    "Time a segment compute took, by outcome.",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)

# Anything else is counted as "other": the method is client input.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a path no route serves (404): one label for all of them

_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_children_lock = threading.Lock()


def request_record(*, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request. Cheap enough for the short way: the labelled children are
    looked up once per (route, method, status) and kept."""
    key = (route, method, status)
    found = _children.get(key)
    if found is None:
        label = method if method in METHODS else "other"
        with _children_lock:
            found = _children.setdefault(
                key,
                (
                    REQUESTS.labels(route=route, method=label, status=str(status)),
                    REQUEST_SECONDS.labels(route=route, method=label),
                ),
            )
    found[0].inc()
    found[1].observe(seconds)


def compute_record(*, outcome: str, seconds: float) -> None:
    """One segment compute finished: "computed" or "failed"."""
    COMPUTES.labels(outcome=outcome).inc()
    COMPUTE_SECONDS.labels(outcome=outcome).observe(seconds)
