"""`segops events backfill`: copies every tenant's stored events to ClickHouse, continues where an
interrupted run stopped, and checks each tenant's count on both sides without repairing anything."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from segops_server.accounts.models import Tenant
from segops_server.cli import main
from segops_server.events_engine.schema import EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.models import Event, EventShipCursor
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.testing.chdb import chdb_engine, needs_chdb
from segops_server.testing.factories import Team, make_tenant

pytestmark = [needs_chdb, pytest.mark.django_db]


def store_events(tenants: Sequence[Tenant], rounds: int) -> None:
    """`rounds` events per tenant, stored one round at a time, so tenants' ids interleave."""
    now = timezone.now()
    for r in range(rounds):
        for tenant in tenants:
            event = {
                "user_id": f"user-{r % 3}",
                "event_type": "order_placed",
                "occurred_at": (now - timedelta(minutes=r)).isoformat(),
                "properties": {"amount": r},
            }
            events_store(tenant=tenant, events=[event_validate(event, now=now)], received_at=now)


@pytest.fixture
def tenants(team: Team) -> list[Tenant]:
    found = [team.tenant, make_tenant("beta"), make_tenant("gamma")]
    store_events(found, rounds=5)  # 15 events
    return found


@pytest.fixture
def clickhouse(tenants: list[Tenant]) -> Iterator[Transport]:
    with chdb_engine() as transport:
        yield transport


def backfill(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["events", "backfill", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def shipped_ids(transport: Transport) -> list[Any]:
    return [row[0] for row in transport.query(f"SELECT id FROM {EVENTS_TABLE} ORDER BY id")]


def stored_ids() -> list[int]:
    return list(Event.objects.unscoped_all_tenants().order_by("pk").values_list("pk", flat=True))


def test_it_copies_every_tenants_events_and_checks_their_counts(
    clickhouse: Transport, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = backfill(capsys, "--batch", "4")
    assert code == 0, err
    assert shipped_ids(clickhouse) == stored_ids()
    assert EventShipCursor.objects.get().last_event_id == stored_ids()[-1]
    lines = out.splitlines()
    assert lines[0].split() == ["tenant", "database", "clickhouse", "ok"]
    assert sorted(line.split() for line in lines[1:4]) == sorted([t.slug, "5", "5", "yes"] for t in tenants)
    assert f"All 3 tenant(s) match: 15 events up to id {stored_ids()[-1]}" in out


def test_it_shows_its_progress_on_stderr(clickhouse: Transport, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = backfill(capsys, "--batch", "4")
    assert code == 0
    lines = err.splitlines()
    assert "\r" not in err  # not a terminal: whole lines, a few of them
    assert 1 < len(lines) <= 21
    assert lines[0].startswith("copied 4 of 15 events (26.7 %)")
    assert lines[-1].startswith("copied 15 of 15 events (100.0 %), ")
    assert "events/s, ETA 0:00:00" in lines[-1]


def test_it_continues_from_the_cursor_after_a_failed_insert(
    clickhouse: Transport, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_insert = clickhouse.insert
    calls = []

    def second_fails(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("connection reset by peer")
        real_insert(*args, **kwargs)

    monkeypatch.setattr(clickhouse, "insert", second_fails)
    code, out, err = backfill(capsys, "--batch", "4")
    assert code == 1
    assert out == ""
    fourth = stored_ids()[3]
    assert "stopped (RuntimeError: connection reset by peer)." in err
    assert f"Events up to id {fourth} are in ClickHouse" in err
    assert "run it again to continue" in err
    assert shipped_ids(clickhouse) == stored_ids()[:4]
    assert EventShipCursor.objects.get().last_event_id == fourth

    monkeypatch.setattr(clickhouse, "insert", real_insert)
    code, out, err = backfill(capsys, "--batch", "4")
    assert code == 0, err
    assert err.splitlines()[-1].startswith("copied 11 of 11 events (100.0 %)")
    assert shipped_ids(clickhouse) == stored_ids()  # each once
    assert "All 3 tenant(s) match: 15 events" in out


def test_it_drops_a_batch_shipped_again_after_its_cursor_was_lost(
    clickhouse: Transport, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_insert = clickhouse.insert
    calls = []

    def second_lost(*args: Any, **kwargs: Any) -> None:
        # The insert reaches ClickHouse, then the run dies before the cursor is committed.
        calls.append(args)
        real_insert(*args, **kwargs)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(clickhouse, "insert", second_lost)
    code, _, err = backfill(capsys, "--batch", "4")
    assert code == 130
    assert "stopped (interrupted)" in err
    assert len(shipped_ids(clickhouse)) == 8
    assert EventShipCursor.objects.get().last_event_id == stored_ids()[3]

    code, out, err = backfill(capsys, "--batch", "4")
    assert code == 0, err
    assert shipped_ids(clickhouse) == stored_ids()  # the second batch once: its token matched
    assert "All 3 tenant(s) match" in out


def test_it_refuses_on_the_database_engine(tenants: list[Tenant], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = backfill(capsys)
    assert code == 2
    assert out == ""
    assert "the events engine is not ClickHouse. Set SEGOPS_EVENTS_ENGINE=clickhouse" in err
    assert not EventShipCursor.objects.exists()


def test_it_reports_events_missing_in_clickhouse_and_changes_nothing(
    clickhouse: Transport, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill(capsys)[0] == 0
    beta = tenants[1]
    clickhouse.command(
        f"DELETE FROM {EVENTS_TABLE} WHERE tenant_id = {{tenant:UInt64}} AND user_id = 'user-0'",
        {"tenant": beta.pk},
    )
    code, out, err = backfill(capsys)
    assert code == 1
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["beta"] == ["5", "3", "NO"]
    assert rows["gamma"] == ["5", "5", "yes"]
    assert "counts differ for 1 tenant(s) (beta)" in err
    assert "Nothing was changed" in err
    assert len(shipped_ids(clickhouse)) == 13


def test_it_reports_events_copied_twice(
    clickhouse: Transport, tenants: list[Tenant], capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill(capsys, "--batch", "4")[0] == 0
    # Shipped again from the start in other batches: other tokens, so ClickHouse keeps both copies.
    EventShipCursor.objects.filter(pk=1).update(last_event_id=0)
    code, out, err = backfill(capsys, "--batch", "5")
    assert code == 1
    assert "counts differ for 3 tenant(s)" in err
    assert all(line.split()[1:] == ["5", "10", "NO"] for line in out.splitlines()[1:])


@pytest.mark.parametrize("batch", ["0", "-3", "many"])
def test_it_refuses_a_batch_that_is_not_a_positive_number(
    batch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["events", "backfill", "--batch", batch])
    assert exit_.value.code == 2
    assert "expected a whole number of at least 1" in capsys.readouterr().err
