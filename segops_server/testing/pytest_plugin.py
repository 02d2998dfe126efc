"""Loaded with `-p` before pytest-django reads settings: selects the fast test profile."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

os.environ.setdefault("SEGOPS_ENV", "test")
_data_dir = os.environ.setdefault("SEGOPS_DATA_DIR", tempfile.mkdtemp(prefix="segops-test-"))
# WhiteNoise warns on every request when STATIC_ROOT is missing; tests never collect static files.
os.makedirs(os.path.join(_data_dir, "static"), exist_ok=True)
# Metrics count in this process (prometheus-client's multiprocess mode is for `segops run`'s
# processes); an operator's PROMETHEUS_MULTIPROC_DIR must not leak into the suite.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


@pytest.fixture(autouse=True)
def _metrics_multiprocess_mode_kept_off() -> Iterator[None]:
    """`segops run` called in a test points the multiprocess mode at its directory: undone after."""
    yield
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """SEGOPS_TEST_ALONE=skip leaves out the tests marked `alone`, =only runs just those: scripts/test
    runs its two passes side by side without them, then runs them with nothing else running."""
    which = os.environ.get("SEGOPS_TEST_ALONE", "")
    if which not in ("skip", "only"):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        alone = item.get_closest_marker("alone") is not None
        (keep if alone == (which == "only") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
