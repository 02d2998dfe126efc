"""JWT pairs for people: minting, rotation with reuse detection, and revocation by family."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from segops_server.accounts.families import families_revoked
from segops_server.accounts.models import TokenFamily, UsedRefreshToken, User

FAMILY_CLAIM = "fam"
GENERATION_CLAIM = "gen"


class TokenPair(TypedDict):
    access: str
    refresh: str


def _mint(user: User, family: TokenFamily) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = str(family.pk)
    refresh[GENERATION_CLAIM] = user.token_generation
    # The access token copies the custom claims, so it too dies with a password change.
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_pair_issue(*, user: User) -> TokenPair:
    """A new login: a new family with its first pair."""
    family = TokenFamily.objects.create(user=user)
    return _mint(user, family)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # signature, algorithm, exp, token type and jti are checked here
    except TokenError:
        raise AuthenticationFailed("Refresh token is invalid or expired.") from None


def _family_of(token: RefreshToken) -> TokenFamily:
    family = TokenFamily.objects.select_related("user").filter(pk=token.get(FAMILY_CLAIM)).first()
    if family is None or family.revoked_at is not None:
        raise AuthenticationFailed("Refresh token has been revoked.")
    user = family.user
    if not user.is_active or token.get(GENERATION_CLAIM) != user.token_generation:
        raise AuthenticationFailed("Refresh token has been revoked.")
    return family


def token_pair_rotate(*, raw_refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the old one is spent.

    A spent token presented again within the grace window is a client refreshing in parallel
    and gets a fresh pair; later than that it is a replay by someone who stole it, so the
    whole family (the thief's copy and the owner's) is revoked.
    """
    token = _decode_refresh(raw_refresh)
    with transaction.atomic():
        family = _family_of(token)
        jti = str(token["jti"])
        try:
            with transaction.atomic():
                UsedRefreshToken.objects.create(jti=jti, family=family)
        except IntegrityError:
            spent = UsedRefreshToken.objects.get(jti=jti)
            grace = timedelta(seconds=settings.SEGOPS_REFRESH_REUSE_GRACE_SECONDS)
            if timezone.now() - spent.used_at > grace:
                token_family_revoke(family=family, reason="reuse_detected")
                reuse = True
            else:
                reuse = False
        else:
            reuse = False
    if reuse:
        raise AuthenticationFailed("Refresh token was already used; this session has been revoked.")
    return _mint(family.user, family)


def token_family_revoke(*, family: TokenFamily, reason: str) -> None:
    TokenFamily.objects.filter(pk=family.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    families_revoked()


def token_logout(*, raw_refresh: str) -> None:
    """End the refresh token's session: its family, and with it the family's access tokens.

    Like OAuth revocation (RFC 7009 §2.2), a token that is already revoked, expired or not ours
    is not an error: the caller wants it dead and it is. (An expired refresh token's access
    tokens expired before it did.) Nothing is revealed either way.
    """
    try:
        family = uuid.UUID(str(_decode_refresh(raw_refresh).get(FAMILY_CLAIM)))
    except (AuthenticationFailed, ValueError):
        return
    if TokenFamily.objects.filter(pk=family, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="logout"
    ):
        families_revoked()


def tokens_revoke_all(*, user: User, reason: str) -> None:
    """Every token the person holds stops working: access tokens by generation, refresh by family."""
    User.objects.filter(pk=user.pk).update(token_generation=user.token_generation + 1)
    user.token_generation += 1
    TokenFamily.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    families_revoked()
