"""Deleting a tenant purges its events, profiles, aliases, pending deltas and message ids."""

from __future__ import annotations

from django.db import connection
from rest_framework.test import APIClient

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import Event, IdentityAlias, ProfilePending, SeenMessage, UserProfile
from segops_server.ingestion.services import profiles_fold_pending
from segops_server.ingestion.tests.helpers import BATCH, both_storage_paths, event
from segops_server.testing.factories import Team


def _counts(tenant_id: int) -> dict[str, int]:
    return {
        "events": Event.objects.unscoped_all_tenants().filter(tenant_id=tenant_id).count(),
        "profiles": UserProfile.objects.unscoped_all_tenants().filter(tenant_id=tenant_id).count(),
        "aliases": IdentityAlias.objects.unscoped_all_tenants().filter(tenant_id=tenant_id).count(),
        "messages": SeenMessage.objects.unscoped_all_tenants().filter(tenant_id=tenant_id).count(),
        "pending": ProfilePending.objects.filter(tenant_id=tenant_id).count(),
    }


def _send(client: APIClient, tag: str) -> None:
    events = [
        event(f"alice-{tag}", anonymous_id=f"anon-{tag}", message_id=f"m-{tag}"),
        event(f"bob-{tag}", "context_identified", payload={"plan": "pro"}, message_id=f"n-{tag}"),
        event(f"carol-{tag}"),
    ]
    assert client.post(BATCH, {"events": events}, format="json").json()["queued"] == 3
    # No message ids: on PostgreSQL outside a transaction, the one-statement path.
    assert (
        client.post(
            BATCH, {"events": [event(f"dave-{tag}", anonymous_id=f"d-{tag}")]}, format="json"
        ).status_code
        == 202
    )


@both_storage_paths
def test_it_purges_the_tenants_ingested_data_and_nothing_else(
    autocommit: bool, team: Team, ingest: APIClient, globex_ingest: APIClient
) -> None:
    _send(ingest, "a")
    profiles_fold_pending()
    _send(ingest, "b")  # on PostgreSQL, these profile deltas stay pending until the next read
    _send(globex_ingest, "a")
    acme_id, globex_id = team.tenant.pk, team.other_tenant.pk
    before = _counts(acme_id)
    assert (before["events"], before["aliases"], before["messages"]) == (8, 4, 4)
    if connection.vendor == "postgresql":
        assert (before["profiles"], before["pending"]) == (4, 4)
    else:
        assert (before["profiles"], before["pending"]) == (8, 0)
    globex_before = _counts(globex_id)

    response = team.client("owner").delete("/api/tenants/acme/")

    assert response.status_code == 204
    assert not Tenant.objects.filter(pk=acme_id).exists()
    assert _counts(acme_id) == dict.fromkeys(before, 0)
    assert _counts(globex_id) == globex_before
