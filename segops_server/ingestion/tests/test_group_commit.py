"""Group commit of single events (ingestion/groupcommit.py): concurrent requests of a process
share one transaction; a failed one stores nothing of its requests and tells each of them so;
a message id repeated inside a group is stored once; the rows are those written one by one.

Each test's threads call as server threads do: counted as requests being served (wsgi.py counts
them), each on its own database connection, outside any transaction (transactional tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from django.db import DataError, connection, connections
from django.test import override_settings
from prometheus_client import REGISTRY

from segops_server.accounts.models import Tenant
from segops_server.core.outage import NOT_STORED, GroupCommitFailed, WriteLockBusy
from segops_server.ingestion import groupcommit, storage
from segops_server.ingestion.models import Event, IdentityAlias, ProfilePending, SeenMessage, UserProfile
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import ValidEvent, event_validate
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
# A window long enough for every thread of a test to join on a loaded machine; the group closes
# as soon as all the requests being served have joined, so a test does not wait for it.
profile_rows = storage._profile_rows  # every request's rows go through it, on both databases
WINDOW = override_settings(SEGOPS_GROUP_COMMIT_MS=5_000, SEGOPS_GROUP_COMMIT_MAX=64)


def _event(user_id: str, **fields: Any) -> ValidEvent:
    return event_validate({"user_id": user_id, "event_type": "page_viewed", **fields}, now=NOW)


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all counted as being served before any starts; returns
    each call's result or the exception it raised, in order."""
    results: list[Any] = [None] * len(calls)
    started = threading.Barrier(len(calls))
    entered = [groupcommit.committer.serving() for _ in calls]
    for counted in entered:
        counted.__enter__()

    def run(index: int) -> None:
        try:
            started.wait(timeout=10)
            results[index] = calls[index]()
        except Exception as exc:  # what the request would have been answered
            results[index] = exc
        finally:
            entered[index].__exit__(None, None, None)
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _store(tenant: Tenant, event: ValidEvent) -> Callable[[], int]:
    return lambda: events_store(tenant=tenant, events=[event], received_at=NOW)


@pytest.fixture
def counted() -> dict[str, float]:
    """The committer's and the metric's counts before the test; the test reads the difference."""
    before = {
        "commits": groupcommit.committer.commits,
        "requests": groupcommit.committer.requests,
        "metric": REGISTRY.get_sample_value("segops_ingest_group_commits_total") or 0.0,
    }
    return before


def _delta(before: dict[str, float]) -> dict[str, float]:
    return {
        "commits": groupcommit.committer.commits - before["commits"],
        "requests": groupcommit.committer.requests - before["requests"],
        "metric": (REGISTRY.get_sample_value("segops_ingest_group_commits_total") or 0.0) - before["metric"],
    }


@WINDOW
def test_it_stores_concurrent_single_events_with_fewer_commits_than_requests(
    team: Team, counted: dict[str, float]
) -> None:
    results = _at_once([_store(team.tenant, _event(f"user-{n}")) for n in range(8)])

    assert results == [1] * 8
    assert Event.objects.for_tenant(team.tenant).count() == 8
    delta = _delta(counted)
    assert delta["requests"] == 8
    assert delta["commits"] < 8
    assert delta["metric"] == delta["commits"]


@WINDOW
def test_a_failed_group_fails_each_of_its_requests_and_stores_none_of_them(
    team: Team, counted: dict[str, float]
) -> None:
    def fail_on_poison(events: Any) -> Any:
        if any(e.user_id == "poison" for e in events):
            raise WriteLockBusy("database is locked")  # the database failed, not the request
        return profile_rows(events)

    with mock.patch.object(storage, "_profile_rows", side_effect=fail_on_poison):
        failed = _at_once([_store(team.tenant, _event(u)) for u in ("user-1", "poison", "user-2")])
        assert all(isinstance(r, GroupCommitFailed) for r in failed), failed
        assert Event.objects.for_tenant(team.tenant).count() == 0
        # The next group, without the failure, is stored whole.
        stored = _at_once([_store(team.tenant, _event(u)) for u in ("user-3", "user-4")])
    assert stored == [1, 1]
    assert sorted(Event.objects.for_tenant(team.tenant).values_list("user_id", flat=True)) == [
        "user-3",
        "user-4",
    ]
    if connection.vendor == "postgresql":
        assert ProfilePending.objects.filter(tenant_id=team.tenant.pk).count() == 2
    else:
        assert UserProfile.objects.for_tenant(team.tenant).count() == 2


@WINDOW
def test_a_request_in_a_failed_group_is_answered_503_with_retry_after(
    team: Team, ingest_key: IssuedKey
) -> None:
    def fail(events: Any) -> Any:
        raise WriteLockBusy("database is locked")

    def send() -> Any:
        return key_client(ingest_key.key).post(
            "/api/ingestion/track/", {"user_id": "u1", "event_type": "x"}, format="json"
        )

    assert send().status_code == 202  # the key's first use is recorded before the race
    Event.objects.for_tenant(team.tenant).delete()
    with mock.patch.object(storage, "_profile_rows", side_effect=fail):
        answers = _at_once([send, send])

    for answer in answers:
        assert answer.status_code == 503
        assert answer["Retry-After"] == "2"
        assert answer.json() == {"detail": NOT_STORED}
    assert Event.objects.for_tenant(team.tenant).count() == 0


