"""Fixtures shared by the segment tests: exports written under the test's own directory, a
computed segment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from segops_server.segments.tests.test_segments_api import _create, _history
from segops_server.testing.factories import Team


@pytest.fixture
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            **settings.STORAGES["exports"],
            "OPTIONS": {**settings.STORAGES["exports"]["OPTIONS"], "location": folder},
        },
    }
    return folder


@pytest.fixture
def computed(team: Team, django_capture_on_commit_callbacks: Any) -> int:
    """A computed segment of two members, alice and bob (order_placed at least twice)."""
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    return int(segment_id)
