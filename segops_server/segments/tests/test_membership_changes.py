"""What a compute records of who entered and who exited: the difference between the old and the
new member set, nothing for an unchanged set or a failed compute, in short chunks on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from segops_server.segments.changes import record
from segops_server.segments.compute import materialise
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create, segment_delete, segment_update
from segops_server.segments.delivery import snapshots
from segops_server.segments.models import Segment, SegmentChange, SegmentMember, Status
from segops_server.testing.factories import Team
from segops_server.testing.orders import bought_rule, orders_send

pytestmark = pytest.mark.django_db


_rule = bought_rule
_orders = orders_send


def _changes(segment: Segment) -> list[tuple[int, str, str]]:
    rows = SegmentChange.objects.for_tenant(segment.tenant).filter(segment=segment).order_by("id")
    return list(rows.values_list("generation", "change", "user_id"))


@pytest.fixture
def segment(team: Team) -> Segment:
    _orders(team, ann=1, bob=2, cat=3)
    return segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=_rule(1))


def _compute(segment: Segment, **kwargs: Any) -> Segment:
    segment_compute_run(segment_id=segment.pk, **kwargs)
    segment.refresh_from_db()
    return segment


def test_it_records_every_member_as_entered_on_the_first_compute(segment: Segment) -> None:
    now = timezone.now()
    _compute(segment, now=now)
    assert _changes(segment) == [(1, "entered", "ann"), (1, "entered", "bob"), (1, "entered", "cat")]
    rows = SegmentChange.objects.for_tenant(segment.tenant).filter(segment=segment)
    assert set(rows.values_list("at", flat=True)) == {now}
    assert set(rows.values_list("tenant_id", flat=True)) == {segment.tenant_id}


def test_it_records_who_entered_and_who_exited_with_the_new_generation(team: Team, segment: Segment) -> None:
    _compute(segment)
    _orders(team, dan=2)
    segment_update(segment=segment, actor=team.owner, definition=_rule(2))
    segment = _compute(segment)
    assert segment.generation == 2
    assert _changes(segment)[3:] == [(2, "exited", "ann"), (2, "entered", "dan")]


def test_it_records_nothing_when_the_set_is_unchanged(segment: Segment) -> None:
    _compute(segment)
    before = _changes(segment)
    segment = _compute(segment)
    assert segment.generation == 2
    assert _changes(segment) == before


def test_it_records_nothing_for_a_failed_compute(
    team: Team, segment: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compute(segment)
    before = _changes(segment)
    segment_update(segment=segment, actor=team.owner, definition=_rule(3))

    def broken() -> None:  # the swap fails: after the changes were worked out, before they count
        raise RuntimeError("the swap failed")

    monkeypatch.setattr(snapshots, "changed", broken)
    segment = _compute(segment)
    assert segment.status == Status.FAILED
    assert segment.generation == 1
    assert _changes(segment) == before


def test_it_records_the_next_compute_after_a_failed_one_once(
    team: Team, segment: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compute(segment)
    segment_update(segment=segment, actor=team.owner, definition=_rule(3))
    with monkeypatch.context() as patched:
        patched.setattr(snapshots, "changed", lambda: (_ for _ in ()).throw(RuntimeError("down")))
        _compute(segment)
    segment = _compute(segment)
    assert segment.status == Status.COMPUTED
    assert _changes(segment)[3:] == [(2, "exited", "ann"), (2, "exited", "bob")]


def test_it_deletes_the_changes_with_the_segment(team: Team, segment: Segment) -> None:
    _compute(segment)
    segment_delete(segment=segment)
    assert not SegmentChange.objects.for_tenant(team.tenant).exists()


def test_it_deletes_the_changes_with_the_tenant(team: Team, segment: Segment) -> None:
    _compute(segment)
    team.tenant.delete()
    assert not SegmentChange.objects.unscoped_all_tenants().exists()


# A set of 20,000 members of which 10 % are replaced, written straight through members_materialise.

_SERIES = {
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT %s UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
        "SELECT printf('u%%05d', i) AS user_id FROM n"
    ),
    "postgresql": "SELECT 'u' || lpad(i::text, 5, '0') AS user_id FROM generate_series(%s, %s) i",
}


def _materialise(segment: Segment, first: int, last: int) -> None:
    generation = segment.generation + 1

    def swap(count: int) -> None:
        Segment.objects.for_tenant(segment.tenant).filter(pk=segment.pk).update(
            generation=generation, member_count=count
        )

    materialise.members_materialise(
        tenant_id=segment.tenant_id,
        segment_id=segment.pk,
        generation=generation,
        now=timezone.now(),
        sql=_SERIES[connection.vendor],
        params=[first, last],
        swap=swap,
    )
    segment.refresh_from_db()


@pytest.fixture
def statements() -> Iterator[list[tuple[str, bool]]]:
    """Every statement run, with whether a transaction (on SQLite: the write lock) was open."""
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@pytest.mark.django_db(transaction=True)
def test_it_records_a_large_change_exactly_in_short_transactions_on_sqlite(
    team: Team, segment: Segment, statements: list[tuple[str, bool]]
) -> None:
    _materialise(segment, 0, 19_999)
    statements.clear()
    _materialise(segment, 2_000, 21_999)
    changes = SegmentChange.objects.for_tenant(team.tenant).filter(segment=segment, generation=2)
    exited = set(changes.filter(change="exited").values_list("user_id", flat=True))
    entered = set(changes.filter(change="entered").values_list("user_id", flat=True))
    assert exited == {f"u{i:05d}" for i in range(2_000)}
    assert entered == {f"u{i:05d}" for i in range(20_000, 22_000)}
    inserts = [(sql, atomic) for sql, atomic in statements if "INSERT INTO segments_segmentchange" in sql]
    assert all(atomic for _, atomic in inserts)
    if connection.vendor == "sqlite":
        # One transaction per CHUNK user ids of a generation: 4 over the old set, 4 over the new.
        assert len(inserts) == 2 * 20_000 // materialise.CHUNK
    else:
        # One statement records both ways, in the swap's transaction; the rule is read once.
        assert len(inserts) == 1
        assert len([sql for sql, _ in statements if "generate_series" in sql]) == 1
        assert segment.member_count == 20_000


def test_it_bounds_each_chunk_by_a_range_of_user_ids(
    segment: Segment, statements: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialise, "CHUNK", 3)
    _materialise(segment, 0, 9)
    statements.clear()
    _materialise(segment, 5, 14)
    inserts = [sql for sql, _ in statements if "INSERT INTO segments_segmentchange" in sql]
    assert len(inserts) == (8 if connection.vendor == "sqlite" else 1)  # ceil(10 / 3) ranges each way
    rows = _changes(segment)[10:]
    assert rows == [(2, "exited", f"u0000{i}") for i in range(5)] + [
        (2, "entered", f"u{i:05d}") for i in range(10, 15)
    ]


def test_it_fails_rather_than_record_an_exit_whose_stay_is_gone(segment: Segment) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-pass difference is PostgreSQL's")
    _materialise(segment, 0, 9)
    with transaction.atomic(), connection.cursor() as cursor:
        difference = record.difference_find(
            cursor=cursor, segment_id=segment.pk, sql=_SERIES["postgresql"], params=[2, 12]
        )
        assert difference == record.Difference(count=11, exits=2, entries=3)
        # A stay of a leaver goes between the difference and its application.
        SegmentMember.objects.for_tenant(segment.tenant).filter(segment=segment, user_id="u00000").delete()
        with pytest.raises(record.DifferenceMismatch):
            record.difference_apply(
                cursor=cursor,
                difference=difference,
                tenant_id=segment.tenant_id,
                segment_id=segment.pk,
                generation=segment.generation + 1,
                now=timezone.now(),
            )
