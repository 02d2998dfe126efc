"""The short way's credential check for the hot endpoints (see core/fastpath.py)."""

from __future__ import annotations

from django.http import HttpRequest

from segops_server.accounts.tenancy import TENANT_HEADER
from segops_server.core.fastpath import Decline
from segops_server.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from segops_server.keys.authentication import ApiKeyAuthenticationFailed, key_from_headers, key_in_url
from segops_server.keys.models import ApiKey, KeyType
from segops_server.keys.services import KeyRefusal, api_key_check
from segops_server.observability.context import tenant_note


def secret_key_of(request: HttpRequest, scope: str) -> ApiKey:
    """The short way's credential check (core/fastpath.py): a live secret key holding `scope`,
    acting on its own tenant. Anything else is Decline: the DRF view then refuses or serves it,
    audit entries included. Last use is recorded by the caller once it answers."""
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if (
        (authorization is not None and not authorization.lower().startswith("apikey "))
        or TENANT_HEADER in request.META
        or IDEMPOTENCY_HEADER in request.META
        or key_in_url(request)
    ):
        raise Decline
    try:
        raw = key_from_headers(request)
    except ApiKeyAuthenticationFailed:
        raise Decline from None
    if raw is None:
        raise Decline
    checked = api_key_check(raw)
    if isinstance(checked, KeyRefusal) or checked.type != KeyType.SECRET or not checked.has_scope(scope):
        raise Decline
    tenant_note(checked.tenant_id)  # for the request's log lines
    return checked
