"""Opaque cursors for large collections: ?limit=&cursor= -> {"results", "next_cursor"}."""

from __future__ import annotations

import base64
import json
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from segops_server.core.errors import Invalid

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


class CursorQuerySerializer(serializers.Serializer[None]):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    cursor = serializers.CharField(required=False, max_length=500)


def cursor_encode(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def cursor_decode(cursor: str | None, length: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):
        raise Invalid({"cursor": ["Invalid cursor."]}) from None
    if not isinstance(position, list) or len(position) != length:
        raise Invalid({"cursor": ["Invalid cursor."]})
    return position


def cursor_page(serializer: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    """The {"results", "next_cursor"} envelope around `serializer`, for @extend_schema(responses=...)."""
    name = serializer.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"{name}CursorPage",
        fields={
            "results": serializer(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )
