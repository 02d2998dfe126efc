"""Bearer-JWT authentication for people, with revocation by token generation and by family."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from segops_server.accounts.families import family_is_live
from segops_server.accounts.models import User
from segops_server.accounts.tokens import FAMILY_CLAIM, GENERATION_CLAIM

REVOKED = "Access token has been revoked."


class PersonJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access>`; the token's generation must match the person's and its
    family (the login it descends from) must not be revoked.

    Logout and refresh-token reuse revoke the family, which ends its access tokens on the very
    next request on every process; accounts/families.py keeps that check off the database in
    the common case.
    """

    # override: simplejwt's AuthUser is its own user type; the user here is always ours.
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
            raise AuthenticationFailed(REVOKED)
        try:
            family = uuid.UUID(str(token.get(FAMILY_CLAIM)))
        except ValueError:
            raise AuthenticationFailed(REVOKED) from None
        if not family_is_live(family=family, user_id=user.pk):
            raise AuthenticationFailed(REVOKED)
        return user, token

    def get_user(self, validated_token: Token) -> Any:
        try:
            user = super().get_user(validated_token)
        except (InvalidToken, AuthenticationFailed):
            raise AuthenticationFailed("Access token is invalid or expired.") from None
        return user
