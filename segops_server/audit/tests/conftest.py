"""A public key of tenant "acme" for the audit tests."""

from __future__ import annotations

import pytest

from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key


@pytest.fixture
def secret_key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, created_by=team.admin, name="Production Ingestor")


@pytest.fixture
def public_key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, created_by=team.admin, name="Web app", type="public")
