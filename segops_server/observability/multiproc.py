"""prometheus-client's multiprocess mode: where every process writes its counts.

Kept apart from metrics.py, and free of any prometheus_client import, because the variable must
be set before prometheus_client is first imported (it chooses its value storage then).
"""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def metrics_dir_prepare(path: Path, *, clean: bool) -> None:
    """Point prometheus-client's multiprocess mode at `path` for this process and its children.

    Must run before anything imports prometheus_client (it reads the variable at import), so
    the CLI calls it before Django starts. `clean` (at `segops run`) removes the previous run's
    files: counters then start from zero, as Prometheus expects after a restart. Only `*.db`
    files are removed, so a directory shared by mistake loses nothing else.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if clean:
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
