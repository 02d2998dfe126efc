"""Request guards that run before any view: chunked bodies read within the size limit, and the limit."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Set in the environ of a request whose chunked body was read here: its Content-Length is ours.
CHUNKED_MARK = "segops.chunked_body"
_READ_SIZE = 64 * 1024


def chunked_bodies_buffered(app: WSGIApp) -> WSGIApp:
    """`app`, with a `Transfer-Encoding: chunked` body read up front and given a Content-Length.

    Django reads exactly CONTENT_LENGTH bytes of a body, and a chunked request has none: without
    this the body would be taken as empty (an event "without event_type", a batch of nothing).
    At most SEGOPS_MAX_BODY_BYTES + 1 bytes are read, so an endless body costs no more memory
    than a declared one; past the limit the request carries the length read so far and
    BodySizeLimitMiddleware answers 413 (the short way declines it), as for a Content-Length.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        codings = environ.get("HTTP_TRANSFER_ENCODING")
        if codings is not None and codings.rsplit(",", 1)[-1].strip().lower() == "chunked":
            # The server has already undone the chunking: wsgi.input yields the body itself.
            limit = settings.SEGOPS_MAX_BODY_BYTES
            stream, body = environ["wsgi.input"], bytearray()
            while len(body) <= limit:
                piece = stream.read(min(_READ_SIZE, limit + 1 - len(body)))
                if not piece:
                    break
                body += piece
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            environ[CHUNKED_MARK] = True
            del environ["HTTP_TRANSFER_ENCODING"]
        return app(environ, start_response)

    return application


class BodySizeLimitMiddleware:
    """Refuses a declared body over SEGOPS_MAX_BODY_BYTES with 413 before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            # Not read by chunked_bodies_buffered (another coding, or the app was not wrapped):
            # Django would see an empty body, so the client is told to declare its length.
            return JsonResponse(
                {"detail": "Send the request body with a Content-Length or Transfer-Encoding: chunked."},
                status=411,
            )
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse({"detail": "Content-Length must be a number."}, status=400)
        limit = settings.SEGOPS_MAX_BODY_BYTES
        if length > limit:
            size = f"more than {limit}" if request.META.get(CHUNKED_MARK) else str(length)
            return JsonResponse(
                {"detail": f"Request body is {size} bytes; the limit is {limit} bytes."},
                status=413,
            )
        return self.get_response(request)
