"""DRF authentication for API keys (`Authorization: ApiKey …` / `X-API-Key`) and public-key sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import TokenError

from segops_server.access.policy import Credential
from segops_server.accounts.models import Tenant
from segops_server.core.environ_request import EnvironRequest
from segops_server.core.errors import Unauthenticated
from segops_server.keys import services
from segops_server.keys.format import KEY_PATTERN
from segops_server.keys.models import ApiKey, KeyType, Scope
from segops_server.keys.sessions import SessionToken, session_identity, session_key_get


class ApiKeyAuthenticationFailed(AuthenticationFailed):
    """A 401 whose challenge names the ApiKey scheme (see core.errors)."""

    www_authenticate = 'ApiKey realm="api"'


def api_key_authenticate(*, raw: str, request: Request) -> ApiKey:
    """The service's check, its refusal as DRF's 401 with the ApiKey challenge."""
    try:
        return services.api_key_authenticate(raw=raw, request=request)
    except Unauthenticated as exc:
        raise ApiKeyAuthenticationFailed(str(exc)) from None


class MachinePrincipal:
    """`request.user` for a machine credential: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __init__(self, label: str) -> None:
        self.label = label

    def __str__(self) -> str:
        return self.label


def key_from_headers(request: HttpRequest | Request | EnvironRequest) -> str | None:
    """The key sent in `Authorization: ApiKey …` or `X-API-Key`; malformed headers raise (401)."""
    auth = get_authorization_header(request).split()  # type: ignore[arg-type]  # reads META only
    if auth and auth[0].lower() == b"apikey":
        if len(auth) != 2:
            raise ApiKeyAuthenticationFailed("Invalid ApiKey header: use `Authorization: ApiKey <key>`.")
        return auth[1].decode("latin-1")
    header = request.META.get("HTTP_X_API_KEY")
    return header.strip() if header else None


def key_in_url(request: HttpRequest | Request | EnvironRequest) -> bool:
    """A key in a URL ends up in access logs, browser history and Referer headers: refused."""
    if not request.META.get("QUERY_STRING"):
        return False  # nothing to parse (most requests): no QueryDict built
    return any(KEY_PATTERN.search(value) for _, values in request.GET.lists() for value in values)


class ApiKeyAuthentication(BaseAuthentication):
    """Secret keys. None means "no key here"; a key that is bad raises (401)."""

    def authenticate(self, request: Request) -> tuple[MachinePrincipal, ApiKey] | None:
        if key_in_url(request):
            raise ApiKeyAuthenticationFailed(
                "API keys are not accepted in the URL; send `Authorization: ApiKey <key>`."
            )
        raw = key_from_headers(request)
        if raw is None:
            return None
        key = api_key_authenticate(raw=raw, request=request)
        if key.type == KeyType.PUBLIC:
            raise ApiKeyAuthenticationFailed(
                "Public keys (pk_) can only mint a session at /api/auth/session/."
            )
        return MachinePrincipal(key.display_prefix), key

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey realm="api"'


class PublicKeyAuthentication(ApiKeyAuthentication):
    """Public keys, accepted only by the session handshake."""

    def authenticate(self, request: Request) -> tuple[MachinePrincipal, ApiKey] | None:
        raw = key_from_headers(request)
        if raw is None:
            return None
        key = api_key_authenticate(raw=raw, request=request)
        if key.type != KeyType.PUBLIC:
            raise ApiKeyAuthenticationFailed("Only public keys (pk_) mint browser sessions.")
        return MachinePrincipal(key.display_prefix), key


@dataclass(frozen=True)
class SessionCredential:
    """A public-key session: may send events for one user of one tenant, and nothing else."""

    key: ApiKey
    uid: str
    anonymous_id: str | None = None  # set for an anonymous visitor's session (uid is anon_<id>)
    scopes: list[str] = field(default_factory=lambda: [Scope.EVENTS_WRITE.value])

    @property
    def bound_tenant(self) -> Tenant:
        return self.key.tenant

    @property
    def credential(self) -> Credential:
        return Credential.PUBLIC_SESSION

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class SessionTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <session token>` minted by /api/auth/session/."""

    def authenticate(self, request: Request) -> tuple[MachinePrincipal, SessionCredential] | None:
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"bearer":
            return None
        if len(auth) != 2:
            raise AuthenticationFailed("Invalid Bearer header.")
        try:
            # simplejwt annotates the raw token as a Token; it takes the encoded string.
            token = SessionToken(auth[1].decode("latin-1"))  # type: ignore[arg-type]
        except TokenError:
            raise AuthenticationFailed("Session token is invalid or expired.") from None
        uid, anonymous_id = session_identity(token)
        key = session_key_get(token)
        credential = SessionCredential(key=key, uid=uid, anonymous_id=anonymous_id)
        return MachinePrincipal(f"session:{key.display_prefix}"), credential

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_credential(request: Request) -> Any:
    """The machine credential behind a request (ApiKey or SessionCredential), or None for a person."""
    return request.auth if isinstance(request.auth, ApiKey | SessionCredential) else None
