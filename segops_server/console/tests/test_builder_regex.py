"""The console's rule builder with matches_regex: the RE2 subset's refusals land on the row."""

from __future__ import annotations

import time

import pytest

from segops_server.console.tests.conftest import ConsoleFor, htmx
from segops_server.console.tests.events import shop
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db

PREVIEW = "/t/acme/segments/preview/"


def _rule(pattern: str) -> dict[str, object]:
    return {
        "name": "Pattern",
        "r-logic": "AND",
        "node": ["r.0"],
        "r.0-kind": "condition",
        "r.0-type": "user_property",
        "r.0-property": "plan",
        "r.0-operator": "matches_regex",
        "r.0-value": pattern,
    }


def test_a_refused_pattern_is_marked_on_its_row(team: Team, console: ConsoleFor) -> None:
    html = htmx(console("viewer"), "post", PREVIEW, _rule("(?=p)pro")).content.decode()
    assert "conditions[0].value: lookahead and lookbehind are not supported" in html
    assert "has-error" in html


def test_a_catastrophic_pattern_previews_at_once(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    started = time.monotonic()
    response = htmx(console("viewer"), "post", PREVIEW, _rule("^(p+)+$"))
    assert response.status_code == 200
    assert 'data-matched="' in response.content.decode()
    assert time.monotonic() - started < 3
