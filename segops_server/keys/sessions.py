"""Public-key sessions: 15-minute JWTs locked to one user id, minted by the handshake."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework_simplejwt.tokens import Token

from segops_server.core.ids import anonymous_uid
from segops_server.keys.models import ApiKey, KeyStatus

SESSION_LIFETIME = timedelta(minutes=15)
SIGNATURE_TOLERANCE_SECONDS = 300


class SessionToken(Token):
    token_type = "session"
    lifetime = SESSION_LIFETIME


def session_token_mint(*, key: ApiKey, user_id: str | None, anonymous_id: str | None) -> SessionToken:
    """A session for a named user, or else for an anonymous visitor, whose uid is `anon_<id>`.

    The `anon` claim (the anonymous id, or null) says which: an anonymous session sends its
    events under its own anonymous id only, so it cannot alias itself to anyone else's."""
    token = SessionToken()
    token["kid"] = key.pk
    token["tid"] = key.tenant_id
    if user_id is not None:
        token["uid"], token["anon"] = user_id, None
    else:
        assert anonymous_id is not None
        token["uid"], token["anon"] = anonymous_uid(anonymous_id), anonymous_id
    return token


def session_identity(token: SessionToken) -> tuple[str, str | None]:
    """(uid, anonymous id or None) of a session token minted by session_token_mint.

    Tokens minted before anonymous ids had their own space carry no `anon` claim, and their uid
    may be a known user's id taken through `anonymous_id`: they are refused (401; the SDK mints
    a new session once and carries on)."""
    if "anon" not in token.payload:
        raise AuthenticationFailed("Session token is invalid or expired.")
    uid, anonymous_id = token["uid"], token["anon"]
    if anonymous_id is not None and uid != anonymous_uid(anonymous_id):
        raise AuthenticationFailed("Session token is invalid or expired.")
    return uid, anonymous_id


def session_key_get(token: SessionToken) -> ApiKey:
    """The public key behind a session, still active: revoking the key ends its sessions at once."""
    key = (
        ApiKey.objects.unscoped_all_tenants()  # the token's own signed claims name the tenant
        .select_related("tenant")
        .filter(pk=token.get("kid"), tenant_id=token.get("tid"))
        .first()
    )
    if key is None or key.status != KeyStatus.ACTIVE:
        raise AuthenticationFailed("Session token is invalid or expired.")
    return key


def origin_allowed(origin: str, allowlist: list[str]) -> bool:
    """Exact origins, or `https://*.example.com` for exactly one subdomain level."""
    if not allowlist:
        return True
    origin = origin.strip().lower().rstrip("/")
    for allowed in allowlist:
        allowed = allowed.lower().rstrip("/")
        if origin == allowed:
            return True
        if "://*." in allowed:
            scheme, _, suffix = allowed.partition("://*.")
            parts = urlsplit(origin)
            host = parts.netloc
            if parts.scheme == scheme and host.endswith("." + suffix):
                label = host[: -len(suffix) - 1]
                if label and "." not in label:
                    return True
    return False


def origin_check(*, key: ApiKey, origin: str | None) -> None:
    if key.allowed_origins and not (origin and origin_allowed(origin, key.allowed_origins)):
        raise PermissionDenied("This origin is not allowed to use this public key.")


def signature_check(*, key: ApiKey, user_id: str, sig: Any, ts: Any) -> None:
    """`user_id_sig` must be hex(HMAC-SHA256(secret, f"{user_id}|{ts}")) with ts within ±5 minutes."""
    if sig in (None, "") or ts in (None, ""):
        raise AuthenticationFailed("This public key requires a signed user_id (user_id_sig, user_id_ts).")
    try:
        ts_int = int(ts)
    except (TypeError, ValueError):
        raise AuthenticationFailed("user_id_ts must be unix seconds.") from None
    if abs(time.time() - ts_int) > SIGNATURE_TOLERANCE_SECONDS:
        raise AuthenticationFailed("user_id_ts is more than 5 minutes from the server clock.")
    expected = hmac.new(bytes.fromhex(key.hmac_secret), f"{user_id}|{ts_int}".encode(), hashlib.sha256)
    # Compared as bytes: compare_digest refuses non-ASCII str, and a forged sig is a 403, not a 500.
    if not hmac.compare_digest(expected.hexdigest().encode(), str(sig).lower().encode()):
        raise PermissionDenied("user_id_sig does not match this user_id.")
