"""User ids: the one rule for every place an id comes in (events, sessions, delivery, explorer).

An id is the exact string the client sent: no trimming, no case folding, no normalisation.
Ingestion has always stored ids that way, so `" a-user "` and `"a-user"` are two users; any
place that trimmed (DRF's CharField does by default) would answer for a user the caller did not
name. Only what can never be stored is refused: a blank id, one too long for the column, or one
holding NUL (PostgreSQL cannot store or even compare it).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_ID_LENGTH = 255


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


class UserIdField(serializers.CharField):
    """A user id in a request body or query string, parsed by user_id_parse (never trimmed)."""

    def __init__(self, *, max_length: int = MAX_ID_LENGTH, **kwargs: Any) -> None:
        self.id_max_length = max_length
        super().__init__(max_length=max_length, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return user_id_parse(data, max_length=self.id_max_length)
        except InvalidId as exc:
            raise serializers.ValidationError(exc.message) from None
