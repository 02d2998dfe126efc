"""JSON nested deeper than any document of ours is a 400 on every endpoint, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from segops_server.core.parsers import MAX_JSON_DEPTH, JSONBodyError, json_decode
from segops_server.ingestion.tests.helpers import TRACK
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key
from segops_server.testing.wsgi import Application

pytestmark = pytest.mark.django_db

DEEP_BODIES = {
    "array": "[" * 1000 + "]" * 1000,
    "object": '{"a":' * 1000 + "1" + "}" * 1000,
    "in a field": '{"user_id": "u", "event_type": "e", "name": "n", "definition": '
    + '{"a":' * 5000
    + "1"
    + "}" * 5000
    + ', "payload": '
    + "[" * 1000
    + "]" * 1000
    + "}",
    "just past the limit": "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
}


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation of the API that takes a body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and "requestBody" in operation:
                found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(found)


def test_it_finds_the_operations_to_check() -> None:
    operations = _operations()
    assert ("post", "/api/auth/register/") in operations
    assert ("post", "/api/segments/preview/") in operations
    assert ("patch", "/api/segments/1/") in operations


@pytest.mark.parametrize("who", ["anonymous", "owner", "key"])
def test_it_refuses_deep_json_on_every_endpoint(team: Team, who: str) -> None:
    client: APIClient
    if who == "owner":
        client = team.client("owner")
    elif who == "key":
        client = key_client(make_api_key(team.tenant).key)
    else:
        client = APIClient()
    for method, path in _operations():
        for name, body in DEEP_BODIES.items():
            response = getattr(client, method)(path, body, content_type="application/json")
            assert response.status_code < 500, (method, path, name, response.status_code)
            if response.status_code == 400:
                assert "JSON parse error" in str(response.json()), (method, path, name)


def test_it_refuses_deep_json_on_the_fast_path(team: Team) -> None:
    headers = {"Authorization": f"ApiKey {make_api_key(team.tenant).key}"}
    for name, body in DEEP_BODIES.items():
        answer = Application().fast("POST", TRACK, body, headers=headers)
        assert answer.status == 400, name
        assert "JSON parse error" in answer.json()["detail"]


def test_it_keeps_documents_up_to_the_limit() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_decode(at_limit.encode()) is not None
    with pytest.raises(JSONBodyError):
        json_decode(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())
    wide: Any = [[{"a": [1]}] for _ in range(1000)]  # many containers, none deep
    assert json_decode(repr(wide).replace("'", '"').encode()) == wide


def test_it_stores_an_event_as_deep_as_the_limit(team: Team) -> None:
    payload: Any = 1
    for _ in range(MAX_JSON_DEPTH - 1):  # and the body is one more level
        payload = {"d": payload}
    client = key_client(make_api_key(team.tenant).key)
    body = {"user_id": "u", "event_type": "deep_one", "payload": payload}
    response = client.post(TRACK, body, format="json")
    assert response.status_code == 202, response.json()
    too_deep = {**body, "payload": {"d": payload}}
    assert client.post(TRACK, too_deep, format="json").status_code == 400
