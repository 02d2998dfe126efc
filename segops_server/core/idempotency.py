"""Idempotency-Key on writes: a retried request gets the first answer instead of acting twice.

Clients (the segops-admin SDK among them) send `Idempotency-Key: <uuid>` on writes and retry
on timeouts, 429 and 5xx. The first answer (2xx or 4xx; never 5xx, which may be retried) is
stored for 24 hours per tenant and caller; the same key with the same request replays it, the
same key with a different request is a 409.

An answer that shows a secret once (a new API key, its HMAC secret, an invitation token) is
marked with `secret_shown_once`: its replay record holds a 409 saying what was created, never
the secret, so a retry cannot fetch the secret a second time (from our database or from the
record after the key was revoked). The client learns the object exists and that the secret is
gone; a lost secret means revoking that object and creating a new one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.core.errors import Conflict
from segops_server.core.models import IdempotentResponse

HEADER = "HTTP_IDEMPOTENCY_KEY"
RETENTION = timedelta(hours=24)
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


class Replay(APIException):
    """Carries a stored answer through DRF's exception path, before the view acts again."""

    def __init__(self, record: IdempotentResponse) -> None:
        super().__init__()
        self.status_code = record.status_code
        self.replayed_body = record.body


def _principal(request: Request) -> str:
    user_pk = getattr(request.user, "pk", None)
    if user_pk is not None:
        return f"user:{user_pk}"
    return f"key:{getattr(getattr(request.auth, 'key', request.auth), 'pk', '?')}"


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotency_key(request: Request) -> str | None:
    key: str = request.META.get(HEADER, "").strip()
    if not key or request.method not in WRITE_METHODS:
        return None
    if len(key) > 255:
        raise ValidationError({"Idempotency-Key": ["At most 255 characters."]})
    return key


def idempotency_replay(request: Request, *, tenant_id: int, key: str) -> None:
    """Raise Replay with the stored answer if this key was seen; 409 if it was another request."""
    record = IdempotentResponse.objects.filter(
        tenant_id=tenant_id, principal=_principal(request), key=key, created_at__gt=timezone.now() - RETENTION
    ).first()
    if record is None:
        return
    if record.fingerprint != _fingerprint(request):
        raise Conflict("This Idempotency-Key was used for a different request.")
    raise Replay(record)


def secret_shown_once(response: Response, *, created: str) -> Response:
    """Mark an answer that carries a secret: never cached, never stored for a replay.

    `created` names what the request made (e.g. "API key 5") for the 409 a retry gets.
    """
    response["Cache-Control"] = "no-store"
    # A mark on the response that idempotency_store reads; Response declares no such attribute.
    response.secret_created = created  # type: ignore[attr-defined]
    return response


def _replay_of_secret(created: str) -> tuple[int, dict[str, str]]:
    return 409, {
        "detail": f"This Idempotency-Key already created {created}. Its secret was shown once, in the"
        " first answer, and is not kept; if it was lost, revoke it and create a new one."
    }


def idempotency_store(request: Request, response: Response, *, tenant_id: int, key: str) -> None:
    if response.status_code >= 500 or isinstance(getattr(response, "exception", None), Replay):
        return
    if getattr(response, "idempotent_replay", False):
        return
    status_code, body = response.status_code, response.data
    created = getattr(response, "secret_created", None)
    if created is not None:
        status_code, body = _replay_of_secret(created)
    try:
        with transaction.atomic():
            IdempotentResponse.objects.create(
                tenant_id=tenant_id,
                principal=_principal(request),
                key=key,
                fingerprint=_fingerprint(request),
                status_code=status_code,
                body=body,
            )
    except IntegrityError:  # a concurrent retry stored it first
        pass


def idempotency_purge() -> int:
    deleted, _ = IdempotentResponse.objects.filter(created_at__lte=timezone.now() - RETENTION).delete()
    return deleted


def replay_response(exc: Replay) -> Response:
    response = Response(exc.replayed_body, status=exc.status_code)
    response["Idempotent-Replayed"] = "true"
    # Replays are per caller and may describe a created secret: no shared cache keeps them.
    response["Cache-Control"] = "no-store"
    # A mark idempotency_store reads (a replay is not stored again); Response declares no such attribute.
    response.idempotent_replay = True  # type: ignore[attr-defined]
    return response
