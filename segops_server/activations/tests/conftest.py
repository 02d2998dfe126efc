"""Activations send to local receivers in tests: private addresses and http allowed."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _private_urls_allowed(settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True
