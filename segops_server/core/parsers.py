"""A JSON parser built on msgspec, for endpoints where decoding speed matters."""

from __future__ import annotations

from typing import IO, Any

import msgspec
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class JSONBodyError(ValueError):
    """The bytes are not one JSON document."""


def json_decode(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data)
    # Invalid UTF-8 inside a string raises UnicodeDecodeError and deep nesting RecursionError,
    # not DecodeError: both are bad input (400), never a 500.
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise JSONBodyError(str(exc)) from None


class FastJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return json_decode(stream.read())
        except JSONBodyError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
