"""Every request answered through Django gets a request id (X-Request-Id) and is counted."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from segops_server.observability.context import ENVIRON_STARTED, HEADER, request_begin
from segops_server.observability.metrics import UNMATCHED, request_record


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request (`/api/segments/<id:segment_id>/`), never the raw
    path, so ids in URLs cannot multiply the series."""
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before URL resolution (e.g. a body over the limit)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return "/" + match.route


class RequestObservabilityMiddleware:
    """First in MIDDLEWARE, so it sees every answer, errors included.

    The request's context (id, tenant) stays set until Django's request_finished signal (see
    receivers in apps.py), so the "Not Found: …" lines Django logs after the middleware chain
    carry the id too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        environ = request.META  # the WSGI environ itself
        started = environ.get(ENVIRON_STARTED) or time.perf_counter()
        ctx = request_begin(environ)
        response = self.get_response(request)
        response[HEADER] = ctx.request_id
        request_record(
            route=route_of(request),
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
