"""Settings whose default differs between a served SegOps and the suite's in-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_READ = (
    "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'segops_server.settings');"
    "django.setup(); from django.conf import settings; print(settings.SEGOPS_GROUP_COMMIT_MS)"
)


def _group_commit_ms(tmp_path: Path, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SEGOPS_", "DATABASE_URL"))}
    environ.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'segops.sqlite3'}", SEGOPS_DATA_DIR=str(tmp_path), **env
    )
    done = subprocess.run(
        [sys.executable, "-c", _READ], env=environ, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SEGOPS_ENV": "local"}, 2),  # a served SegOps groups single events' commits
        ({"SEGOPS_ENV": "test"}, 0),  # in-process tests turn it on where they test it
        ({"SEGOPS_ENV": "local", "SEGOPS_GROUP_COMMIT_MS": "0"}, 0),
        ({"SEGOPS_ENV": "test", "SEGOPS_GROUP_COMMIT_MS": "5"}, 5),
    ],
)
def test_group_commit_is_on_by_default_where_segops_is_served(
    tmp_path: Path, env: dict[str, str], expected: int
) -> None:
    assert _group_commit_ms(tmp_path, **env) == expected
