"""JSON request bodies: one depth limit for every parser, and msgspec where decoding speed matters."""

from __future__ import annotations

import io
from typing import IO, Any

import msgspec
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

# Deeper than any document of ours (a definition nests 5 groups; payloads 400 deep are accepted), and
# well under Python's recursion limit, so nothing after decoding (validation, json.dumps into the
# database, rendering) can hit a RecursionError on user input, whatever the stack depth then.
MAX_JSON_DEPTH = 512


class JSONBodyError(ValueError):
    """The bytes are not one JSON document (or one nested deeper than MAX_JSON_DEPTH)."""


def json_depth_check(value: Any, data: bytes | str) -> None:
    """JSONBodyError if `value` (decoded from `data`) nests containers deeper than MAX_JSON_DEPTH."""
    raw = data.encode() if isinstance(data, str) else data
    # Cheap first (counted in C): a document with fewer brackets than the limit cannot be that deep.
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    raise JSONBodyError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
                stack.append((child, depth + 1))


def json_decode(data: bytes) -> Any:
    try:
        value = msgspec.json.decode(data)
    # Invalid UTF-8 inside a string raises UnicodeDecodeError and deep nesting RecursionError,
    # not DecodeError: both are bad input (400), never a 500.
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise JSONBodyError(str(exc)) from None
    if isinstance(value, dict | list):
        json_depth_check(value, data)
    return value


class FastJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return json_decode(stream.read())
        except JSONBodyError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser (the API's default), refusing deep nesting with a 400 like other bad JSON."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        data = stream.read() if stream is not None else b""
        try:
            value = super().parse(io.BytesIO(data), media_type, parser_context)
            if isinstance(value, dict | list):
                json_depth_check(value, data)
        except JSONBodyError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError(f"JSON parse error - JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        return value
