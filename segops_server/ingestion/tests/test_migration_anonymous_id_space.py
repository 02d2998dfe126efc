"""ingestion 0002: aliases recorded before the id spaces split are also kept as anon_<id> -> user."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from rest_framework.test import APIClient

from segops_server.ingestion.models import IdentityAlias
from segops_server.ingestion.tests.helpers import TRACK, stored_aliases, user_url
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db

migration = importlib.import_module("segops_server.ingestion.migrations.0002_anonymous_id_space")


def _migrate() -> None:
    """The migration's function, run against the models as they were before it."""
    apps = MigrationLoader(connection).project_state(("ingestion", "0001_initial")).apps
    migration.aliases_copy_to_anonymous_space(apps, SimpleNamespace(connection=connection))


def _alias(team: Team, anonymous_id: str, user_id: str, *, other: bool = False) -> None:
    tenant = team.other_tenant if other else team.tenant
    IdentityAlias.objects.for_tenant(tenant).create(
        tenant=tenant, anonymous_id=anonymous_id, user_id=user_id, created_at=timezone.now()
    )


def test_it_records_each_old_alias_in_the_anonymous_space_too(team: Team) -> None:
    _alias(team, "device-1", "alice")
    _alias(team, "anon_x", "bob")  # a client's own anonymous ids may look like ours
    _alias(team, "device-1", "carol", other=True)

    _migrate()

    assert stored_aliases(team.tenant) == {
        "device-1": "alice",
        "anon_device-1": "alice",
        "anon_x": "bob",
        "anon_anon_x": "bob",
    }
    assert stored_aliases(team.other_tenant) == {"device-1": "carol", "anon_device-1": "carol"}


def test_it_never_rewrites_an_existing_alias_nor_makes_an_id_too_long(team: Team) -> None:
    _alias(team, "device-1", "alice")
    _alias(team, "anon_device-1", "bob")
    _alias(team, "d" * 251, "carol")

    _migrate()

    # anon_device-1 stays bob's (first identify wins), though device-1 was alice's.
    assert stored_aliases(team.tenant) == {
        "device-1": "alice",
        "anon_device-1": "bob",
        "anon_anon_device-1": "bob",
        "d" * 251: "carol",
    }


def test_a_visitor_identified_before_keeps_counting_for_its_user(
    team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    # Stored as the server used to: the visitor's events under its bare anonymous id, then the alias.
    ingest.post(TRACK, {"user_id": "device-1", "event_type": "page_viewed"}, format="json")
    _alias(team, "device-1", "alice")
    ingest.post(TRACK, {"user_id": "alice", "event_type": "signed_up"}, format="json")

    _migrate()
    ingest.post(TRACK, {"anonymous_id": "device-1", "event_type": "product_viewed"}, format="json")

    events = viewer.get(user_url("alice", "events/")).json()["results"]
    assert sorted((e["user_id"], e["event_type"]) for e in events) == [
        ("alice", "signed_up"),
        ("anon_device-1", "product_viewed"),
        ("device-1", "page_viewed"),
    ]
