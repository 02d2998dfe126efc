"""Two PATCHes of one segment's definition at the same moment: each gets its own version
number (the segment's row is locked), never a unique-constraint error answered 500."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from segops_server.segments.definitions import services
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment, SegmentVersion
from segops_server.testing.factories import Team

RULES = [
    {"logic": "AND", "conditions": [{"type": "event_count", "event_type": e, "operator": "gte", "value": 1}]}
    for e in ("order_placed", "page_viewed", "signed_up")
]


def _patch_at_once(team: Team, segment_id: int, definitions: list[dict[str, Any]]) -> list[int]:
    """PATCH each definition from its own thread (its own database connection); the threads
    meet after validating, where the version number used to be read, to make them collide."""
    barrier = threading.Barrier(len(definitions))
    clean = services.definition_clean

    def meet_then_clean(**kwargs: Any) -> dict[str, Any]:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)  # a thread held back by the row lock never gets here in time
        return clean(**kwargs)

    statuses: list[int] = []

    def patch(client: APIClient, definition: dict[str, Any]) -> None:
        try:
            url = f"/api/segments/{segment_id}/"
            response = client.patch(url, {"definition": definition}, format="json")
            for _ in range(50):
                if response.status_code != 503 or connection.vendor != "sqlite":
                    break
                # The SQLite test database is in memory (shared cache), where a second writer is
                # refused at once instead of waiting on the busy timeout as with a file: a 503
                # with Retry-After, which a client retries.
                assert response["Retry-After"]
                time.sleep(0.1)
                response = client.patch(url, {"definition": definition}, format="json")
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    with mock.patch.object(services, "definition_clean", meet_then_clean):
        # Signed in here, not in the threads: issuing a token writes, and only the PATCHes race.
        threads = [threading.Thread(target=patch, args=(team.client("member"), d)) for d in definitions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_it_numbers_concurrent_definition_changes_one_after_the_other(team: Team) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=RULES[0])

    statuses = _patch_at_once(team, segment.pk, RULES[1:])

    assert sorted(statuses) == [200, 200]
    numbers = sorted(
        SegmentVersion.objects.for_tenant(team.tenant)
        .filter(segment=segment)
        .values_list("number", flat=True)
    )
    assert numbers == [1, 2, 3]
    latest = SegmentVersion.objects.for_tenant(team.tenant).get(segment=segment, number=3)
    assert Segment.objects.for_tenant(team.tenant).get(pk=segment.pk).definition == latest.definition


@pytest.mark.django_db
def test_it_keeps_what_a_compute_wrote_meanwhile(team: Team) -> None:
    # The request read the segment before a compute finished; saving its rename must not put
    # the old status, count and generation back.
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=RULES[0])
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(
        status="computed", member_count=42, generation=7
    )
    services.segment_update(segment=segment, actor=team.owner, name="Big buyers")
    saved = Segment.objects.for_tenant(team.tenant).get(pk=segment.pk)
    assert (saved.name, saved.status, saved.member_count, saved.generation) == (
        "Big buyers",
        "computed",
        42,
        7,
    )


@pytest.mark.django_db
def test_it_answers_404_when_the_segment_went_away_before_the_change(team: Team) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=RULES[0])
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).delete()
    with pytest.raises(services.NotFound):
        services.segment_update(segment=segment, actor=team.owner, name="Gone")
