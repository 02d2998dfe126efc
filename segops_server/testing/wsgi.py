"""The WSGI application called directly, either way: through the short way (core/fastpath.py) or
through Django alone, so tests can check that both answer a request alike."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from segops_server.core.middleware import chunked_bodies_buffered
from segops_server.observability.context import WELL_FORMED
from segops_server.wsgi import build_application


def _comparable(name: str, value: str) -> tuple[str, str]:
    """Each answer has its own request id: only its presence and shape are compared."""
    if name == "x-request-id":
        return name, "<well-formed>" if WELL_FORMED.fullmatch(value) else value
    return name, value


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]  # lower-cased names, sorted
    body: bytes
    served_by: str  # "fast path" or "django"
    request_id: str | None = None  # the X-Request-Id header (in `headers` as "<well-formed>")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


class Application:
    """A new application built from the settings as they are now (override_settings included)."""

    def __init__(self) -> None:
        self.app = build_application()
        self._django = self.app.app
        self._reached_django = False

        def django(environ: dict[str, Any], start_response: Any) -> Any:
            self._reached_django = True
            return self._django(environ, start_response)

        self.app.app = django

    def fast(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        """Through the short way (Django answers whatever it declines)."""
        return self._call(self.app, method, path, body, **options)

    def django(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        """Through Django alone, as with SEGOPS_FAST_PATH=0."""
        return self._call(self._django, method, path, body, **options)

    def chunked(self, method: str, path: str, body: Any = None, **options: Any) -> Answer:
        """Sent as `Transfer-Encoding: chunked` (no Content-Length), through what a server calls."""
        return self._call(chunked_bodies_buffered(self.app), method, path, body, chunked=True, **options)

    def _call(
        self,
        app: Any,
        method: str,
        path: str,
        body: Any,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        secure: bool = False,
        chunked: bool = False,
        **extra: Any,
    ) -> Answer:
        data = body if isinstance(body, bytes | str) else json.dumps(body) if body is not None else ""
        request = RequestFactory().generic(
            method, path, data, content_type=content_type, secure=secure, headers=headers, **extra
        )
        if chunked:  # as a server passes it on: the body de-chunked, its length nowhere
            length = int(request.environ.pop("CONTENT_LENGTH"))
            request.environ["wsgi.input"] = io.BytesIO(request.environ["wsgi.input"].read(length))
            request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        started: list[Any] = []
        self._reached_django = False
        # As Django's test client does: the test's own database connection must stay open.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            chunks = app(request.environ, lambda status, headers: started.append((status, headers)))
            content = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        status, response_headers = started[0]
        return Answer(
            status=int(status.split()[0]),
            headers=sorted(_comparable(k.lower(), v) for k, v in response_headers),
            body=content,
            served_by="django" if self._reached_django or app is self._django else "fast path",
            request_id=next((v for k, v in response_headers if k.lower() == "x-request-id"), None),
        )
