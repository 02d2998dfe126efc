"""Console test helpers: browsers (Django test clients) signed in as each person of the team."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from segops_server.accounts.models import User
from segops_server.testing.factories import Team

ConsoleFor = Callable[[str], Client]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def console(team: Team) -> ConsoleFor:
    """console("viewer") is a browser session of the team's viewer (outsider: globex's owner)."""

    def make(who: str) -> Client:
        user: User = getattr(team, who)
        return signed_in(user)

    return make


def form_token(html: bytes) -> str:
    """The single-use token a key form carries (see console/oneshot.py)."""
    match = re.search(rb'name="form_token" value="([^"]+)"', html)
    assert match is not None, "the page has no form token"
    return match.group(1).decode()


def htmx(client: Client, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    """A request as htmx sends it (HX-Request: true)."""
    call = getattr(client, method)
    return call(url, data or {}, HTTP_HX_REQUEST="true")
