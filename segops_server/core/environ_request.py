"""The short way's request for a plain GET: the WSGI environ read as it is, no Django request built.

Building Django's WSGIRequest (the path, META, the query string's QueryDict) costs about as much
as everything else the delivery API does for a snapshot answer. For a GET whose query string
needs no decoding (ASCII letters, digits and a few punctuation marks, `name=value` pairs joined
by `&`: what Django's QueryDict would read the same way without unquoting anything) the short
way reads the environ through `EnvironRequest`, which offers the few attributes the short way's
checks, the credential adapter and the handlers read (`META`, `method`, `path_info`, `GET`).

Anything rarer asks Django's own request, built on demand from the same environ (`django()`):
judging a Host not seen before, HTTPS behind a proxy header, the headers of an answer not
finished before, an error answer. So Django decides everything it decides on the full path;
this module only avoids building its request when nothing in it would be read.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest

# Characters a query string may hold for QueryDict to read it literally: no `%` or `+` (unquoted
# by Django), no `;`, nothing outside ASCII (decoded by Django), no empty or `=`-less pair.
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.~!$'()*,:@/-]+=[A-Za-z0-9_.~!$'()*,:@/=-]*")
_MAX_PAIRS = 8  # more is left to Django (and its DATA_UPLOAD_MAX_NUMBER_FIELDS)


# The media ranges DRF's negotiation matches to JSONRenderer ("application/json"), and the shape
# of any range: a type and subtype in lower case, without parameters (a parameter such as
# `indent=4` changes the rendered bytes; `q` is ignored by DRF, but declined all the same).
_JSON_RANGES = frozenset({"application/json", "application/*", "*/*"})
_MEDIA_RANGE = re.compile(r"[a-z0-9*][a-z0-9!#$&^_.+*-]*/[a-z0-9*][a-z0-9!#$&^_.+*-]*")


def accepts_plain_json(accept: str | None) -> bool:
    """True when DRF would answer this Accept with JSONRenderer and no media type parameter:
    absent (DRF reads it as */*), or ranges without parameters of which one matches JSON. DRF
    tries ranges by specificity, not by order or q, and any range it can match is JSON's."""
    if accept is None:
        return True
    ranges = [part.strip() for part in accept.split(",")]
    if not all(_MEDIA_RANGE.fullmatch(r) for r in ranges):
        return False
    return any(r in _JSON_RANGES for r in ranges)


class Params:
    """The parsed query string, with QueryDict's `lists()` (names in first-seen order)."""

    __slots__ = ("_lists",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        lists: dict[str, list[str]] = {}
        for name, value in pairs:
            lists.setdefault(name, []).append(value)
        self._lists = lists

    def lists(self) -> list[tuple[str, list[str]]]:
        return list(self._lists.items())


def plain_query(query: str) -> Params | None:
    """The query string's pairs when QueryDict would read them literally; else None."""
    if not query:
        return Params([])
    pieces = query.split("&")
    if len(pieces) > _MAX_PAIRS or not all(_PLAIN_QUERY.fullmatch(p) for p in pieces):
        return None
    return Params([tuple(p.split("=", 1)) for p in pieces])  # type: ignore[misc]


class EnvironRequest:
    """A plain GET read from the environ; `django()` is Django's request for the same environ."""

    __slots__ = ("GET", "META", "_django", "method", "path_info")

    def __init__(self, environ: dict[str, Any], params: Params) -> None:
        self.META = environ
        self.method = environ["REQUEST_METHOD"]
        self.path_info = environ["PATH_INFO"]
        self.GET = params
        self._django: WSGIRequest | None = None

    @classmethod
    def of(cls, environ: dict[str, Any]) -> EnvironRequest | None:
        """The request when it is a GET without a body whose query string reads plainly; else None
        (Django's request is built instead)."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return None
        params = plain_query(environ.get("QUERY_STRING", ""))
        return None if params is None else cls(environ, params)

    def django(self) -> WSGIRequest:
        if self._django is None:
            self._django = WSGIRequest(self.META)
        return self._django

    def is_secure(self) -> bool:
        if settings.SECURE_PROXY_SSL_HEADER:
            return self.django().is_secure()
        return self.META.get("wsgi.url_scheme") == "https"  # Django's scheme without the header

    def get_host(self) -> str:
        return self.django().get_host()


ShortRequest = HttpRequest | EnvironRequest  # what the short way's checks and handlers read


def django_request(request: ShortRequest) -> HttpRequest:
    """Django's request for `request` (itself, or built from the environ)."""
    return request.django() if isinstance(request, EnvironRequest) else request
