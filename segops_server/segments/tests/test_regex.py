"""matches_regex: RE2 on every path (definition check, SQLite's REGEXP, the reference evaluator)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.rules import reference
from segops_server.segments.rules.regex import RegexError, regex_compile, regex_search
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

CATASTROPHIC = "^(a+)+$"
VICTIM = "a" * 26 + "!"


def _rule(pattern: str) -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "user_property", "property": "name", "operator": "matches_regex", "value": pattern}
        ],
    }


def _identify(team: Team, user_id: str, **traits: Any) -> None:
    now = timezone.now()
    event = event_validate(
        {
            "user_id": user_id,
            "event_type": "context_identified",
            "occurred_at": now.isoformat(),
            "payload": traits,
        },
        now=now,
    )
    events_store(tenant=team.tenant, events=[event], received_at=now)


def test_it_searches_in_linear_time() -> None:
    started = time.monotonic()
    assert regex_search(CATASTROPHIC, "a" * 5_000 + "!") is False
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "back-references"),
        ("(?=a)b", "lookahead"),
        ("(?<!a)b", "lookahead and lookbehind"),
        (r"\bword\b", r"escape \b"),
        (r"end\z", r"escape \z"),
        (r"\pL", r"escape \p"),
        ("(?P<n>a)", "no other (? form"),
        ("a{256}", "at most 255"),
        ("^*a", "nothing to repeat after ^ or $"),
        ("a$+", "nothing to repeat after ^ or $"),
        ("a{0", "literal { must be escaped"),
        ("[a-z]{x}", "literal { must be escaped"),
        (r"[\1]", "back-references"),
        ("(", "not a valid regular expression"),
        ("[a", "not a valid regular expression"),
    ],
)
def test_it_refuses_patterns_outside_the_subset(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError) as refused:
        regex_compile(pattern)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "pattern", ["^a", "(?i)^abc$", "[]a]", "[^]a]", "[[:alpha:]]+", r"\d{2,3}\.\w", "a{255}", "(?:ab)+|c"]
)
def test_it_accepts_the_common_subset(pattern: str) -> None:
    regex_compile(pattern)


def test_it_lets_dot_match_a_newline_as_postgresql_does() -> None:
    assert regex_search("a.b", "a\nb")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    members = reference.evaluate(
        _rule("^x.y$"),
        events=[{"user_id": "u", "event_type": "seen", "occurred_at": now - timedelta(days=1)}],
        properties={"u": {"name": "x\ny"}},
        now=now,
        lookup_definition=lambda _: None,
    )
    assert members == {"u"}


@pytest.mark.django_db
def test_it_registers_re2_as_sqlites_regexp() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's REGEXP function")
    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute("SELECT %s REGEXP %s, %s REGEXP %s", [VICTIM * 100, CATASTROPHIC, "x\ny", "^x.y$"])
        assert cursor.fetchone() == (0, 1)
        assert time.monotonic() - started < 1


@pytest.mark.django_db
def test_it_names_the_condition_of_a_refused_pattern(team: Team) -> None:
    definition = {
        "logic": "AND",
        "conditions": [_rule("^a")["conditions"][0], _rule(r"(a)\1")["conditions"][0]],
    }
    response = team.client("viewer").post("/api/segments/preview/", {"definition": definition}, format="json")
    assert response.status_code == 400
    assert "conditions[1].value" in str(response.json())
    assert "back-references" in str(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["viewer", "key"])
def test_it_previews_a_catastrophic_pattern_in_a_moment(team: Team, who: str) -> None:
    _identify(team, "victim", name=VICTIM)
    _identify(team, "match", name="aaaa")
    client = (
        team.client("viewer")
        if who == "viewer"
        else key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    )
    started = time.monotonic()
    response = client.post("/api/segments/preview/", {"definition": _rule(CATASTROPHIC)}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.json()
    assert response.json()["sample_user_ids"] == ["match"]
    assert elapsed < 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("(?i)^abc$", "ABC", True),
        ("[]a]", "]", True),
        ("[[:alpha:]]+", "1", False),
        (r"\d{2,3}\.\w", "12.x", True),
        ("a{255}", "a" * 255, True),
        ("^x.y$", "x\ny", True),
        ("[^]a]", "\n", True),
        (r"\s\S\W", " x-", True),
    ],
)
def test_it_agrees_with_the_database_on_the_subset(pattern: str, text: str, found: bool) -> None:
    operator = "~" if connection.vendor == "postgresql" else "REGEXP"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s {operator} %s", [text, pattern])
        assert bool(cursor.fetchone()[0]) is found
    assert regex_search(pattern, text) is found


@pytest.mark.django_db
def test_it_answers_a_pattern_postgresql_refuses_with_a_400(team: Team) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own regular-expression engine")
    _identify(team, "someone", name="a")
    # Past the subset check (a range ending in a class), refused by PostgreSQL only.
    response = team.client("viewer").post(
        "/api/segments/preview/", {"definition": _rule("[--[:alpha:]]")}, format="json"
    )
    assert response.status_code == 400
    assert "refused a regular expression" in response.json()["detail"]


PIECES = [*"ab.[]^$*+?(){}|\\-:,0123", r"\d", r"\w", r"\s", r"\.", "[:alpha:]", "(?:", "(?i)", "{2}", "{1,3}"]
SAMPLES = [
    "",
    "a",
    "b",
    "ab",
    "ba",
    "aab",
    "a.b",
    "a\nb",
    "123",
    "a-b",
    "A",
    "[",
    "]",
    "^",
    "$",
    "{",
    ":",
    "\\",
]


@pytest.mark.django_db
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8))
def test_it_agrees_with_postgresql_on_every_pattern_it_accepts(pieces: list[str]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's own regular-expression engine")
    pattern = "".join(pieces)
    try:
        compiled = regex_compile(pattern)
    except RegexError:
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT t ~ %s FROM unnest(%s::text[]) WITH ORDINALITY AS s(t, n) ORDER BY n",
                [pattern, SAMPLES],
            )
            by_postgresql = [row[0] for row in cursor.fetchall()]
    except DataError:
        return  # refused by PostgreSQL: a 400 (the test above), never a different answer
    assert by_postgresql == [compiled.search(t) is not None for t in SAMPLES], pattern


@pytest.mark.django_db
@pytest.mark.parametrize("operator", ["matches_regex", "contains"])
def test_it_refuses_a_lone_surrogate_with_a_400(team: Team, operator: str) -> None:
    condition = {"type": "user_property", "property": "name", "operator": operator, "value": "a-SURROGATE"}
    # json.dumps cannot write a lone surrogate escape by itself: put the six characters in.
    body = json.dumps({"definition": {"logic": "AND", "conditions": [condition]}}).replace(
        "-SURROGATE", "\\ud800"
    )
    response = team.client("viewer").post("/api/segments/preview/", body, content_type="application/json")
    assert response.status_code == 400
    assert "conditions[0].value: must be valid Unicode text" in str(response.json())
