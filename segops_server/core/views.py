"""Health probes and the JSON answers for unknown routes and server errors."""

from __future__ import annotations

import sys

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from segops_server.core.outage import database_unavailable_response, is_database_unavailable


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """The process can reach its database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any driver error means "not ready", never a traceback
        return JsonResponse({"status": "unavailable", "detail": "Database unreachable."}, status=503)
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 inside its `except` block: the exception is still in sys.exc_info().
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable_response(exc)
    return JsonResponse({"detail": "Internal server error."}, status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
