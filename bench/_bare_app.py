"""The smallest WSGI application: what granian itself answers per second (bench/_server.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"{}"
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
