"""Bearer-JWT authentication for people, with revocation by token generation and by family."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from django.db import connection
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from segops_server.accounts.families import family_is_live
from segops_server.accounts.models import User
from segops_server.accounts.tokens import FAMILY_CLAIM, GENERATION_CLAIM
from segops_server.core.rawsql import instance_from_row, select_columns

REVOKED = "Access token has been revoked."
INVALID = "Access token is invalid or expired."


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
            raise AuthenticationFailed(INVALID) from None
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
        """simplejwt's get_user (the id claim, the person's row, is_active), with the row of the
        id our own tokens carry read by a written-out query: every Bearer request reads it, and
        building it with the ORM cost more CPU than the query itself. Anything else (another id
        shape, settings we do not use) goes through simplejwt's get_user, as before. Any failure
        is the one refusal."""
        user_id = _plain_id(validated_token.get(api_settings.USER_ID_CLAIM))
        if (
            user_id is None
            or User._meta.pk.name != api_settings.USER_ID_FIELD
            or api_settings.CHECK_REVOKE_TOKEN
        ):
            try:
                return super().get_user(validated_token)
            except (InvalidToken, AuthenticationFailed):
                raise AuthenticationFailed(INVALID) from None
        with connection.cursor() as cursor:
            cursor.execute(_user_sql(), [user_id])
            row = cursor.fetchone()
        user = None if row is None else instance_from_row(User, row)
        if user is None or (api_settings.CHECK_USER_IS_ACTIVE and not user.is_active):
            raise AuthenticationFailed(INVALID)
        return user


# The ids a bigint column holds (PostgreSQL's bigint, SQLite's integer).
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1


def _plain_id(claim: Any) -> int | None:
    """The id as our tokens carry it (simplejwt writes str(user.pk)), as the ORM would read it
    (int() of the claim), when that is plain: an int, or up to 19 ASCII digits, in a bigint's
    range. None for anything else."""
    if type(claim) is str and len(claim) <= 19 and claim.isascii() and claim.isdigit():
        claim = int(claim)
    if type(claim) is int and _ID_MIN <= claim <= _ID_MAX:
        return claim
    return None


@cache
def _user_sql() -> str:
    return (
        f"SELECT {select_columns(User, 'u')} FROM {User._meta.db_table} u "  # noqa: S608 (our names)
        f"WHERE u.{User._meta.pk.column} = %s"
    )
