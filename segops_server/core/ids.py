"""User ids: the one rule for every place an id comes in (events, sessions, delivery, explorer).

An id is the exact string the client sent: no trimming, no case folding, no normalisation.
Ingestion has always stored ids that way, so `" a-user "` and `"a-user"` are two users; any
place that trimmed (DRF's CharField does by default) would answer for a user the caller did not
name. Only what can never be stored is refused: a blank id, one too long for the column, or one
holding NUL (PostgreSQL cannot store or even compare it).

Anonymous visitors live in their own id space: the anonymous id `x` is the user `anon_x` (as on
the hosted service). No client can name an `anon_` id as a user_id, so an anonymous session or
event can never take a known user's id, signed or not (docs/security.md, "Id spaces").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

MAX_ID_LENGTH = 255
ANONYMOUS_PREFIX = "anon_"
MAX_ANONYMOUS_ID_LENGTH = MAX_ID_LENGTH - len(ANONYMOUS_PREFIX)  # so that anon_<id> still fits


class InvalidId(ValueError):
    """Not an id any user can have; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def user_id_parse(value: Any, *, max_length: int = MAX_ID_LENGTH) -> str:
    """`value` itself if it can be an id, else InvalidId. Never changes the string."""
    if not isinstance(value, str):
        raise InvalidId("Must be a string.")
    if not value.strip():
        raise InvalidId("Must not be empty.")
    if len(value) > max_length:
        raise InvalidId(f"At most {max_length} characters.")
    if "\x00" in value:
        raise InvalidId("Must not contain NUL characters.")
    return value


def named_user_id_parse(value: Any) -> str:
    """A user_id a client names (in an event or a session): never one in the anonymous space."""
    user_id = user_id_parse(value)
    if user_id.startswith(ANONYMOUS_PREFIX):
        raise InvalidId(
            f"Ids starting with {ANONYMOUS_PREFIX} belong to anonymous visitors: "
            "send the visitor's id as anonymous_id, without user_id."
        )
    return user_id


def anonymous_id_parse(value: Any) -> str:
    """An anonymous id as sent: any string an id may be, up to 250 characters."""
    return user_id_parse(value, max_length=MAX_ANONYMOUS_ID_LENGTH)


def anonymous_uid(anonymous_id: str) -> str:
    """The user id an anonymous id's events, traits and alias are kept under."""
    return ANONYMOUS_PREFIX + anonymous_id


class UserIdField(serializers.CharField):
    """An id in a request body or query string, checked by `parse` (one of the above), never trimmed."""

    def __init__(self, *, parse: Callable[[Any], str] = user_id_parse, **kwargs: Any) -> None:
        self.parse = parse
        kwargs.setdefault("max_length", MAX_ID_LENGTH)
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return self.parse(data)
        except InvalidId as exc:
            raise serializers.ValidationError(exc.message) from None
