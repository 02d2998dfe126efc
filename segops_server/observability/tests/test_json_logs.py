"""SEGOPS_LOG_FORMAT=json: one JSON object per line, with the request id and tenant, no secret."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from segops_server.cli import granian_log_config
from segops_server.keys.services import IssuedKey
from segops_server.observability.logs import JsonFormatter, RedactingFormatter, redact
from segops_server.testing.factories import PASSWORD, Team
from segops_server.testing.keys import key_client, make_api_key

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo0MiwidG9rZW5fdHlwZSI6ImFjY2VzcyJ9"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl"
)
KEY = "sk_live_" + "Ab3" * 12


def _record(message: str, *args: Any, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("segops.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_it_writes_one_json_object_per_line() -> None:
    line = JsonFormatter().format(_record("two\nlines %s", "and args", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "two\nlines and args"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "segops.test"
    assert "ValueError" in entry["exc_info"]
    assert "request_id" not in entry  # outside a request


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        (f"key {KEY} refused", KEY),
        (f"key prefix {KEY[:16]}", KEY[:16]),
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token={JWT[:40]}", JWT[:40]),
        ("Authorization: ApiKey opaque-value-123", "opaque-value-123"),
        ('body {"email": "a@b.c", "password": "hunter2-secret"}', "hunter2-secret"),
        ("current_password=hunter2&new_password=hunter3", "hunter2"),
        ("current_password=hunter2&new_password=hunter3", "hunter3"),
        ("{'hmac_secret': 'whsec_abcdef'}", "whsec_abcdef"),
    ],
)
def test_it_redacts_secrets_a_message_quotes(message: str, secret: str) -> None:
    assert secret not in redact(message)
    assert secret not in JsonFormatter().format(_record(message))
    assert secret not in RedactingFormatter("%(message)s").format(_record(message))


def test_it_redacts_secrets_in_tracebacks() -> None:
    assert KEY not in JsonFormatter().format(_record("failed", exc=True))


def test_it_copies_nothing_else_of_the_record() -> None:
    record = _record("request")
    record.request = {"HTTP_AUTHORIZATION": f"ApiKey {KEY}"}  # as django.request attaches it
    assert KEY not in JsonFormatter().format(record)


def test_it_keeps_ordinary_text() -> None:
    text = "Segment 12 compute failed: token limit of the plan, see /api/segments/12/"
    assert redact("Not Found: /api/segments/12/") == "Not Found: /api/segments/12/"
    assert "Segment 12 compute failed" in redact(text)


@pytest.fixture
def key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, name="Logs")


def _entries(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def test_a_request_log_line_carries_its_id_and_tenant(team: Team, key: IssuedKey) -> None:
    with _captured() as lines:
        response = key_client(key.key).post("/api/ingestion/track/", {"user_id": ""}, format="json")
    assert response.status_code == 400
    entries = [e for e in _entries(lines) if e["logger"] == "django.request"]
    assert entries, lines
    assert entries[-1]["request_id"] == response["X-Request-Id"]
    assert entries[-1]["tenant_id"] == team.tenant.pk


def test_a_line_before_the_tenant_is_known_has_the_id_only(db: None) -> None:
    with _captured() as lines:
        response = Client().get("/api/no-such-thing/")
    entries = [e for e in _entries(lines) if e["logger"] == "django.request"]
    assert entries[-1]["request_id"] == response["X-Request-Id"]
    assert "tenant_id" not in entries[-1]


def test_no_secret_sent_with_a_request_is_logged(team: Team, key: IssuedKey) -> None:
    access = (
        APIClient()
        .post("/api/auth/token/", {"email": team.owner.email, "password": PASSWORD}, format="json")
        .json()["access"]
    )
    with _captured() as lines:
        APIClient().post(
            "/api/auth/token/", {"email": team.owner.email, "password": "wrong-" + PASSWORD}, format="json"
        )
        APIClient().post("/api/auth/token/", {"email": team.owner.email, "password": PASSWORD}, format="json")
        Client().get(f"/api/segments/?api_key={key.key}")
        Client().get("/api/segments/999999/", HTTP_AUTHORIZATION=f"Bearer {access}")
        Client().get("/api/segments/999999/", HTTP_AUTHORIZATION=f"ApiKey {key.key}")
        Client().get("/api/segments/", HTTP_AUTHORIZATION=f"ApiKey {key.key}x")
        Client().post(
            "/api/ingestion/track/", "{not json", "application/json", HTTP_AUTHORIZATION=f"ApiKey {key.key}"
        )
        logging.getLogger("segops.test").warning(
            "a careless line: %s %s password=%s", key.key, access, PASSWORD
        )
    text = "\n".join(lines)
    assert len(lines) >= 6
    for secret in (key.key, access, PASSWORD):
        assert secret not in text


def test_granian_writes_json_lines_through_the_same_formatter() -> None:
    config = granian_log_config("json")
    for name in ("server", "access"):
        assert config["formatters"][name] == {"class": "segops_server.observability.logs.JsonFormatter"}
    plain = granian_log_config()
    assert plain["formatters"]["access"]["class"] == "segops_server.observability.logs.RedactingFormatter"


class _captured:
    """Every record logged inside the block, as the JSON handler writes it."""

    def __enter__(self) -> list[str]:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.root = logging.getLogger()
        self.level = self.root.level
        self.root.addHandler(self.handler)
        self.root.setLevel(logging.DEBUG)
        self.lines: list[str] = []
        return self.lines

    def __exit__(self, *exc: object) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)
        self.lines.extend(self.stream.getvalue().splitlines())


def test_it_keeps_a_stack_but_not_the_secrets_in_it() -> None:
    record = _record("here")
    record.stack_info = f'File "x.py", line 1, in f\n    call(key="{KEY}")'
    entry = json.loads(JsonFormatter().format(record))
    assert "x.py" in entry["stack_info"]
    assert KEY not in entry["stack_info"]
