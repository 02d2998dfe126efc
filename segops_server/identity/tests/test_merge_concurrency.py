"""An identify stored while a merge runs never leaves a second hop (PostgreSQL: the edge lock)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from segops_server.identity import services
from segops_server.identity.tests.helpers import edges, track
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time")
def test_an_identify_stored_during_a_merge_points_at_the_merge_target(team: Team) -> None:
    merged = threading.Event()
    failures: list[BaseException] = []

    def identify_during_the_merge() -> None:
        try:
            merged.wait(10)
            # Pairs visitor-1 with the user being merged: must end up pointing where it was merged.
            track(team, "phone-user", "page_viewed", anonymous_id="visitor-1")
        except BaseException as exc:  # reported below, from the test's own thread
            failures.append(exc)
        finally:
            connections.close_all()

    identify = threading.Thread(target=identify_during_the_merge)
    identify.start()
    with transaction.atomic():  # the merge, its commit held back a moment
        services.identity_merge(tenant=team.tenant, from_user_id="phone-user", into_user_id="laptop-user")
        merged.set()
        time.sleep(0.5)  # the identify runs now: without the lock it would see no merge yet
    identify.join(10)

    assert not identify.is_alive()
    assert failures == []
    assert edges(team) == {"phone-user": "laptop-user", "anon_visitor-1": "laptop-user"}
