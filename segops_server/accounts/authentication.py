"""Bearer-JWT authentication for people, with revocation by token generation."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from segops_server.accounts.models import User
from segops_server.accounts.tokens import GENERATION_CLAIM


class PersonJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access>`; the token's generation must match the person's."""

    def authenticate(self, request: Any) -> tuple[User, Token] | None:  # type: ignore[override]
        header = self.get_header(request)
        raw = self.get_raw_token(header) if header is not None else None
        if raw is not None and raw[:3] in (b"sk_", b"pk_"):
            raise AuthenticationFailed("API keys go in `Authorization: ApiKey <key>`, not Bearer.")
        try:
            result = super().authenticate(request)
        except InvalidToken:
            raise AuthenticationFailed("Access token is invalid or expired.") from None
        if result is None:
            return None
        user, token = result
        assert isinstance(user, User)
        if "iat" not in token.payload or token.get(GENERATION_CLAIM) != user.token_generation:
            raise AuthenticationFailed("Access token has been revoked.")
        return user, token

    def get_user(self, validated_token: Token) -> Any:
        try:
            return super().get_user(validated_token)
        except (InvalidToken, AuthenticationFailed):
            raise AuthenticationFailed("Access token is invalid or expired.") from None
