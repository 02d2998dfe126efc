"""Fault tests' traffic: clients that keep sending events and probes that keep reading, recording
every answer, so a test can check what a live server said while its database was in trouble."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests

from segops_server.testing.live import is_postgresql


@dataclass
class Answers:
    """What the event clients were told: 202s by sequence number, 503s, anything else."""

    acknowledged: set[int] = field(default_factory=set)
    unavailable: list[tuple[float, str | None, str]] = field(default_factory=list)  # (at, Retry-After, body)
    unanswered: set[int] = field(default_factory=set)
    other: list[tuple[float, int, str]] = field(default_factory=list)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (at, status; 0 = no answer)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Probe:
    """Latency of one read endpoint, sampled while the fault lasts."""

    path: str
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (at, status, seconds)


class Traffic:
    """`clients` threads sending single events (with a message_id) and one thread per probe."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        clients: int,
        probes: list[Probe],
        probe_every: float = 0.1,
        timeout: float = 10.0,
    ) -> None:
        self.url, self.key, self.timeout = url, key, timeout
        self.answers = Answers()
        self.probes = probes
        self.probe_every = probe_every
        self._counter = itertools.count()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, daemon=True) for _ in range(clients)]
        self._threads += [threading.Thread(target=self._probe, args=(p,), daemon=True) for p in probes]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"ApiKey {self.key}"
        return session

    def _send(self) -> None:
        session = self._session()
        while not self._stop.is_set():
            seq = next(self._counter)
            body = {
                "user_id": f"user-{seq % 10}",
                "event_type": "order_placed",
                "message_id": f"fault-{seq}",
                "payload": {"seq": seq},
            }
            at = time.monotonic()
            try:
                response = session.post(f"{self.url}/api/ingestion/track/", json=body, timeout=self.timeout)
            except requests.RequestException:
                with self.answers.lock:
                    self.answers.unanswered.add(seq)
                    self.answers.timeline.append((at, 0))
                time.sleep(0.05)
                continue
            with self.answers.lock:
                self.answers.timeline.append((at, response.status_code))
                if response.status_code == 202:
                    self.answers.acknowledged.add(seq)
                elif response.status_code == 503:
                    self.answers.unavailable.append((at, response.headers.get("Retry-After"), response.text))
                else:
                    self.answers.other.append((at, response.status_code, response.text[:300]))
            if response.status_code == 503:
                time.sleep(0.05)  # a real client would wait Retry-After; this one keeps the pressure on

    def _probe(self, probe: Probe) -> None:
        session = self._session()
        while not self._stop.is_set():
            at = time.monotonic()
            try:
                status = session.get(f"{self.url}{probe.path}", timeout=self.timeout).status_code
            except requests.RequestException:
                status = 0
            probe.samples.append((at, status, time.monotonic() - at))
            self._stop.wait(self.probe_every)


def stored_seq_counts(database_url: str, slug: str) -> Counter[int]:
    """The tenant's stored events per payload sequence number, read from the database directly."""
    if is_postgresql(database_url):
        sql = (
            "SELECT (e.payload->>'seq')::bigint, count(*) FROM ingestion_event e "
            "JOIN accounts_tenant t ON t.id = e.tenant_id WHERE t.slug = %s GROUP BY 1"
        )
        with psycopg.connect(database_url) as conn:
            rows: list[Any] = conn.execute(sql, (slug,)).fetchall()
    else:
        sql = (
            "SELECT json_extract(e.payload, '$.seq'), count(*) FROM ingestion_event e "
            "JOIN accounts_tenant t ON t.id = e.tenant_id WHERE t.slug = ? GROUP BY 1"
        )
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(sql, (slug,)).fetchall()
    return Counter({int(seq): int(count) for seq, count in rows if seq is not None})


def wait_for(predicate: Any, *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
