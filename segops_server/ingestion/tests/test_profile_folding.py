"""Pending profile deltas (PostgreSQL) are folded by the worker, per tenant and in batches; a
read folds at most one batch of its own tenant's rows, never anyone else's backlog."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from segops_server.cli import scheduler_round
from segops_server.ingestion import storage
from segops_server.ingestion.models import ProfilePending, UserProfile
from segops_server.ingestion.services import profiles_fold_pending
from segops_server.ingestion.tests.helpers import BATCH, USERS, event, user_url
from segops_server.testing.factories import Team

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite stores profiles directly: nothing is pending"
)
PREVIEW = "/api/segments/preview/"
RULE = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "page_viewed", "operator": "gte", "value": 1}],
}


def _send(client: APIClient, users: int, prefix: str = "u") -> None:
    body = {"events": [event(f"{prefix}-{n}") for n in range(users)]}
    assert client.post(BATCH, body, format="json").status_code == 202


def _pending(tenant_id: int) -> int:
    return ProfilePending.objects.filter(tenant_id=tenant_id).count()


def _profiles(tenant_id: int) -> int:
    return UserProfile.objects.unscoped_all_tenants().filter(tenant_id=tenant_id).count()


@postgresql_only
@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda c: c.get(USERS), id="users"),
        pytest.param(lambda c: c.get(user_url("u-0")), id="user"),
        pytest.param(lambda c: c.post(PREVIEW, {"definition": RULE}, format="json"), id="preview"),
    ],
)
def test_it_leaves_other_tenants_pending_rows_alone_on_a_read(
    team: Team, ingest: APIClient, globex_ingest: APIClient, viewer: APIClient, read: Any
) -> None:
    _send(ingest, 3)
    _send(globex_ingest, 4)
    assert (_pending(team.tenant.pk), _pending(team.other_tenant.pk)) == (3, 4)

    assert read(viewer).status_code == 200

    assert _pending(team.tenant.pk) == 0  # the reader's own, folded so it reads fresh profiles
    assert _pending(team.other_tenant.pk) == 4  # another tenant's backlog is not the reader's to pay
    assert _profiles(team.other_tenant.pk) == 0


@postgresql_only
@override_settings(SEGOPS_PROFILE_FOLD_BATCH=3)
def test_it_never_folds_more_than_one_batch_on_a_read(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    _send(ingest, 8)
    assert viewer.get(USERS).status_code == 200
    assert _pending(team.tenant.pk) == 5
    assert _profiles(team.tenant.pk) == 3


@postgresql_only
@override_settings(SEGOPS_PROFILE_FOLD_BATCH=2)
def test_it_folds_every_tenant_in_batches_in_the_scheduler_round(
    team: Team, ingest: APIClient, globex_ingest: APIClient
) -> None:
    _send(ingest, 5)
    _send(ingest, 5)  # the same users again: one profile each, counted twice
    _send(globex_ingest, 3, prefix="g")
    with mock.patch.object(storage, "profiles_rollup", wraps=storage.profiles_rollup) as rollup:
        scheduler_round()

    assert (_pending(team.tenant.pk), _pending(team.other_tenant.pk)) == (0, 0)
    assert (_profiles(team.tenant.pk), _profiles(team.other_tenant.pk)) == (5, 3)
    counts = UserProfile.objects.for_tenant(team.tenant).values_list("event_count", flat=True)
    assert set(counts) == {2}
    assert {call.kwargs["limit"] for call in rollup.call_args_list} == {2}
    assert {call.kwargs["tenant_id"] for call in rollup.call_args_list} == {
        team.tenant.pk,
        team.other_tenant.pk,
    }


@postgresql_only
def test_it_folds_one_tenant_only_when_asked(team: Team, ingest: APIClient, globex_ingest: APIClient) -> None:
    _send(ingest, 2)
    _send(globex_ingest, 2)
    assert profiles_fold_pending(tenant_id=team.tenant.pk) == 2
    assert (_pending(team.tenant.pk), _pending(team.other_tenant.pk)) == (0, 2)


def test_it_reads_fresh_profiles_right_after_ingesting(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    _send(ingest, 3)
    response = viewer.get(USERS)
    assert response.status_code == 200
    assert response.json()["count"] == 3
