"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread, recording every
request and answering from a script (200 when the script is empty)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # wait for this before answering (a request in flight)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next(value for key, value in self.headers.items() if key.lower() == wanted)


class Receiver:
    """`answers` are used in order, one a request; every request is kept in `requests`. On
    `port`, or one the system picks."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self.requests: list[Request] = []
        self.answers: list[Answer] = []
        self.arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        with self.arrived:
            self.requests.append(Request(handler.path, dict(handler.headers), body))
            answer = self.answers.pop(0) if self.answers else Answer()
            self.arrived.notify_all()
        if answer.hold is not None:
            answer.hold.wait(60)
        with contextlib.suppress(OSError):  # the sender may have given up (or died)
            handler.send_response(answer.status)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)

    @contextlib.contextmanager
    def running(self) -> Iterator[Receiver]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
