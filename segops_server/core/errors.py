"""The project's own errors, and the one API exception handler that maps them (and DRF's) to HTTP.

Services and selectors raise the domain errors below and never import DRF: the API maps them
here (`exception_handler`), the console in console/errors.py, each in one place. Every API error
leaves as {"detail": ...} or as field errors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from segops_server.core.outage import (
    RETRY_AFTER_SECONDS,
    database_unavailable_log,
    is_database_unavailable,
    public_detail,
)
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


# What a domain error carries: a message, or field errors ({"field": ["message", ...]}).
Detail = str | dict[str, Any]


class DomainError(Exception):
    """Base of the errors services and selectors raise; interfaces map them, services never do."""

    default_detail = "The request could not be done."
    # The HTTP status both interfaces answer with (the API's handler, the console's pages): the
    # one place it is written. A kind without its own is the caller's mistake.
    http_status: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: Detail | None = None) -> None:
        self.detail: Detail = self.default_detail if detail is None else detail
        super().__init__(self.detail)

    def messages(self) -> list[str]:
        """Every message this error carries, field errors flattened, in order."""
        return _messages(self.detail)

    def __str__(self) -> str:
        return " ".join(self.messages())


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


class Invalid(DomainError):
    """Bad input (400): a message, or field errors keyed by the request's field names."""

    default_detail = "Invalid input."


class Unauthenticated(DomainError):
    """A credential that is not good (401)."""

    default_detail = "Incorrect authentication credentials."
    http_status = status.HTTP_401_UNAUTHORIZED


class PermissionDenied(DomainError):
    """Known caller, not allowed (403)."""

    default_detail = "You do not have permission to perform this action."
    http_status = status.HTTP_403_FORBIDDEN


class NotFound(DomainError):
    """Absent, or not this tenant's (404: an outsider cannot tell the two apart)."""

    default_detail = "Not found."
    http_status = status.HTTP_404_NOT_FOUND


class Conflict(DomainError):
    default_detail = "The request conflicts with the current state."
    http_status = status.HTTP_409_CONFLICT


class Gone(DomainError):
    default_detail = "This resource is no longer available."
    http_status = status.HTTP_410_GONE


class Throttled(DomainError):
    """Too many requests (429); `wait` seconds before trying again (sent as Retry-After)."""

    default_detail = "Request was throttled."
    http_status = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, detail: Detail | None = None, *, wait: int | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


class QuotaExceeded(Throttled):
    """A plan quota refused the request (429): counted once, by the API's exception handler, in
    segops_quota_refusals_total. The short way declines on it and lets the full path refuse."""

    def __init__(self, *, quota: str, wait: int, detail: str) -> None:
        super().__init__(detail, wait=wait)
        self.quota = quota


class Unavailable(DomainError):
    """A dependency is down for now (503); `wait` seconds before a retry is worth it."""

    default_detail = "The service is unavailable right now; retry shortly."
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, detail: Detail | None = None, *, wait: int | None = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail)
        self.wait = wait


def api_exception(exc: DomainError) -> APIException:
    """The DRF exception, and so the status and body, the API answers for a domain error."""
    if isinstance(exc, Invalid):
        return drf.ValidationError(exc.detail)  # field errors keep their shape
    if isinstance(exc, Unauthenticated):
        return drf.AuthenticationFailed(exc.detail)  # DRF adds the authenticator's challenge
    if isinstance(exc, Throttled):
        return drf.Throttled(wait=exc.wait, detail=str(exc))
    error = APIException(exc.detail)
    error.status_code = exc.http_status
    if isinstance(exc, Unavailable):
        error.wait = exc.wait  # type: ignore[attr-defined]  # DRF's handler sends it as Retry-After
    return error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views loads the authentication classes, which raise the
    # errors above, so a module-level import would be circular.
    from rest_framework.views import exception_handler as drf_exception_handler

    from segops_server.core.idempotency import Replay, replay_response

    if isinstance(exc, Replay):
        return replay_response(exc)
    if isinstance(exc, QuotaExceeded):
        QUOTA_REFUSALS.labels(quota=exc.quota).inc()
    if isinstance(exc, DomainError):
        exc = api_exception(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif is_database_unavailable(exc):
        database_unavailable_log(exc)
        exc = DatabaseUnavailable(public_detail(exc))
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
