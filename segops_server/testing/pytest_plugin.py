"""Loaded with `-p` before pytest-django reads settings: selects the fast test profile."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SEGOPS_ENV", "test")
os.environ.setdefault("SEGOPS_DATA_DIR", tempfile.mkdtemp(prefix="segops-test-"))