@WINDOW
def test_a_request_whose_own_rows_are_refused_fails_alone(team: Team, counted: dict[str, float]) -> None:
    def refuse_poison(events: Any) -> Any:
        if any(e.user_id == "poison" for e in events):
            raise DataError("invalid input")  # this request's own rows, not the database
        return profile_rows(events)

    with mock.patch.object(storage, "_profile_rows", side_effect=refuse_poison):
        results = _at_once([_store(team.tenant, _event(u)) for u in ("user-1", "poison", "user-2")])

    assert results[0] == 1
    assert results[2] == 1
    assert isinstance(results[1], DataError)
    assert sorted(Event.objects.for_tenant(team.tenant).values_list("user_id", flat=True)) == [
        "user-1",
        "user-2",
    ]


@WINDOW
def test_a_message_id_twice_in_one_group_is_stored_once(team: Team, counted: dict[str, float]) -> None:
    same = [_event("user-1", message_id="m-1", payload={"n": n}) for n in range(2)]
    other = _event("user-2", message_id="m-2")

    results = _at_once(
        [_store(team.tenant, same[0]), _store(team.tenant, same[1]), _store(team.tenant, other)]
    )

    assert sorted(results) == [0, 1, 1]
    assert Event.objects.for_tenant(team.tenant).filter(user_id="user-1").count() == 1
    assert SeenMessage.objects.for_tenant(team.tenant).count() == 2
    delta = _delta(counted)
    assert delta["requests"] == 3
    assert delta["commits"] < 3  # they were grouped


def _rows(tenant: Tenant) -> list[tuple[Any, ...]]:
    events = Event.objects.for_tenant(tenant).order_by("user_id", "payload")
    event_rows = [
        (e.user_id, e.event_type, e.occurred_at, e.received_at, e.payload, e.anonymous_id) for e in events
    ]
    if connection.vendor == "postgresql":
        pending = ProfilePending.objects.filter(tenant_id=tenant.pk).order_by("user_id")
        profile_rows = [(p.user_id, p.first_seen, p.last_seen, p.event_count, p.properties) for p in pending]
    else:
        profiles = UserProfile.objects.for_tenant(tenant).order_by("user_id")
        profile_rows = [(p.user_id, p.first_seen, p.last_seen, p.event_count, p.properties) for p in profiles]
    aliases = IdentityAlias.objects.for_tenant(tenant).order_by("anonymous_id")
    alias_rows = [(a.anonymous_id, a.user_id, a.created_at, a.kind) for a in aliases]
    return event_rows + profile_rows + alias_rows


def test_a_group_writes_the_rows_the_same_requests_write_one_by_one(
    team: Team, counted: dict[str, float]
) -> None:
    def batch() -> list[ValidEvent]:
        return [
            _event("user-1", payload={"n": 1}),
            _event("user-4", payload={"n": 4}),
            _event("user-1", event_type="identify", payload={"plan": "pro"}, anonymous_id="a-1"),
            _event("user-2", payload={"n": 2}, message_id="m-1"),
            _event("user-3", payload={"n": 3}, message_id="m-1"),
        ]

    with WINDOW:
        grouped = _at_once([_store(team.tenant, e) for e in batch()])
    delta = _delta(counted)
    assert delta["requests"] == 5
    assert delta["commits"] < 5
    with override_settings(SEGOPS_GROUP_COMMIT_MS=0):
        alone = [events_store(tenant=team.other_tenant, events=[e], received_at=NOW) for e in batch()]

    assert sorted(grouped) == sorted(alone)
    grouped_rows, alone_rows = _rows(team.tenant), _rows(team.other_tenant)
    # Which of the two m-1 events is kept depends on which came first: compare the rest.
    assert [r for r in grouped_rows if r[0] == "user-1"] == [r for r in alone_rows if r[0] == "user-1"]
    assert len(grouped_rows) == len(alone_rows)
    assert ("anon_a-1", "user-1", NOW, "alias") in grouped_rows


def test_a_group_of_plain_events_writes_the_rows_they_write_one_by_one(
    team: Team, counted: dict[str, float]
) -> None:
    def events() -> list[ValidEvent]:
        return [_event(f"user-{n % 3}", payload={"n": n}) for n in range(6)]

    with WINDOW:
        grouped = _at_once([_store(team.tenant, e) for e in events()])
    delta = _delta(counted)
    assert delta["requests"] == 6
    assert delta["commits"] < 6
    with override_settings(SEGOPS_GROUP_COMMIT_MS=0):
        alone = [events_store(tenant=team.other_tenant, events=[e], received_at=NOW) for e in events()]

    assert grouped == alone
    assert _rows(team.tenant) == _rows(team.other_tenant)
