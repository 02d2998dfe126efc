"""JSON nested deeper than any document of ours is a 400 on every endpoint, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from segops_server.core.parsers import (
    _SHALLOW_PASSES,
    MAX_JSON_DEPTH,
    JSONBodyError,
    _shallow,
    json_decode,
    json_depth_check,
)
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


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings full of what could be taken for structure: brackets, quotes, backslashes.
_TRICKY_TEXT = st.text(alphabet='[]{}"\\/ a\u00e9\u2200', max_size=8)
_DOCUMENTS = st.recursive(
    st.none() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY_TEXT, inner, max_size=4),
    max_leaves=60,
)


@given(document=_DOCUMENTS, ascii_only=st.booleans())
def test_it_reads_the_nesting_from_the_bytes_whatever_strings_hold(document: Any, ascii_only: bool) -> None:
    raw = json.dumps(document, ensure_ascii=ascii_only).encode()
    if _shallow(raw):
        assert _depth(document) <= 2 * _SHALLOW_PASSES
    if _depth(document) <= _SHALLOW_PASSES:
        assert _shallow(raw)


def test_it_walks_what_the_bytes_do_not_settle() -> None:
    tricky = '"]]]}}}\\\\\\"[[{"'
    for depth in (2 * _SHALLOW_PASSES + 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1):
        deep = "[" * depth + "]" * depth
        # Enough brackets in strings beside it to pass the count, and quotes and escapes to skip.
        text = f'{{"wide": [{",".join([tricky] * MAX_JSON_DEPTH)}], "deep": {deep}}}'
        value = json.loads(text)
        assert not _shallow(text.encode())
        if depth + 1 > MAX_JSON_DEPTH:
            with pytest.raises(JSONBodyError):
                json_depth_check(value, text.encode())
        else:
            json_depth_check(value, text.encode())
    wide = json.dumps([{"a": [tricky, {"b": "[[["}]} for _ in range(MAX_JSON_DEPTH)]).encode()
    assert _shallow(wide)
    json_depth_check(json.loads(wide), wide)


def test_it_checks_a_body_in_another_charset_as_text(team: Team) -> None:
    """In UTF-16, "\u2200" is the bytes 00 22: a quote byte that is no quote. Read as UTF-8 bytes,
    the deep list between two of them would look like the inside of a string."""
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    text = f'{{"name": "\u2200", "definition": {deep}, "description": "\u2200"}}'
    body = text.encode("utf-16-le")
    assert _shallow(body)  # what the bytes alone would wrongly show
    response = team.client("owner").post(
        "/api/segments/", body, content_type="application/json; charset=utf-16-le"
    )
    assert response.status_code == 400
    assert "JSON parse error" in str(response.json())
