"""Health probes and the JSON answers for unknown routes and server errors."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from segops_server.core.outage import database_unavailable_response, is_database_unavailable
from segops_server.core.workers import workers_seen


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """The process can reach its database, and a task worker has checked in lately.

    Without a worker, computes and exports wait forever while the API accepts them, so by default
    (SEGOPS_READYZ_REQUIRE_WORKER) a load balancer sees 503 and an operator the reason."""
    try:
        # One query answers both questions: the database answers, and what the workers said.
        workers = workers_seen()
    except Exception:  # any driver error means "not ready", never a traceback
        return JsonResponse({"status": "unavailable", "detail": "Database unreachable."}, status=503)
    ago = workers.last_seen_seconds_ago
    alive = workers.alive
    worker = {
        "status": "ok" if alive else "missing",
        "alive": alive,
        "last_seen_seconds_ago": round(ago, 1) if ago is not None else None,
    }
    extra = _events_engine_detail()
    if not alive:
        detail = (
            f"No task worker has checked in within {settings.SEGOPS_WORKER_STALE_SECONDS} seconds: "
            "segment computes and exports are not running."
        )
        if settings.SEGOPS_READYZ_REQUIRE_WORKER:
            return JsonResponse(
                {"status": "unavailable", "detail": detail, "worker": worker, **extra}, status=503
            )
        return JsonResponse({"status": "ok", "detail": detail, "worker": worker, **extra})
    return JsonResponse({"status": "ok", "worker": worker, **extra})


def _events_engine_detail() -> dict[str, Any]:
    """On the ClickHouse events engine, how far its copy of the events lags (informative: the
    database holds every event, and a compute ships what is pending first)."""
    from segops_server.events_engine.engine import clickhouse_enabled
    from segops_server.events_engine.shipping import events_ship_lag

    if not clickhouse_enabled():
        return {}
    pending, age = events_ship_lag()
    lag = round(age, 1) if age is not None else 0.0
    return {"events_engine": {"engine": "clickhouse", "pending_events": pending, "lag_seconds": lag}}


# The hosted service's features this installation does not have (spec §10), by the first segment
# of their API paths: the official SDK calls them, and gets a clear 404 rather than "Not found.".
NOT_INSTALLED = {
    "pim": "The product catalog (PIM)",
    "product-segments": "Product segments",
    "ai-reach": "AI visibility",
    "ai-pages": "AI landing pages",
    "ai": "The AI segment builder and copilot",
}
NOT_INSTALLED_PATTERN = "|".join(sorted(NOT_INSTALLED, key=len, reverse=True))


@csrf_exempt  # no cookie-authenticated state to protect: every method answers the same 404
def not_installed(request: HttpRequest, feature: str) -> HttpResponse:
    """Every route of a feature that is not part of this installation, for anyone: the features
    this installation lacks are public (the docs say so), so the answer tells nobody anything."""
    return JsonResponse({"detail": f"{NOT_INSTALLED[feature]} is not part of this installation."}, status=404)


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
