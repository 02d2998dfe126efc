"""How a compute writes its member set: never holding SQLite's write lock while the rule runs,
only the difference, in short chunks, and never showing readers a half-written generation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute import materialise
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.members import stay_covers
from segops_server.segments.models import Segment, SegmentMember, Status
from segops_server.testing.factories import Team, make_team

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL writes the set in one INSERT ... SELECT"
)


def _buyers(team: Team, *users: str) -> Segment:
    now = timezone.now()
    events = [
        event_validate({"user_id": u, "event_type": "order_placed", "occurred_at": now.isoformat()}, now=now)
        for u in users
    ]
    events_store(tenant=team.tenant, events=events, received_at=now + timedelta(seconds=1))
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)


def _members(segment: Segment) -> list[str]:
    segment.refresh_from_db()
    rows = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    return sorted(rows.values_list("user_id", flat=True))


@pytest.fixture
def statements() -> Iterator[list[tuple[str, bool]]]:
    """Every statement run, with whether a transaction (on SQLite: the write lock) was open."""
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_it_evaluates_the_rule_without_the_write_lock_on_sqlite(
    statements: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialise, "CHUNK", 2)
    team = make_team()
    segment = _buyers(team, "ann", "bob", "cat", "dan", "eve")
    statements.clear()
    segment_compute_run(segment_id=segment.pk)
    assert _members(segment) == ["ann", "bob", "cat", "dan", "eve"]
    rule = [atomic for sql, atomic in statements if "order_placed" in sql or "event_type" in sql]
    assert rule
    assert not any(rule), "the rule ran inside a write transaction"
    inserts = [sql for sql, atomic in statements if sql.startswith("INSERT INTO segments_segmentmember")]
    assert len(inserts) == 3  # 5 rows in chunks of 2
    # The members and changes are written in transactions (short ones, of a chunk each); the new
    # set goes to the connection's temporary table, which takes no lock on the database.
    tables = ("segments_segmentmember", "segments_segmentchange")
    writes = [
        (sql, atomic)
        for sql, atomic in statements
        if sql.startswith(("INSERT", "UPDATE", "DELETE"))
        and any(table in sql.split("SELECT")[0] for table in tables)
    ]
    assert writes
    assert all(atomic for sql, atomic in writes), [sql for sql, atomic in writes if not atomic]


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_old_generation_whole_when_a_chunk_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    team = make_team()
    segment = _buyers(team, "ann", "bob")
    segment_compute_run(segment_id=segment.pk)
    assert _members(segment) == ["ann", "bob"]
    _buyers(team, "cat", "dan", "eve")
    monkeypatch.setattr(materialise, "CHUNK", 2)
    real_atomic, calls = materialise.transaction.atomic, {"n": 0}

    def failing_atomic(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:  # after the leftovers' deletes and one chunk written and committed
            raise RuntimeError("disk full")
        return real_atomic(*args, **kwargs)

    monkeypatch.setattr(materialise.transaction, "atomic", failing_atomic)
    segment_compute_run(segment_id=segment.pk)
    monkeypatch.setattr(materialise.transaction, "atomic", real_atomic)
    segment.refresh_from_db()
    assert segment.status == Status.FAILED
    assert _members(segment) == ["ann", "bob"]  # readers still see the whole old set
    members = SegmentMember.objects.for_tenant(team.tenant)
    assert not members.filter(generation__gt=segment.generation).exists()
    segment_compute_run(segment_id=segment.pk)
    assert _members(segment) == ["ann", "bob", "cat", "dan", "eve"]
    assert SegmentMember.objects.for_tenant(team.tenant).count() == 5  # ann and bob's stays go on


@pytest.mark.django_db
def test_it_replaces_the_member_set_on_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(materialise, "CHUNK", 1)
    team = make_team()
    segment = _buyers(team, "ann")
    segment_compute_run(segment_id=segment.pk)
    _buyers(team, "bob", "cat")
    segment_compute_run(segment_id=segment.pk)
    segment.refresh_from_db()
    assert (segment.status, segment.member_count) == (Status.COMPUTED, 3)
    assert _members(segment) == ["ann", "bob", "cat"]
    assert SegmentMember.objects.for_tenant(team.tenant).count() == 3
