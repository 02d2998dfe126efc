"""JSON request bodies: one depth limit for every parser, and msgspec where decoding speed matters."""

from __future__ import annotations

import codecs
import io
from typing import IO, Any

import msgspec
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

# Deeper than any document of ours (a definition nests 5 groups; payloads 400 deep are accepted), and
# well under Python's recursion limit, so nothing after decoding (validation, json.dumps into the
# database, rendering) can hit a RecursionError on user input, whatever the stack depth then.
MAX_JSON_DEPTH = 512


class JSONBodyError(ValueError):
    """The bytes are not one JSON document (or one nested deeper than MAX_JSON_DEPTH)."""


# Every byte but the quote and the brackets: what `_shallow` drops to see a document's structure.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
# Passes `_shallow` makes before it leaves the answer to the walk. Each removes at least one
# level and at most two, so a document it clears is at most 2 * 16 deep, well within the limit.
_SHALLOW_PASSES = 16


def _shallow(raw: bytes) -> bool:
    """True when the valid UTF-8 JSON document `raw` is shown, from its bytes alone, to nest at
    most 2 * _SHALLOW_PASSES deep; False means not shown (the walk then decides).

    In valid JSON a backslash only starts an escape inside a string, and in UTF-8 the bytes of `"`
    and of the brackets stand for nothing else. With escaped backslashes and quotes removed, the
    quotes left open and close strings in turn: adjacent ones are an empty string or two strings
    with nothing between them, and dropping them changes no bracket outside a string; the rest of
    what strings hold is cut out by splitting on quotes. What remains is the nesting itself,
    `{[{}{}]}`, whose innermost pairs each pass removes. A few C-speed passes over the bytes,
    rather than a Python walk over every value (for a batch of 500 events, a fifth of the cost).
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    for _ in range(_SHALLOW_PASSES):
        if not structure:
            return True
        structure = structure.replace(b"{}", b"").replace(b"[]", b"")
    return not structure


def json_depth_check(value: Any, data: bytes | str) -> None:
    """JSONBodyError if `value` (decoded from `data`: text, or UTF-8 bytes) nests containers
    deeper than MAX_JSON_DEPTH."""
    raw = data.encode() if isinstance(data, str) else data
    # Cheap first (counted in C): a document with fewer brackets than the limit cannot be that
    # deep; then its structure read from the bytes (in C too); the walk only for what is left.
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH or _shallow(raw):
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
                # The check reads UTF-8 bytes: a body in another charset, as the text DRF decoded.
                encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
                utf8 = codecs.lookup(encoding).name == "utf-8"
                json_depth_check(value, data if utf8 else data.decode(encoding))
        except JSONBodyError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError(f"JSON parse error - JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        return value
