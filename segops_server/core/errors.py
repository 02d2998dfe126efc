"""The one exception handler: every API error leaves as {"detail": ...} or field errors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from segops_server.core.outage import (
    RETRY_AFTER_SECONDS,
    database_unavailable_log,
    is_database_unavailable,
    public_detail,
)
from segops_server.core.quotas import QuotaExceeded
from segops_server.observability.metrics import QUOTA_REFUSALS


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


class DatabaseUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable right now; retry shortly."
    default_code = "database_unavailable"
    wait = RETRY_AFTER_SECONDS  # DRF's exception handler sends it as Retry-After


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This resource is no longer available."
    default_code = "gone"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from segops_server.core.idempotency import Replay, replay_response

    if isinstance(exc, Replay):
        return replay_response(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif is_database_unavailable(exc):
        database_unavailable_log(exc)
        exc = DatabaseUnavailable(public_detail(exc))
    if isinstance(exc, QuotaExceeded):
        QUOTA_REFUSALS.labels(quota=exc.quota).inc()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response._has_been_logged = True  # type: ignore[attr-defined]  # once per outage, above
    challenge = getattr(exc, "www_authenticate", None)
    if challenge and response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = challenge
    data = response.data
    if isinstance(data, list):
        # A bare ValidationError(["..."]) becomes the one documented shape.
        response.data = {"detail": " ".join(str(item) for item in data)}
    elif isinstance(data, dict) and "detail" in data:
        # simplejwt adds "code" and "messages"; clients get the message only.
        response.data = {"detail": str(data["detail"])}
    return response
