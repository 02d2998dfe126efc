"""The delivery API from per-process membership snapshots (segments/delivery/snapshots.py): never stale,
never another tenant's, and no database read per question once a snapshot is built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from segops_server.keys.services import IssuedKey
from segops_server.segments.delivery import snapshots
from segops_server.segments.tests.test_segments_api import _create, _history, _send
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

# Snapshots are used outside transactions only, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

MEMBERSHIP = "/api/segments/membership/"


@pytest.fixture(autouse=True)
def _snapshots_on(tmp_path: Path) -> Iterator[None]:
    with override_settings(SEGOPS_MEMBERSHIP_SNAPSHOTS=True, DATA_DIR=tmp_path):
        snapshots.clear()
        yield
        snapshots.clear()


@pytest.fixture
def buyers(team: Team) -> int:
    _history(team)  # alice and bob placed two orders, carol none
    segment_id = int(_create(team).json()["id"])
    team.client("member").post(f"/api/segments/{segment_id}/compute/")
    return segment_id


@pytest.fixture
def reader(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, scopes=["segments:read"])


def _ask(key: str, query: str) -> tuple[Any, int]:
    """The answer, and how many queries read the members table for it (a snapshot being built
    in the background is waited for after the answer)."""
    with CaptureQueriesContext(connection) as queries:
        response = key_client(key).get(f"{MEMBERSHIP}?{query}")
    snapshots.wait_for_builders()
    assert response.status_code in (200, 404), response.content
    reads = sum("segments_segmentmember" in q["sql"] for q in queries.captured_queries)
    return (response.json() if response.status_code == 200 else 404), reads


def _ids(answer: Any) -> list[int]:
    return [s["id"] for s in answer["segments"]]


def test_it_answers_from_memory_once_the_snapshot_is_built(
    team: Team, buyers: int, reader: IssuedKey
) -> None:
    first, reads = _ask(reader.key, "user_id=alice")
    assert (_ids(first), reads) == ([buyers], 1)  # from the database, while the snapshot is built
    for query, expected in (
        ("user_id=alice", {"user_id": "alice", "segments": first["segments"]}),
        ("user_id=carol", {"user_id": "carol", "segments": []}),
        (f"user_id=bob&segment_id={buyers}", {"user_id": "bob", "segment_id": buyers, "member": True}),
        (f"user_id=carol&segment_id={buyers}", {"user_id": "carol", "segment_id": buyers, "member": False}),
    ):
        assert _ask(reader.key, query) == (expected, 0)


def test_a_recompute_is_seen_by_the_very_next_question(team: Team, buyers: int, reader: IssuedKey) -> None:
    assert _ids(_ask(reader.key, "user_id=carol")[0]) == []
    _send(team, ("carol", "order_placed", 1), ("carol", "order_placed", 2))
    assert _ids(_ask(reader.key, "user_id=carol")[0]) == []  # events alone change no membership
    team.client("member").post(f"/api/segments/{buyers}/compute/")
    assert _ids(_ask(reader.key, "user_id=carol")[0]) == [buyers]


def test_new_renamed_and_deleted_segments_are_seen_at_once(
    team: Team, buyers: int, reader: IssuedKey
) -> None:
    _ask(reader.key, "user_id=alice")
    fresh = int(_create(team).json()["id"])
    assert _ask(reader.key, f"user_id=alice&segment_id={fresh}")[0]["member"] is False  # not a 404
    team.client("member").patch(f"/api/segments/{buyers}/", {"name": "Big buyers"}, format="json")
    assert _ask(reader.key, "user_id=alice")[0]["segments"][0]["name"] == "Big buyers"
    team.client("member").delete(f"/api/segments/{buyers}/")
    assert _ask(reader.key, "user_id=alice")[0]["segments"] == []
    assert _ask(reader.key, f"user_id=alice&segment_id={buyers}")[0] == 404


def test_another_process_changing_the_epoch_makes_this_one_read_again(
    team: Team, buyers: int, reader: IssuedKey
) -> None:
    _ask(reader.key, "user_id=alice")
    assert _ask(reader.key, "user_id=alice")[1] == 0
    snapshots._EPOCH.bump()  # as a worker process does after its compute commits
    assert _ask(reader.key, "user_id=alice")[1] == 1


def test_a_tenant_never_gets_another_tenants_snapshot(team: Team, buyers: int, reader: IssuedKey) -> None:
    _ask(reader.key, "user_id=alice")
    outsider = make_api_key(team.other_tenant, scopes=["segments:read"])
    answer, _ = _ask(outsider.key, "user_id=alice")
    assert answer == {"user_id": "alice", "segments": []}
    assert _ask(outsider.key, f"user_id=alice&segment_id={buyers}")[0] == 404


def test_a_tenant_over_the_row_limit_is_read_from_the_database(
    team: Team, buyers: int, reader: IssuedKey
) -> None:
    with override_settings(SEGOPS_MEMBERSHIP_SNAPSHOT_MAX_ROWS=1):  # Buyers has two members
        answers = [_ask(reader.key, "user_id=bob") for _ in range(3)]
    assert [_ids(answer) for answer, _ in answers] == [[buyers]] * 3
    assert [reads for _, reads in answers] == [1, 1, 1]


def test_off_every_question_reads_the_database(team: Team, buyers: int, reader: IssuedKey) -> None:
    with override_settings(SEGOPS_MEMBERSHIP_SNAPSHOTS=False):
        assert [_ask(reader.key, "user_id=alice")[1] for _ in range(2)] == [1, 1]


def test_a_tenant_changing_often_is_rebuilt_at_most_every_few_seconds(
    team: Team, buyers: int, reader: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("segops_server.segments.delivery.snapshots.time.monotonic", lambda: clock[0])
    _ask(reader.key, "user_id=alice")
    assert _ask(reader.key, "user_id=alice")[1] == 0
    snapshots._EPOCH.bump()  # live changes, many a second
    for _ in range(3):  # the database answers; no build yet
        assert _ask(reader.key, "user_id=alice") == ({"user_id": "alice", "segments": ANY}, 1)
    clock[0] += snapshots.REBUILD_SECONDS
    assert _ask(reader.key, "user_id=alice")[1] == 1  # this one starts the build
    assert _ask(reader.key, "user_id=alice")[1] == 0


def test_a_slow_build_waits_ten_times_its_length_before_the_next(
    team: Team, buyers: int, reader: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big tenant changing every second: its builds take at most a tenth of a core."""
    clock = [1000.0]
    monkeypatch.setattr("segops_server.segments.delivery.snapshots.time.monotonic", lambda: clock[0])
    build = snapshots._build

    def slow_build(tenant_id: int, epoch: int | str) -> snapshots.Snapshot:
        clock[0] += 1.0  # a build that reads for a second
        return build(tenant_id, epoch)

    monkeypatch.setattr(snapshots, "_build", slow_build)
    _ask(reader.key, "user_id=alice")  # starts the first build
    assert _ask(reader.key, "user_id=alice")[1] == 0
    snapshots._EPOCH.bump()
    clock[0] += snapshots.REBUILD_SECONDS  # enough after a quick build, not after this one
    assert _ask(reader.key, "user_id=alice")[1] == 1
    assert _ask(reader.key, "user_id=alice")[1] == 1  # still no build started
    clock[0] += snapshots.BUILD_SHARE * 1.0
    assert _ask(reader.key, "user_id=alice")[1] == 1  # this one starts the build
    assert _ask(reader.key, "user_id=alice") == ({"user_id": "alice", "segments": ANY}, 0)
