"""Single-use form tokens, so a resubmitted form (reload, Back) cannot issue a second key."""

from __future__ import annotations

import secrets

from django.http import HttpRequest

SESSION_KEY = "console_form_tokens"
MAX_OPEN = 20  # forms opened and not yet sent; the oldest are forgotten first


def form_token_issue(request: HttpRequest) -> str:
    """A new token for a form about to be shown; only random tokens live in the session, never a key."""
    token = secrets.token_urlsafe(16)
    tokens = [*request.session.get(SESSION_KEY, []), token][-MAX_OPEN:]
    request.session[SESSION_KEY] = tokens
    return token


def form_token_spend(request: HttpRequest, token: str | None) -> bool:
    """True once per issued token; False for a token already spent or never issued."""
    tokens = list(request.session.get(SESSION_KEY, []))
    if not token or token not in tokens:
        return False
    tokens.remove(token)
    request.session[SESSION_KEY] = tokens
    return True
