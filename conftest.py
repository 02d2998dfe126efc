"""Fixtures shared by every test: a team in every role, and an outsider in another tenant."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from segops_server.core.quotas import leases_clear
from segops_server.testing.factories import Team, make_team


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()
    leases_clear()  # plan quota leases held by this process belong to the previous test's database


@pytest.fixture
def team(db: None) -> Team:
    return make_team()
