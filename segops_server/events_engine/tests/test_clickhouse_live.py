"""Real-time evaluation on the ClickHouse engine (chDB here): an event moves its user in as on
the database engine, and as a full compute would; a user whose event ClickHouse does not hold
yet waits for it rather than being evaluated without it; a round ships once, not per segment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from segops_server.events_engine import shipping
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.live.evaluate import live_round
from segops_server.segments.members import stay_covers
from segops_server.segments.models import LivePending, Segment, SegmentMember
from segops_server.segments.rules import tenant_compile
from segops_server.testing.chdb import chdb_fresh, chdb_url, needs_chdb
from segops_server.testing.factories import Team

pytestmark = [needs_chdb, pytest.mark.django_db]


def _rule(times: int, event_type: str = "order_placed") -> dict[str, Any]:
    condition = {"type": "event_count", "event_type": event_type, "operator": "gte", "value": times}
    return {"logic": "AND", "conditions": [condition]}


def _send(team: Team, user: str, at: datetime, kind: str = "order_placed") -> None:
    event = event_validate({"user_id": user, "event_type": kind, "occurred_at": at.isoformat()}, now=at)
    events_store(tenant=team.tenant, events=[event], received_at=at)


def _live(team: Team, definition: dict[str, Any], name: str = "Repeat") -> Segment:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=definition)
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(realtime=True)
    segment_compute_run(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


def _members(segment: Segment) -> set[str]:
    segment.refresh_from_db()
    rows = SegmentMember.objects.for_tenant(segment.tenant).filter(
        stay_covers(segment.generation), segment=segment
    )
    return set(rows.values_list("user_id", flat=True))


def _drain(now: datetime) -> None:
    while live_round(now=now):
        pass


@pytest.fixture(params=["database", "clickhouse"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    chdb_fresh()
    with override_settings(
        SEGOPS_EVENTS_ENGINE=request.param,
        SEGOPS_CLICKHOUSE_URL=chdb_url(),
        SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS=0,
    ):
        yield request.param


def test_an_event_moves_its_user_in_as_a_compute_would(team: Team, engine: str) -> None:
    now = timezone.now()
    for user in ("ann", "ann", "bob"):
        _send(team, user, now - timedelta(hours=1))
    segment = _live(team, _rule(2))
    assert _members(segment) == {"ann"}
    _send(team, "bob", now)
    _send(team, "cid", now)
    _drain(now)
    assert _members(segment) == {"ann", "bob"}  # the same on both engines
    assert not LivePending.objects.for_tenant(team.tenant).exists()
    live = _members(segment)
    segment_compute_run(segment_id=segment.pk)
    assert _members(segment) == live


def test_a_user_whose_event_is_not_in_clickhouse_yet_waits_for_it(team: Team, engine: str) -> None:
    now = timezone.now()
    _send(team, "ann", now - timedelta(hours=1))
    segment = _live(team, _rule(2))
    with override_settings(SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS=3600):  # not shipped for an hour
        now = timezone.now()
        _send(team, "ann", now)
        _drain(now)
        if engine == "clickhouse":
            assert _members(segment) == set()  # not evaluated without its event...
            assert LivePending.objects.for_tenant(team.tenant).filter(user_id="ann").exists()  # ...kept
            _drain(now + timedelta(seconds=2))  # due again: still not shipped, still waiting
            assert _members(segment) == set()
    _drain(now + timedelta(seconds=4))  # shipped now
    assert _members(segment) == {"ann"}
    assert not LivePending.objects.for_tenant(team.tenant).exists()


def test_a_round_ships_once_whatever_its_segments(
    team: Team, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    segments = [_live(team, _rule(times), name=f"{times} orders") for times in (1, 2, 3)]
    calls: list[int] = []
    real = shipping.events_ship_pending

    def counted(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tenant_compile, "events_ship_pending", counted)
    _send(team, "ann", now)
    _drain(now)
    assert [_members(s) for s in segments] == [{"ann"}, set(), set()]
    assert len(calls) == (1 if engine == "clickhouse" else 0)
