"""An ingest key and API clients for tenant "acme" (and a key of the outsider's "globex")."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key


@pytest.fixture
def ingest_key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, created_by=team.admin, name="Ingestor")


@pytest.fixture
def ingest(ingest_key: IssuedKey) -> APIClient:
    """Sends events to acme with a secret key that has every scope."""
    return key_client(ingest_key.key)


@pytest.fixture
def globex_ingest(team: Team) -> APIClient:
    return key_client(make_api_key(team.other_tenant, created_by=team.outsider, name="Globex").key)


@pytest.fixture
def viewer(team: Team) -> APIClient:
    """Reads acme's explorer as a person with the Viewer role."""
    return team.client("viewer")
