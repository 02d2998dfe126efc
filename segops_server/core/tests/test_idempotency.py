from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from segops_server.core.idempotency import idempotency_purge
from segops_server.core.models import IdempotentResponse
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team


def _create(team: Team, key: str | None, name: str = "Buyers", who: str = "member") -> object:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return team.client(who).post("/api/segments/", {"name": name}, format="json", **headers)


@pytest.mark.django_db
def test_it_replays_the_first_answer_to_a_retried_write(team: Team) -> None:
    first = _create(team, "k-1")
    second = _create(team, "k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Segment.objects.for_tenant(team.tenant).count() == 1


@pytest.mark.django_db
def test_it_refuses_the_same_key_for_a_different_request(team: Team) -> None:
    _create(team, "k-1")
    response = _create(team, "k-1", name="Other")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]


@pytest.mark.django_db
def test_it_acts_each_time_without_a_key(team: Team) -> None:
    _create(team, None)
    _create(team, None)
    assert Segment.objects.for_tenant(team.tenant).count() == 2


@pytest.mark.django_db
def test_it_keeps_keys_apart_per_caller(team: Team) -> None:
    _create(team, "k-1", who="member")
    _create(team, "k-1", who="admin")
    assert Segment.objects.for_tenant(team.tenant).count() == 2


@pytest.mark.django_db
def test_it_replays_refusals_too_but_not_after_a_day(team: Team) -> None:
    assert _create(team, "k-2", name="").status_code == 400
    assert _create(team, "k-2", name="").status_code == 400
    IdempotentResponse.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1
    assert _create(team, "k-2", name="").status_code == 400
    assert IdempotentResponse.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_an_overlong_key(team: Team) -> None:
    assert _create(team, "k" * 256).status_code == 400
