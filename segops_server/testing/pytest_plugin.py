"""Loaded with `-p` before pytest-django reads settings: selects the fast test profile."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SEGOPS_ENV", "test")
_data_dir = os.environ.setdefault("SEGOPS_DATA_DIR", tempfile.mkdtemp(prefix="segops-test-"))
# WhiteNoise warns on every request when STATIC_ROOT is missing; tests never collect static files.
os.makedirs(os.path.join(_data_dir, "static"), exist_ok=True)
