"""schemathesis against our own OpenAPI schema (/api/schema/): every operation, called with
generated valid and invalid input as an Owner with a secret key (every scope) and with a JWT,
never answers 5xx and always answers as the schema says (status, content type, body).

In process through the WSGI application the server runs (the short way included), on the test
database of the run (SQLite or PostgreSQL). A bounded number of examples per operation keeps it
to a minute or two; SEGOPS_SCHEMATHESIS_EXAMPLES raises it for a deeper run. Generation is
deterministic, so a failure in CI fails the same way on a laptop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import make_team
from segops_server.testing.keys import make_api_key
from segops_server.wsgi import build_application

EXAMPLES = int(os.environ.get("SEGOPS_SCHEMATHESIS_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def application(db: None) -> Iterator[Any]:
    """The server's WSGI application. As Django's test client does, the test's database
    connection stays open across requests (it holds the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield build_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(application: Any) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    loaded.config.generation.update(
        modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=True, database="none"
    )
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
bounded = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture
def owner_key(db: None) -> str:
    team = make_team()
    return make_api_key(team.tenant, created_by=team.owner, name="Schemathesis").key


@pytest.fixture
def owner_jwt(db: None) -> str:
    return str(token_pair_issue(user=make_team().owner)["access"])


@schema.parametrize()
@bounded
def test_it_conforms_with_an_owners_secret_key(case: Any, owner_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"ApiKey {owner_key}"}, checks=CHECKS)


@schema.parametrize()
@bounded
def test_it_conforms_with_an_owners_jwt(case: Any, owner_jwt: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {owner_jwt}"}, checks=CHECKS)
